/* Device context: the root-table and context-table reads of a context-cache
 * miss, and every check VT-d makes on them (spec rev. 3.x, 3.4.2; 9.1 root
 * entry, 9.3 context entry; fault reasons 7.1). Each failing check returns
 * its own fault reason. */
#include "ctx_cache.h"

unsigned ims_context_fetch(struct ims_iommu *mmu, uint16_t rid, uint32_t cset, struct ims_ctx_entry *ce, bool *fpd,
                           struct ims_xlate *out)
{
    const struct ims_caps *caps = &mmu->cfg.caps;
    const uint64_t above_haw = ~((UINT64_C(1) << caps->haw) - 1); /* bits 63:HAW */
    bool error = false;

    /* Root table: translation disabled (RTADDR 0) or beyond HAW. */
    if (mmu->rtaddr == 0 || (mmu->rtaddr & above_haw))
        return IMS_FR_ROOT_TABLE_INV;
    /* Root entry (9.1): one 16-byte access, read as two words. In legacy
     * mode the high word (UCTP in scalable mode) is all reserved. A read
     * answered with an error is fault 0x8 (7.1). */
    const uint64_t rpa = mmu->rtaddr + ims_root_offset(rid >> 8);
    struct ims_root_entry re;
    re.lo = ims_read_entry(mmu, out, rpa, IMS_MEM_ROOT, 0, false, &error);
    re.hi = ims_read_entry(mmu, out, rpa + 8, IMS_MEM_ROOT, 0, true, &error);
    if (__builtin_expect(error, 0))
        return IMS_FR_ROOT_TABLE_INV;
    if (!ims_root_present(&re))
        return IMS_FR_ROOT_ENTRY_P;
    /* Reserved: lo 11:1, CTP bits above HAW, and all of hi (QEMU
     * VTD_ROOT_ENTRY_RSVD; vtd_root_entry_rsvd_bits_check tests hi too). */
    if ((re.lo & (IMS_ROOT_LO_RSVD | above_haw)) || (re.hi & IMS_ROOT_HI_RSVD))
        return IMS_FR_ROOT_ENTRY_RSVD;

    /* The context entry: one 16-byte access, read as two words; a read
     * answered with an error is fault 0x9 (FPD is not known then). */
    const uint64_t cpa = ims_root_ctp(&re) + ims_ctx_offset(rid & 0xffu);
    ce->lo = ims_read_entry(mmu, out, cpa, IMS_MEM_CONTEXT, 0, false, &error);
    ce->hi = ims_read_entry(mmu, out, cpa + 8, IMS_MEM_CONTEXT, 0, true, &error);
    if (__builtin_expect(error, 0))
        return IMS_FR_CTX_TABLE_INV;
    *fpd = ims_ctx_fpd(ce);
    if (!ims_ctx_present(ce)) {
        /* Caching mode (6.1): a not-present entry may be cached, tagged with
         * the reserved domain id 0; software invalidates on not-present to
         * present transitions. */
        if (caps->cm)
            ims_ctxc_fill(mmu, rid, cset, ce);
        return IMS_FR_CTX_ENTRY_P;
    }
    /* Reserved: lo 11:4 and SLPTPTR above HAW; hi 7 and 63:24 (QEMU
     * VTD_CONTEXT_ENTRY_RSVD_LO/HI). */
    if ((ce->lo & (IMS_CTX_LO_RSVD | above_haw)) || (ce->hi & IMS_CTX_HI_RSVD))
        return IMS_FR_CTX_ENTRY_RSVD;
    unsigned tt = ims_ctx_tt(ce);
    if (tt == IMS_TT_RESERVED || (tt == IMS_TT_DEVTLB && !caps->dt) || (tt == IMS_TT_PASSTHROUGH && !caps->pt))
        return IMS_FR_CTX_ENTRY_INV;
    /* AW must name an AGAW that SAGAW reports, pass-through included (9.3:
     * with TT = 2 it gives the width of the identity-mapped space; QEMU's
     * vtd_is_level_supported check does not exempt pass-through either). */
    unsigned aw = ims_ctx_aw(ce);
    if (aw < IMS_AW_39 || aw > IMS_AW_57 || !(caps->sagaw & (1u << aw)))
        return IMS_FR_CTX_ENTRY_INV;
    ims_ctxc_fill(mmu, rid, cset, ce);
    return 0;
}
