/* Fault recording: a circular queue of 16-byte VT-d fault records in memory
 * (the model's stand-in for the fault recording registers, VT-d 7.3 / 11.4.14:
 * same record layout, more entries). The IOMMU writes records through its
 * memory ops; software drains them directly. */
#include "iommu_impl.h"

static void fault_report(struct ims_iommu *mmu, const struct ims_req *req, unsigned reason, bool fpd,
                         struct ims_xlate *out);

/* Off the hot path: a translation faults rarely. */
__attribute__((noinline, cold)) int ims_fault_out(struct ims_iommu *mmu, const struct ims_req *req,
                                                  struct ims_xlate *out, unsigned reason, bool fpd)
{
    out->fault = (uint8_t)reason;
    out->pa = 0;
    out->len = 0;
    out->page_shift = 0;
    out->perm = 0;
    mmu->st.faults++;
    mmu->st.fault_reason[reason & 0xffu]++;
    mmu->st.reads_per_xlate[out->n_reads]++;
    fault_report(mmu, req, reason, fpd, out);
    return (int)reason;
}

/* Records (or drops, or suppresses) a fault; sets out->flags. */
static void fault_report(struct ims_iommu *mmu, const struct ims_req *req, unsigned reason, bool fpd,
                      struct ims_xlate *out)
{
    /* FPD (9.3) suppresses qualified faults only. */
    if (fpd && ims_fault_reason_qualified(reason)) {
        mmu->st.fault_suppressed++;
        out->flags |= IMS_XLATE_FAULT_SUPPRESSED;
        return;
    }
    struct ims_fq_state *fq = &mmu->fq;
    if ((fq->tail + 1) % fq->records == fq->head) {
        fq->overflow = true; /* like FSTS.PFO */
        fq->dropped++;
        mmu->st.fault_dropped++;
        out->flags |= IMS_XLATE_FAULT_DROPPED;
        return;
    }
    struct ims_fault_record rec = {
        .addr = req->iova & ~(IMS_PAGE_SIZE - 1),
        .sid = req->rid,
        .reason = (uint8_t)reason,
        .is_read = req->access != IMS_PERM_W,
        .at = req->at,
        .pasid_present = mmu->sm && req->pasid != IMS_NO_PASID, /* scalable mode: PP, PV (7.3) */
        .pasid = mmu->sm && req->pasid != IMS_NO_PASID ? req->pasid : 0,
    };
    uint64_t w[2];
    ims_fault_record_encode(&rec, w);
    uint64_t pa = fq->base + (uint64_t)fq->tail * 16u;
    /* Low word first: the F bit (in the high word) makes the record valid. */
    mmu->write64(mmu->mem_ctx, pa, w[0], IMS_MEM_FAULT);
    mmu->write64(mmu->mem_ctx, pa + 8, w[1], IMS_MEM_FAULT);
    fq->tail = (fq->tail + 1) % fq->records;
    mmu->st.fault_records++;
    out->flags |= IMS_XLATE_FAULT_RECORDED;
}

void ims_fq_get(const struct ims_iommu *mmu, struct ims_fq_state *st) { *st = mmu->fq; }

size_t ims_fq_drain(struct ims_iommu *mmu, struct ims_mem *mem, struct ims_fault_record *out, size_t max)
{
    struct ims_fq_state *fq = &mmu->fq;
    size_t n = 0;
    while (n < max && fq->head != fq->tail) {
        uint64_t pa = fq->base + (uint64_t)fq->head * 16u;
        uint64_t w[2] = {ims_mem_read64(mem, pa), ims_mem_read64(mem, pa + 8)};
        if (!ims_fault_record_decode(w, &out[n]))
            break; /* F clear: nothing valid here (memory changed under us) */
        ims_mem_write64(mem, pa + 8, w[1] & ~(UINT64_C(1) << 63)); /* clear F */
        fq->head = (fq->head + 1) % fq->records;
        n++;
    }
    return n;
}

void ims_fq_clear_overflow(struct ims_iommu *mmu) { mmu->fq.overflow = false; }

/* An ATS translation request that found no translation: a successful
 * translation completion with R = W = 0 (VT-d 4.2.3), not a fault. */
__attribute__((noinline, cold)) int ims_ats_no_access(struct ims_iommu *mmu, const struct ims_req *req,
                                                      struct ims_xlate *out)
{
    const uint64_t left = IMS_PAGE_SIZE - (req->iova & (IMS_PAGE_SIZE - 1));
    out->fault = 0;
    out->pa = 0;
    out->len = req->size < left ? req->size : (uint32_t)left;
    out->page_shift = IMS_PAGE_SHIFT;
    out->perm = 0;
    mmu->st.ats_no_access++;
    mmu->st.reads_per_xlate[out->n_reads]++;
    return 0;
}
