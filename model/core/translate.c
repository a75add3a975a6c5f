/* ims_translate: one request through the IOMMU's blocks in the order VT-d
 * legacy mode meets them (spec rev. 3.x, 3.4 "Legacy mode address
 * translation"): context cache or context fetch, translation type, address
 * width, IOTLB, then the walk. The blocks live in their own files
 * (iommu_impl.h lists them). */
#include "ctx_cache.h"
#include "iotlb.h"
#include "riommu.h"
#include "sm_impl.h"

/* Steps 3 to 5 for an ATS translation request (TT = 1), off the hot path.
 * It asks for whatever access the mapping grants, so it is checked and
 * walked as a read-write request, and its completion carries the granted
 * R/W. One that finds no translation (beyond the address width, not
 * present, neither permission) completes successfully with R = W = 0 and
 * records no fault (4.2.3); every other fault is reported (the device sees
 * UR or CA). */
static __attribute__((noinline, cold)) int ats_translate(struct ims_iommu *mmu, const struct ims_req *req,
                                                         struct ims_xlate *out, const struct ims_ctx_entry *ce,
                                                         uint16_t did)
{
    struct ims_req rw = *req;
    rw.access = IMS_PERM_RW;
    const unsigned aw = ims_ctx_aw(ce);
    const unsigned width = ims_aw_bits(aw) < mmu->mgaw ? ims_aw_bits(aw) : mmu->mgaw;
    unsigned reason, shift;
    if ((req->iova >> width) != 0) {
        reason = IMS_FR_ADDR_BEYOND_MGAW;
    } else {
        const struct ims_cache_entry *e = ims_iotlb_lookup(mmu, req->iova, did, &shift);
        if (mmu->iotlb->cls)
            ims_iotlb_cls_ref(mmu, req->rid, did, e);
        if (e) {
            out->flags |= IMS_XLATE_IOTLB_HIT;
            ims_xlate_finish(mmu, req, out, e->data, shift, e->aux); /* entries hold R or W or both */
            return 0;
        }
        reason = ims_sl_walk(mmu, &rw, out, ce, did, ims_aw_levels(aw));
        if (reason == 0)
            return 0;
        if (mmu->cls_pending) /* the walk filled nothing: the 4 KiB page's key */
            ims_iotlb_cls_miss(mmu, req->iova >> IMS_PAGE_SHIFT, did, IMS_PAGE_SHIFT);
    }
    if (reason == IMS_FR_ADDR_BEYOND_MGAW || reason == IMS_FR_WRITE || reason == IMS_FR_READ)
        return ims_ats_no_access(mmu, req, out);
    return ims_fault_out(mmu, req, out, reason, ims_ctx_fpd(ce));
}

int ims_translate(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out)
{
    const uint16_t rid = req->rid;
    const uint64_t iova = req->iova;
    unsigned reason;
    struct ims_ctx_entry ce; /* the context entry: FPD for every fault after step 1 */

    if (__builtin_expect(mmu->sm, 0)) /* scalable mode: its own order of blocks (sm.c) */
        return ims_sm_translate(mmu, req, out);

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

    /* 2. Translation type vs request type (9.3 TT; 4.2.3, 4.2.4 for ATS). */
    unsigned tt = ims_ctx_tt(&ce);
    if (__builtin_expect(req->at != IMS_AT_UNTRANSLATED || tt == IMS_TT_PASSTHROUGH, 0)) {
        if (req->at != IMS_AT_UNTRANSLATED) {
            /* Only TT = 1 admits translation and translated requests; AT 3
             * (reserved in PCIe) is blocked the same way. */
            if (tt != IMS_TT_DEVTLB || req->at > IMS_AT_TRANSLATED) {
                reason = IMS_FR_CTX_ENTRY_TT;
                goto fault;
            }
            if (req->at == IMS_AT_TRANSLATION)
                return ats_translate(mmu, req, out, &ce, did);
            /* Already translated by the device TLB: the address is a host
             * physical address, so neither MGAW nor the AGAW applies. */
            out->flags |= IMS_XLATE_PASSTHRU;
            ims_xlate_finish(mmu, req, out, iova & ~(IMS_PAGE_SIZE - 1), IMS_PAGE_SHIFT, IMS_PERM_RW);
            return 0;
        }
        /* Pass-through (9.3 AW): untranslated requests above 2^AGAW - 1,
         * the AGAW from the entry's AW, are blocked as translation faults. */
        if (iova >> ims_aw_bits(ims_ctx_aw(&ce))) {
            reason = IMS_FR_ADDR_BEYOND_MGAW;
            goto fault;
        }
        out->flags |= IMS_XLATE_PASSTHRU;
        ims_xlate_finish(mmu, req, out, iova & ~(IMS_PAGE_SIZE - 1), IMS_PAGE_SHIFT, IMS_PERM_RW);
        return 0;
    }

    /* 3. Input address width: min(MGAW, AGAW of the context entry). */
    const unsigned aw = ims_ctx_aw(&ce);
    const unsigned width = ims_aw_bits(aw) < mmu->mgaw ? ims_aw_bits(aw) : mmu->mgaw;
    if (__builtin_expect((iova >> width) != 0, 0)) {
        reason = IMS_FR_ADDR_BEYOND_MGAW;
        goto fault;
    }

    /* 4a. rIOMMU rings (cfg.riommu; riommu.c): a ring slot's IOVA is
     * translated by its ring's rIOTLB entry and flat table, never by the
     * IOTLB or the radix tables. */
    if (__builtin_expect(mmu->rio != NULL, 0)) {
        const int r = ims_riommu_translate(mmu, req, out, did);
        if (r == 0)
            return 0;
        if (r > 0) {
            reason = (unsigned)r;
            goto fault;
        }
    }

    /* 4. IOTLB. */
    unsigned shift;
    const struct ims_cache_entry *e = ims_iotlb_lookup(mmu, iova, did, &shift);
    if (__builtin_expect(mmu->iotlb->cls != NULL, 0))
        ims_iotlb_cls_ref(mmu, rid, did, e);
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
    if (__builtin_expect(mmu->cls_pending, 0)) /* the walk filled nothing: the 4 KiB page's key */
        ims_iotlb_cls_miss(mmu, iova >> IMS_PAGE_SHIFT, did, IMS_PAGE_SHIFT);
fault:
    return ims_fault_out(mmu, req, out, reason, ims_ctx_fpd(&ce));
}
