/* Internal: the IOMMU instance and what its blocks share. One file per
 * block (docs/architecture.md, "where things live"):
 *   context.c    root and context tables: fetch and check a device's context
 *   ctx_cache.h  context cache (tag: requester id + PASID)
 *   iotlb.h/.c   IOTLB (tag: domain, page number, page size)
 *   psc.h/.c     paging-structure caches (one per level)
 *   walk.c       second-level page walker
 *   sm.c         scalable mode: root, context, PASID directory and table,
 *                PASID cache, its translate and invalidations (sm_impl.h)
 *   flwalk.c     scalable mode: first-level, second-level and nested walks
 *   fault.c      fault recording
 *   inv.c        invalidation commands and their scopes
 *   riommu.h/.c  rIOMMU rings (option): flat tables per ring, rIOTLB
 *   translate.c  ims_translate: calls the blocks in the order hardware does
 *   iommu.c      instance setup, statistics
 * Hot paths are static inline in the block headers so that translate.c's
 * hit path is one function. Nothing outside model/core includes this file. */
#ifndef IMS_IOMMU_IMPL_H
#define IMS_IOMMU_IMPL_H

#include "cache_impl.h"
#include "iommusim/iommu.h"

/* Page sizes the IOTLB holds, in probe order: 4 KiB, 2 MiB, 1 GiB. */
#define IMS_IOTLB_NSIZES 3
static inline unsigned ims_iotlb_shift(unsigned i) { return IMS_PAGE_SHIFT + 9 * i; }

struct ims_iommu {
    struct ims_iommu_cfg cfg;
    uint64_t (*read64)(void *ctx, uint64_t pa, enum ims_mem_kind kind);
    void (*write64)(void *ctx, uint64_t pa, uint64_t val, enum ims_mem_kind kind);
    uint64_t (*read64_err)(void *ctx, uint64_t pa, enum ims_mem_kind kind, bool *error); /* NULL: reads never fail */
    void *mem_ctx;
    uint64_t rtaddr;
    uint64_t pte_rsvd; /* reserved in every paging entry (walk.c adds the rest): 51:HAW, SNP, TM without ECAP.DT */
    unsigned mgaw;
    struct ims_cache *ctx;
    /* The context-cache entry of the last legacy lookup that hit (ctx_cache.h),
     * or NULL: a lookup for the same requester id tries it first. */
    struct ims_cache_entry *ctx_last;
    uint32_t ctx_last_way;
    struct ims_cache *iotlb;
    struct ims_cache *psc[IMS_MAX_LEVELS + 1];
    uint32_t iotlb_size_count[IMS_IOTLB_NSIZES]; /* valid IOTLB entries per page size (iotlb.h) */
    /* cfg.miss_classes (iotlb.c): the row + 1 of each domain id and requester
     * id in st.by_did / st.by_rid (0: none yet), and the IOTLB miss being
     * classified: it is classified by the key the walk fills, or, when the
     * walk faults, by the 4 KiB page's key (ims_iotlb_cls_*). */
    uint16_t *did_row, *rid_row;
    bool cls_pending;
    struct ims_id_stats *cls_drow, *cls_rrow;
    struct ims_fq_state fq;
    struct ims_stats st;
    /* Scalable mode (sm.c, flwalk.c; sm_impl.h). */
    bool sm;                  /* scalable mode now: cfg.sm.enabled at creation, then ims_iommu_set_scalable() */
    struct ims_cache *pasidc; /* PASID cache: tag rid | PASID << 16, dom DID, data PASID-entry word 0 */
    uint64_t *pasidc_w2;      /* word 2 of each PASID-cache entry's PASID entry, by entry index */
    struct ims_prefetcher *pf;        /* IOTLB prefetching (prefetch.c; cfg.iotlb_prefetch): NULL with none */
    bool pf_buffering;                /* a prefetch walk is filling: ims_iotlb_fill goes to the prefetch buffer */
    struct ims_riommu *rio;           /* rIOMMU rings (riommu.h; cfg.riommu): NULL with none */
};

/* A range invalidation visits only the sets its tags hash to when there are
 * at most this many tags (iotlb.c, psc.c); beyond it a full scan is cheaper. */
#define IMS_INV_SET_LIMIT 64

/* Reads one 64-bit table word through the ops and logs it for the timing
 * layer. `cont`: the word belongs to the same entry (and memory access) as
 * the read before it. `checked` (a constant at each call) must be
 * mmu->read64_err != NULL: then a read the memory answers with an error sets
 * *error and returns 0; it is counted and logged like any other (it took its
 * time). *error is never cleared here. The walker instantiates its loop for
 * each value, so ops without read64_err pay nothing per read. The log is
 * bounded: a read past IMS_XLATE_MAX_READS is still made, but only flagged
 * (IMS_XLATE_READS_LOST), never written past the array. */
static inline __attribute__((always_inline)) uint64_t ims_read_entry_as(struct ims_iommu *mmu, struct ims_xlate *out,
                                                                        uint64_t pa, enum ims_mem_kind kind,
                                                                        unsigned level, bool cont, bool *error,
                                                                        const bool checked)
{
    uint64_t v;
    if (checked) {
        bool e = false;
        v = mmu->read64_err(mmu->mem_ctx, pa, kind, &e);
        if (__builtin_expect(e, 0)) {
            *error = true;
            v = 0;
        }
    } else {
        v = mmu->read64(mmu->mem_ctx, pa, kind);
    }
    if (kind == IMS_MEM_PTE)
        mmu->st.ptw_reads++;
    else
        mmu->st.ctx_reads++;
    if (__builtin_expect(out->n_reads >= IMS_XLATE_MAX_READS, 0)) {
        out->flags |= IMS_XLATE_READS_LOST;
        return v;
    }
    struct ims_mem_read_rec *r = &out->reads[out->n_reads++];
    r->pa = pa;
    r->val = v;
    r->kind = (uint8_t)kind;
    r->level = (uint8_t)level;
    r->cont = cont;
    r->stage = IMS_RS_CTX; /* scalable mode sets its own (sm_impl.h) */
    return v;
}

/* ims_read_entry_as for either kind of ops (off the walker's loop). */
static inline uint64_t ims_read_entry(struct ims_iommu *mmu, struct ims_xlate *out, uint64_t pa, enum ims_mem_kind kind,
                                      unsigned level, bool cont, bool *error)
{
    return mmu->read64_err ? ims_read_entry_as(mmu, out, pa, kind, level, cont, error, true)
                           : ims_read_entry_as(mmu, out, pa, kind, level, cont, error, false);
}

/* A successful translation: `base` is the output page of size 2^shift. */
static inline void ims_xlate_finish(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out,
                                    uint64_t base, unsigned shift, unsigned perm)
{
    uint64_t size = UINT64_C(1) << shift;
    uint64_t off = req->iova & (size - 1);
    uint64_t left = size - off;
    out->pa = base | off;
    out->len = req->size < left ? req->size : (uint32_t)left;
    out->page_shift = (uint8_t)shift;
    out->perm = (uint8_t)perm;
    mmu->st.reads_per_xlate[out->n_reads]++;
}

/* The permission fault for a denied access. */
static inline unsigned ims_perm_fault(unsigned access) { return access == IMS_PERM_W ? IMS_FR_WRITE : IMS_FR_READ; }

/* context.c: context-cache miss: fetches and checks the root and context
 * entries for `rid`, fills the context cache (set `cset`). Returns 0 with
 * the entry in *ce, or a fault reason; *fpd is set as soon as the context
 * entry is known. */
unsigned ims_context_fetch(struct ims_iommu *mmu, uint16_t rid, uint32_t cset, struct ims_ctx_entry *ce, bool *fpd,
                           struct ims_xlate *out);

/* walk.c: IOTLB miss: paging-structure caches, then the second-level walk
 * from the deepest hit to the leaf, filling the PSCs and the IOTLB and
 * finishing *out. Returns 0 or a fault reason (the caller reports it). */
unsigned ims_sl_walk(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out,
                     const struct ims_ctx_entry *ce, uint16_t did, unsigned levels);
/* The same walk without the prefetch hook: the prefetcher's own walks. */
unsigned ims_sl_walk_plain(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out,
                           const struct ims_ctx_entry *ce, uint16_t did, unsigned levels);
/* prefetch.c: after a demand walk (mmu->pf set), successful or not: the
 * policy learns from the miss and its candidates are walked (iotlb.h). */
void ims_pf_after_walk(struct ims_iommu *mmu, const struct ims_req *req, const struct ims_ctx_entry *ce,
                       uint16_t did, unsigned levels);
/* prefetch.c: creation (*out NULL with none; -1 with a message on error) and destruction. */
int ims_pf_create(const struct ims_iommu_cfg *cfg, struct ims_prefetcher **out, char *err, size_t errlen);
void ims_pf_destroy(struct ims_prefetcher *pf);

/* fault.c: a failed translation: clears the result, counts it, and records
 * (or drops, or suppresses) the fault. Returns the reason. */
int ims_fault_out(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out, unsigned reason, bool fpd);
/* fault.c: an ATS translation request that found no translation (beyond the
 * address width, not present, no permission): completes with R = W = 0
 * (out->fault 0, out->perm 0), records nothing. Returns 0. */
int ims_ats_no_access(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out);

#endif /* IMS_IOMMU_IMPL_H */
