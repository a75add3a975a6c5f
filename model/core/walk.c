/* The second-level page walker of VT-d legacy mode (spec rev. 3.x, 3.6
 * second-level translation; 9.8 second-level paging entries): the
 * paging-structure caches give the start level, then one read per level down
 * to the leaf, with the reserved-bit and permission checks of each entry.
 * Every failing check returns its own fault reason. */
#include "iotlb.h"
#include "psc.h"

/* The walk, instantiated twice below: `checked` is whether the memory ops
 * can answer a read with an error (read64_err). */
static inline __attribute__((always_inline)) unsigned sl_walk(struct ims_iommu *mmu, const struct ims_req *req,
                                                              struct ims_xlate *out, const struct ims_ctx_entry *ce,
                                                              uint16_t did, unsigned levels, const bool checked)
{
    const struct ims_caps *caps = &mmu->cfg.caps;
    const uint64_t iova = req->iova;
    const unsigned access = req->access;

    /* Paging-structure caches: the deepest hit skips the most levels. */
    mmu->st.walks++;
    out->flags |= IMS_XLATE_WALKED;
    uint64_t table = ims_ctx_slptptr(ce);
    unsigned perm = IMS_PERM_RW;
    unsigned hit = ims_psc_lookup(mmu, iova, did, levels, &table, &perm);
    unsigned level = hit ? hit - 1 : levels;
    out->psc_level = (uint8_t)hit;
    out->walk.table = table;
    out->walk.levels = (uint8_t)levels;
    out->walk.level = (uint8_t)level;
    out->walk.perm = (uint8_t)perm;
    out->walk.access = (uint8_t)access;

    if (!(perm & access))
        return ims_perm_fault(access);

    /* The walk, from `level` down to the leaf.
     * Reserved bits (9.8), compared bit by bit with QEMU's VTD_SPTE_PAGE_L*
     * and VTD_SPTE_LPAGE_L*_RSVD_MASK (which reserve ~(HAW mask | bits 63,
     * 61:52) plus 0x800, and 0x880 at level 4): address bits 51:HAW and bit
     * 11 (SNP: ECAP.SC is 0 here) at every level; bit 62 in every non-leaf
     * entry; bit 62 (TM, rev. 3.0/3.1) of a leaf only without ECAP.DT
     * (rev. 3.2 on, and current QEMU, reserve it always: docs/vtd.md); PS
     * (bit 7) at levels 4 and 5, and at 2/3 when SLLPS lacks that size; in a
     * 2 MiB / 1 GiB leaf, address bits 20:12 / 29:12. Bits 6:3 of non-leaf
     * entries are ignored, not reserved (neither the spec's non-leaf formats
     * nor QEMU reserve them); bits 63 and 61:52 are ignored. A read answered
     * with an error is fault 0x7 (7.1). */
    bool error = false;
    const uint64_t rsvd_base = mmu->pte_rsvd; /* 51:HAW, SNP, TM without ECAP.DT */
    for (;;) {
        uint64_t epa = table + ((iova >> ims_level_shift(level)) & 511u) * 8u;
        uint64_t e = ims_read_entry_as(mmu, out, epa, IMS_MEM_PTE, level, false, &error, checked);
        /* Not present (neither R nor W): reported as a permission fault for
         * the access (QEMU vtd_iova_to_slpte does the same). A read answered
         * with an error returns 0, so it lands here too. */
        if (__builtin_expect(!ims_slpte_present(e), 0))
            return error ? IMS_FR_PAGING_ENTRY_INV : ims_perm_fault(access);
        uint64_t rsvd = rsvd_base;
        bool leaf = level == 1;
        if (level >= 4) {
            rsvd |= IMS_SLPTE_PS | IMS_SLPTE_TM;
        } else if (level >= 2) {
            if (ims_slpte_ps(e)) {
                unsigned ok = level == 2 ? (caps->sllps & IMS_SLLPS_2M) : (caps->sllps & IMS_SLLPS_1G);
                if (!ok)
                    rsvd |= IMS_SLPTE_PS;
                rsvd |= ((UINT64_C(1) << ims_level_shift(level)) - 1) & ~(IMS_PAGE_SIZE - 1);
                leaf = true;
            } else {
                rsvd |= IMS_SLPTE_TM;
            }
        }
        if (__builtin_expect((e & rsvd) != 0, 0))
            return IMS_FR_PAGING_ENTRY_RSVD;
        perm &= ims_slpte_perm(e);
        uint64_t next = ims_slpte_addr(e);
        if (!leaf)
            ims_psc_fill(mmu, level, iova, did, next, perm);
        if (__builtin_expect(!(perm & access), 0))
            return ims_perm_fault(access);
        if (leaf) {
            unsigned shift = ims_level_shift(level);
            ims_iotlb_fill(mmu, iova, did, shift, next, perm);
            ims_xlate_finish(mmu, req, out, next, shift, perm);
            return 0;
        }
        table = next;
        level--;
    }
}

/* Kept out of line so that the hit path in ims_translate stays small. The
 * prefetcher (iotlb.prefetch) runs after the demand walk has filled the
 * IOTLB and finished *out, so its walks see the IOTLB as the demand left it. */
__attribute__((noinline)) unsigned ims_sl_walk(struct ims_iommu *mmu, const struct ims_req *req,
                                               struct ims_xlate *out, const struct ims_ctx_entry *ce, uint16_t did,
                                               unsigned levels)
{
    const unsigned r = mmu->read64_err ? sl_walk(mmu, req, out, ce, did, levels, true)
                                       : sl_walk(mmu, req, out, ce, did, levels, false);
    if (__builtin_expect(mmu->pf != NULL, 0))
        ims_pf_after_walk(mmu, req, ce, did, levels);
    return r;
}

__attribute__((noinline)) unsigned ims_sl_walk_plain(struct ims_iommu *mmu, const struct ims_req *req,
                                                     struct ims_xlate *out, const struct ims_ctx_entry *ce,
                                                     uint16_t did, unsigned levels)
{
    return mmu->read64_err ? sl_walk(mmu, req, out, ce, did, levels, true)
                           : sl_walk(mmu, req, out, ce, did, levels, false);
}
