/* IOTLB prefetching (iotlb.prefetch): after each demand walk the policy
 * (pf_<name>.h, listed in iommusim/prefetch.h) names candidate pages; each
 * one the IOTLB does not hold is walked like a demand miss (same context
 * entry, paging-structure caches and memory), and inserted only if the
 * tables map it with some permission. Not architectural: VT-d defines no
 * IOTLB prefetching (its caching rules, spec chapter 6, constrain what an
 * IOTLB entry may hold, a translation the tables hold, not when it is
 * filled), and invalidation
 * removes prefetched entries like any other. docs/config.md ("IOTLB
 * prefetch") describes the policies, docs/timing.md the timing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotlb.h"
#include "pf.h"
#include "riommu.h"

struct ims_prefetcher {
    unsigned policy, degree;
    struct ims_pf_log log;  /* the last demand walk's prefetches (ims_iommu_pf_log) */
    struct ims_xlate x;     /* scratch result of a prefetch walk */
    struct ims_pf_state st; /* the policy's */
};

#define IMS_PF_NAME_(U, f, n) [IMS_PF_##U] = n,
static const char *const pf_names[IMS_PF_COUNT] = {IMS_PF_LIST(IMS_PF_NAME_)};
#undef IMS_PF_NAME_

#define IMS_PF_KNOWN_(U, f, n) ", " n
static const char pf_known[] = IMS_PF_LIST(IMS_PF_KNOWN_);
#undef IMS_PF_KNOWN_

int ims_pf_from_name(const char *name)
{
    for (unsigned i = 0; i < IMS_PF_COUNT; i++)
        if (name && strcmp(name, pf_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *ims_pf_name(unsigned pf) { return pf < IMS_PF_COUNT ? pf_names[pf] : "unknown"; }
const char *ims_pf_known(void) { return pf_known + 2; }

int ims_pf_create(const struct ims_iommu_cfg *cfg, struct ims_prefetcher **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->iotlb_prefetch >= IMS_PF_COUNT) {
        snprintf(err, errlen, "iommu: iotlb_prefetch: %u is not a prefetch policy (known: %s)", cfg->iotlb_prefetch,
                 ims_pf_known());
        return -1;
    }
    if (cfg->iotlb_prefetch_degree > IMS_PF_MAX_DEGREE) {
        snprintf(err, errlen, "iommu: iotlb_prefetch_degree: %u is more than %u", cfg->iotlb_prefetch_degree,
                 IMS_PF_MAX_DEGREE);
        return -1;
    }
    if (cfg->iotlb_prefetch == IMS_PF_NONE)
        return 0;
    if (cfg->sm.enabled) {
        snprintf(err, errlen, "iommu: iotlb_prefetch: legacy mode only (sm.enabled is set)");
        return -1;
    }
    if (cfg->iotlb.sets == 0 || cfg->iotlb.ways == 0) /* nothing to prefetch into */
        return 0;
    struct ims_prefetcher *pf = calloc(1, sizeof *pf);
    if (!pf) {
        snprintf(err, errlen, "iommu: out of memory for the prefetcher");
        return -1;
    }
    pf->policy = cfg->iotlb_prefetch;
    pf->degree = cfg->iotlb_prefetch_degree ? cfg->iotlb_prefetch_degree : 1;
    *out = pf;
    return 0;
}

void ims_pf_destroy(struct ims_prefetcher *pf) { free(pf); }

/* With rIOMMU rings and no prefetcher, the rings' next-slot reads (riommu.h). */
const struct ims_pf_log *ims_iommu_pf_log(const struct ims_iommu *mmu)
{
    return mmu->pf ? &mmu->pf->log : mmu->rio ? &mmu->rio->log : NULL;
}

struct ims_pf_log *ims_pf_log_mut(struct ims_prefetcher *pf) { return &pf->log; }

/* The entry (did, tag, shift) without touching the replacement state. */
static struct ims_cache_entry *find(struct ims_cache *c, uint16_t did, uint64_t tag, unsigned shift)
{
    uint32_t way;
    return ims_cache_find_(c, ims_iotlb_set(c, tag, did), tag, did, (uint8_t)shift, &way);
}

/* Whether the IOTLB holds a translation of iova, of any size it holds. */
static bool held(struct ims_iommu *mmu, uint64_t iova, uint16_t did)
{
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++) {
        const unsigned s = ims_iotlb_shift(i);
        if (mmu->iotlb_size_count[i] && find(mmu->iotlb, did, iova >> s, s))
            return true;
    }
    return false;
}

void ims_pf_hit(struct ims_iommu *mmu, struct ims_cache_entry *e)
{
    e->spare = 0;
    mmu->st.pf.useful++;
}

void ims_pf_filled(struct ims_iommu *mmu, struct ims_cache_entry *e, const struct ims_cache_entry *victim)
{
    e->spare = 0;
    if (!victim->valid)
        return;
    mmu->st.pf.useless += victim->spare != 0;
    ims_pf_evict_(mmu->pf->policy, &mmu->pf->st, (uint16_t)victim->dom,
                  victim->tag << (victim->shift - IMS_PAGE_SHIFT));
}

void ims_pf_removing(struct ims_iommu *mmu, uint16_t did, uint64_t tag, unsigned shift)
{
    const struct ims_cache_entry *e = find(mmu->iotlb, did, tag, shift);
    if (e && e->spare)
        mmu->st.pf.useless++;
}

/* One prefetch walk of the 4 KiB page at iova: as the demand walk, but
 * granting whatever the mapping grants (walked as read-write, as an ATS
 * translation request is: it succeeds when the leaf grants R or W or both),
 * recording no fault, and counted apart: its reads in pf.reads, not in
 * walks, ptw_reads or reads_per_xlate. */
static void pf_walk(struct ims_iommu *mmu, const struct ims_req *demand, const struct ims_ctx_entry *ce, uint16_t did,
                    unsigned levels, uint64_t iova)
{
    struct ims_prefetcher *pf = mmu->pf;
    struct ims_xlate *x = &pf->x;
    struct ims_req r = *demand;
    r.iova = iova;
    r.size = 1;
    r.access = IMS_PERM_RW;
    r.at = IMS_AT_UNTRANSLATED;
    x->flags = 0;
    x->n_reads = 0;
    x->psc_level = 0;
    x->fault = 0;
    x->did = did;
    const uint64_t walks = mmu->st.walks, reads = mmu->st.ptw_reads;
    const unsigned reason = ims_sl_walk_plain(mmu, &r, x, ce, did, levels);
    mmu->st.walks = walks;
    mmu->st.pf.reads += mmu->st.ptw_reads - reads;
    mmu->st.ptw_reads = reads;
    mmu->st.pf.issued++;
    struct ims_pf_walk *w = &pf->log.w[pf->log.n++];
    w->iova = iova;
    w->did = did;
    w->filled = 0;
    w->shift = 0;
    w->n_reads = 0;
    for (unsigned i = 0; i < x->n_reads && w->n_reads < IMS_MAX_LEVELS; i++)
        if (x->reads[i].kind == IMS_MEM_PTE)
            w->pa[w->n_reads++] = x->reads[i].pa;
    if (reason != 0) {
        mmu->st.pf.unmapped++;
        return;
    }
    mmu->st.reads_per_xlate[x->n_reads]--; /* ims_xlate_finish counted it */
    mmu->st.pf.filled++;
    w->filled = 1;
    w->shift = x->page_shift;
    struct ims_cache_entry *e = find(mmu->iotlb, did, iova >> x->page_shift, x->page_shift);
    if (e)
        e->spare = 1;
}

void ims_pf_after_walk(struct ims_iommu *mmu, const struct ims_req *req, const struct ims_ctx_entry *ce,
                       uint16_t did, unsigned levels)
{
    struct ims_prefetcher *pf = mmu->pf;
    pf->log.n = 0;
    const struct ims_pf_miss m = {req->rid, did, req->iova >> IMS_PAGE_SHIFT};
    struct ims_pf_cand c;
    c.n = 0;
    c.max = pf->degree;
    ims_pf_miss_(pf->policy, &pf->st, &m, &c);
    const unsigned aw_bits = ims_aw_bits(ims_ctx_aw(ce));
    const unsigned width = aw_bits < mmu->mgaw ? aw_bits : mmu->mgaw;
    /* A demand walk that faulted leaves its miss to be classified by the
     * caller (translate.c): the prefetch fills must not take it. */
    const bool cls_pending = mmu->cls_pending;
    mmu->cls_pending = false;
    for (unsigned i = 0; i < c.n; i++) {
        const uint64_t page = c.page[i];
        if (page == m.page || page >= (UINT64_C(1) << (width - IMS_PAGE_SHIFT))) /* itself, or beyond the width */
            continue;
        const uint64_t iova = page << IMS_PAGE_SHIFT;
        mmu->st.pf.candidates++;
        if (held(mmu, iova, did)) {
            mmu->st.pf.cached++;
            continue;
        }
        pf_walk(mmu, req, ce, did, levels, iova);
    }
    mmu->cls_pending = cls_pending;
}
