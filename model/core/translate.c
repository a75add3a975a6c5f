/* ims_translate: one request through the IOMMU's blocks in the order VT-d
 * legacy mode meets them (spec rev. 3.x, 3.4 "Legacy mode address
 * translation"): context cache or context fetch, translation type, address
 * width, IOTLB, then the walk. The blocks live in their own files
 * (iommu_impl.h lists them). */
#include "ctx_cache.h"
#include "iotlb.h"

int ims_translate(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out)
{
    const uint16_t rid = req->rid;
    const uint64_t iova = req->iova;
    unsigned reason;
    struct ims_ctx_entry ce; /* the context entry: FPD for every fault after step 1 */

    /* flags, n_reads, psc_level, fault and did start at 0; pa, len,
     * page_shift and perm are set by ims_xlate_finish() or ims_fault_out(). */
    out->flags = 0;
    out->n_reads = 0;
    out->psc_level = 0;
    out->fault = 0;
    out->did = 0;
    mmu->st.translations++;

    /* 1. Context: cache (tag = requester id), else root and context tables. */
    const uint32_t cset = ims_ctxc_set(mmu->ctx, rid);
    const struct ims_cache_entry *cc = ims_ctxc_lookup(mmu, rid, cset);
    if (__builtin_expect(cc != NULL, 1)) {
        out->flags = IMS_XLATE_CTX_HIT;
        ce = ims_ctxc_entry(cc);
        if (__builtin_expect(!ims_ctx_present(&ce), 0)) { /* caching mode: cached not-present entry */
            reason = IMS_FR_CTX_ENTRY_P;
            goto fault;
        }
    } else {
        /* Its own outputs: ce, if its address were taken here, would live in
         * memory on the hit path too. */
        struct ims_ctx_entry fetched = {0, 0};
        bool fpd = false;
        reason = ims_context_fetch(mmu, rid, cset, &fetched, &fpd, out);
        if (reason)
            return ims_fault_out(mmu, req, out, reason, fpd);
        ce = fetched;
    }
    const uint16_t did = ims_ctx_did(&ce);
    out->did = did;

    /* 2. Translation type vs request type (9.3 TT; 4.2.3 for ATS). */
    unsigned tt = ims_ctx_tt(&ce);
    if (__builtin_expect(req->at != IMS_AT_UNTRANSLATED || tt == IMS_TT_PASSTHROUGH, 0)) {
        if (req->at != IMS_AT_UNTRANSLATED) {
            if (tt != IMS_TT_DEVTLB) {
                reason = IMS_FR_CTX_ENTRY_TT;
                goto fault;
            }
            if (req->at == IMS_AT_TRANSLATED) { /* already translated by the device TLB */
                out->flags |= IMS_XLATE_PASSTHRU;
                ims_xlate_finish(mmu, req, out, iova & ~(IMS_PAGE_SIZE - 1), IMS_PAGE_SHIFT, IMS_PERM_RW);
                return 0;
            }
        }
        if (tt == IMS_TT_PASSTHROUGH) {
            out->flags |= IMS_XLATE_PASSTHRU;
            ims_xlate_finish(mmu, req, out, iova & ~(IMS_PAGE_SIZE - 1), IMS_PAGE_SHIFT, IMS_PERM_RW);
            return 0;
        }
    }

    /* 3. Input address width: min(MGAW, AGAW of the context entry). */
    const unsigned aw = ims_ctx_aw(&ce);
    const unsigned width = ims_aw_bits(aw) < mmu->mgaw ? ims_aw_bits(aw) : mmu->mgaw;
    if (__builtin_expect((iova >> width) != 0, 0)) {
        reason = IMS_FR_ADDR_BEYOND_MGAW;
        goto fault;
    }

    /* 4. IOTLB. */
    unsigned shift;
    const struct ims_cache_entry *e = ims_iotlb_lookup(mmu, iova, did, &shift);
    if (__builtin_expect(e != NULL, 1)) {
        out->flags |= IMS_XLATE_IOTLB_HIT;
        if (__builtin_expect(!(e->aux & req->access), 0)) { /* cached permissions decide, as in hardware */
            reason = ims_perm_fault(req->access);
            goto fault;
        }
        ims_xlate_finish(mmu, req, out, e->data, shift, e->aux);
        return 0;
    }

    /* 5. Paging-structure caches and the walk. */
    reason = ims_sl_walk(mmu, req, out, &ce, did, ims_aw_levels(aw));
    if (__builtin_expect(reason == 0, 1))
        return 0;
fault:
    return ims_fault_out(mmu, req, out, reason, ims_ctx_fpd(&ce));
}
