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
    bool on_map; /* iotlb.prefetch_on_map */
    /* The prefetch buffer (iotlb.prefetch_buffer), NULL without: one set of
     * N ways, LRU, keyed as the IOTLB is (tag = IOVA >> shift, dom = domain
     * id, shift), data and aux as an IOTLB entry's; and its valid entries
     * per page size, so that a probe tries only the sizes it holds. */
    struct ims_cache *buf;
    uint32_t buf_count[IMS_IOTLB_NSIZES];
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
    if (cfg->iotlb_prefetch_buffer > IMS_PF_MAX_BUFFER) {
        snprintf(err, errlen, "iommu: iotlb_prefetch_buffer: %u entries is more than %u", cfg->iotlb_prefetch_buffer,
                 IMS_PF_MAX_BUFFER);
        return -1;
    }
    if (cfg->iotlb_prefetch == IMS_PF_NONE && !cfg->iotlb_prefetch_on_map) /* a buffer alone holds nothing */
        return 0;
    if (cfg->sm.enabled) {
        snprintf(err, errlen, "iommu: %s: legacy mode only (sm.enabled is set)",
                 cfg->iotlb_prefetch != IMS_PF_NONE ? "iotlb_prefetch" : "iotlb_prefetch_on_map");
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
    pf->on_map = cfg->iotlb_prefetch_on_map;
    if (cfg->iotlb_prefetch_buffer) {
        const struct ims_cache_cfg bc = {.sets = 1, .ways = cfg->iotlb_prefetch_buffer, .repl = IMS_REPL_LRU};
        pf->buf = ims_cache_create(&bc);
        if (!pf->buf) {
            free(pf);
            snprintf(err, errlen, "iommu: out of memory for the prefetch buffer");
            return -1;
        }
    }
    *out = pf;
    return 0;
}

void ims_pf_destroy(struct ims_prefetcher *pf)
{
    if (pf)
        ims_cache_destroy(pf->buf);
    free(pf);
}

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

/* The prefetch buffer's entry of iova, of any size it holds, or NULL; no
 * replacement update. */
static struct ims_cache_entry *buf_find(struct ims_prefetcher *pf, uint64_t iova, uint16_t did)
{
    if (!pf->buf)
        return NULL;
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++) {
        const unsigned s = ims_iotlb_shift(i);
        struct ims_cache_entry *e;
        if (pf->buf_count[i] && (e = find(pf->buf, did, iova >> s, s)))
            return e;
    }
    return NULL;
}

/* Whether the IOTLB or the prefetch buffer holds a translation of iova, of
 * any size it holds. */
static bool held(struct ims_iommu *mmu, uint64_t iova, uint16_t did)
{
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++) {
        const unsigned s = ims_iotlb_shift(i);
        if (mmu->iotlb_size_count[i] && find(mmu->iotlb, did, iova >> s, s))
            return true;
    }
    return buf_find(mmu->pf, iova, did) != NULL;
}

/* ---- The prefetch buffer (iotlb.prefetch_buffer) ----
 * Prefetch buffers after Jouppi (ISCA'90: a small fully associative buffer
 * beside the cache, probed with it, so that a prefetch displaces no demand
 * entry): a prefetch walk fills the buffer, never the IOTLB; a lookup that
 * misses the IOTLB and hits the buffer moves the entry into the IOTLB and is
 * served as a hit. Every entry in the buffer is an unused prefetch, so one
 * that leaves it otherwise (LRU eviction, invalidation) counts useless. The
 * policies' eviction stream (recency) stays the IOTLB's. */

struct ims_cache_entry *ims_pf_buf_take(struct ims_iommu *mmu, uint64_t iova, uint16_t did, unsigned *shift)
{
    struct ims_prefetcher *pf = mmu->pf;
    struct ims_cache_entry *b = buf_find(pf, iova, did);
    if (!b)
        return NULL;
    const unsigned s = b->shift;
    const uint64_t base = b->data;
    const unsigned perm = b->aux;
    ims_cache_remove_inl(pf->buf, 0, b->tag, did, (uint8_t)s);
    pf->buf_count[ims_iotlb_size_index(s)]--;
    /* The IOTLB missed every size it holds and has not changed since. */
    ims_iotlb_fill(mmu, iova, did, s, base, perm);
    mmu->st.pf.useful++;
    mmu->st.pf.buffer_hits++;
    *shift = s;
    return find(mmu->iotlb, did, iova >> s, s);
}

void ims_pf_buf_fill(struct ims_iommu *mmu, uint64_t iova, uint16_t did, unsigned shift, uint64_t base, unsigned perm)
{
    struct ims_prefetcher *pf = mmu->pf;
    const uint64_t tag = iova >> shift;
    struct ims_cache_entry *e = find(pf->buf, did, tag, shift);
    if (!e) { /* (held() keeps a present key from being walked again) */
        struct ims_cache_entry victim;
        victim.valid = 0;
        e = ims_cache_insert_inl(pf->buf, 0, tag, did, (uint8_t)shift, &victim);
        pf->buf_count[ims_iotlb_size_index(shift)]++;
        if (victim.valid) { /* LRU: the oldest unused prefetch */
            pf->buf_count[ims_iotlb_size_index(victim.shift)]--;
            mmu->st.pf.useless++;
        }
    }
    e->data = base;
    e->aux = perm;
}

static bool buf_pred(const struct ims_cache_entry *e, void *arg)
{
    struct ims_leaf_scope *m = arg;
    if (!ims_leaf_in_scope(m, e))
        return false;
    if (e->valid) { /* (the buffer classifies nothing: always) */
        m->mmu->pf->buf_count[ims_iotlb_size_index(e->shift)]--;
        m->mmu->st.pf.useless++;
    }
    return true;
}

size_t ims_pf_buf_invalidate(struct ims_iommu *mmu, bool by_did, uint16_t did, uint64_t lo, uint64_t hi)
{
    struct ims_prefetcher *pf = mmu->pf;
    if (!pf->buf || pf->buf->n_valid == 0)
        return 0;
    /* A domain's few pages: one exact removal per tag and size held (the
     * buffer may hold sizes the IOTLB does not); else one scan. */
    struct ims_leaf_scope m = {mmu, by_did, did, lo, hi};
    if (!by_did || ims_leaf_scope_tags(&m, pf->buf_count, false) > IMS_INV_SET_LIMIT)
        return ims_cache_invalidate_if(pf->buf, buf_pred, &m);
    size_t n = 0;
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++) {
        const unsigned s = ims_iotlb_shift(i);
        for (uint64_t tag = lo >> s; pf->buf_count[i] && tag <= hi >> s; tag++)
            if (ims_cache_remove_inl(pf->buf, 0, tag, did, (uint8_t)s)) {
                pf->buf_count[i]--;
                mmu->st.pf.useless++;
                n++;
            }
    }
    return n;
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
    mmu->pf_buffering = pf->buf != NULL; /* the leaf's fill goes to the buffer (ims_iotlb_fill) */
    const unsigned reason = ims_sl_walk_plain(mmu, &r, x, ce, did, levels);
    mmu->pf_buffering = false;
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
    if (pf->buf) /* every buffer entry is an unused prefetch: no mark */
        return;
    struct ims_cache_entry *e = find(mmu->iotlb, did, iova >> x->page_shift, x->page_shift);
    if (e)
        e->spare = 1;
}

/* Walks the candidate pages pages[0 .. n) with pf_walk (into the IOTLB,
 * or the buffer if there is one), except the page `self` (a miss's own;
 * UINT64_MAX: none), pages beyond the width (ce's address width and MGAW),
 * and pages the IOTLB or the buffer holds (counted cached). Returns the walks
 * issued. A demand walk that faulted leaves its miss to be classified by the
 * caller (translate.c): the prefetch fills must not take it. */
static unsigned walk_candidates(struct ims_iommu *mmu, const struct ims_req *req, const struct ims_ctx_entry *ce,
                                uint16_t did, unsigned levels, const uint64_t *pages, unsigned n, uint64_t self)
{
    const unsigned aw_bits = ims_aw_bits(ims_ctx_aw(ce));
    const unsigned width = aw_bits < mmu->mgaw ? aw_bits : mmu->mgaw;
    const bool cls_pending = mmu->cls_pending;
    mmu->cls_pending = false;
    unsigned walked = 0;
    for (unsigned i = 0; i < n; i++) {
        const uint64_t page = pages[i];
        if (page == self || page >= (UINT64_C(1) << (width - IMS_PAGE_SHIFT))) /* itself, or beyond the width */
            continue;
        const uint64_t iova = page << IMS_PAGE_SHIFT;
        mmu->st.pf.candidates++;
        if (held(mmu, iova, did)) { /* (for a hint: maybe a superpage filled by the page before) */
            mmu->st.pf.cached++;
            continue;
        }
        pf_walk(mmu, req, ce, did, levels, iova);
        walked++;
    }
    mmu->cls_pending = cls_pending;
    return walked;
}

void ims_pf_after_walk(struct ims_iommu *mmu, const struct ims_req *req, const struct ims_ctx_entry *ce,
                       uint16_t did, unsigned levels)
{
    struct ims_prefetcher *pf = mmu->pf;
    pf->log.n = 0;
    const struct ims_pf_miss m = {req->rid, did, req->iova >> IMS_PAGE_SHIFT};
    /* Zeroed whole: else GCC 12 warns (-Wmaybe-uninitialized in ims_pf_add),
     * not seeing that only the c.n pages set are read. */
    struct ims_pf_cand c = {.n = 0, .max = pf->degree};
    ims_pf_miss_(pf->policy, &pf->st, &m, &c);
    (void)walk_candidates(mmu, req, ce, did, levels, c.page, c.n, m.page);
}

/* ---- Map-time prefetch (iotlb.prefetch_on_map) ----
 * Not architectural: no VT-d descriptor tells the IOMMU of a new mapping
 * (software invalidates after unmapping, never after mapping, except in
 * caching mode). The hint names a domain, not a device, so the walk needs
 * the domain's second-level table from a context entry the context cache
 * holds (any device of the domain: they share it); with none cached the
 * IOMMU cannot walk, and drops the hint. */

/* A present, translating (not pass-through) cached context entry of domain
 * `did`, without touching the cache's replacement state or statistics. */
static bool ctx_of_domain(const struct ims_iommu *mmu, uint16_t did, struct ims_ctx_entry *ce)
{
    const struct ims_cache *c = mmu->ctx;
    const size_t n = (size_t)(c->set_mask + 1) * c->ways;
    for (size_t i = 0; c->ways && i < n; i++) {
        const struct ims_cache_entry *e = &c->e[i];
        if (!e->valid)
            continue;
        const struct ims_ctx_entry x = {e->data, e->aux};
        if (ims_ctx_present(&x) && ims_ctx_did(&x) == did && ims_ctx_tt(&x) != IMS_TT_PASSTHROUGH) {
            *ce = x;
            return true;
        }
    }
    return false;
}

unsigned ims_iommu_map_hint(struct ims_iommu *mmu, uint16_t did, uint64_t iova, uint64_t size)
{
    struct ims_prefetcher *pf = mmu->pf;
    if (!pf || !pf->on_map || mmu->sm || size == 0)
        return 0;
    pf->log.n = 0;
    mmu->st.pf.map_hints++;
    struct ims_ctx_entry ce;
    if (!ctx_of_domain(mmu, did, &ce)) {
        mmu->st.pf.map_dropped++;
        return 0;
    }
    const struct ims_req r = {.rid = 0, .pasid = IMS_NO_PASID, .iova = iova, .size = 1, .access = IMS_PERM_RW,
                              .at = IMS_AT_UNTRANSLATED};
    /* The mapping's first pages, up to iotlb.prefetch_degree. */
    uint64_t pages[IMS_PF_MAX_DEGREE];
    unsigned n = 0;
    const uint64_t first = iova >> IMS_PAGE_SHIFT;
    const uint64_t last = (iova + (size - 1)) >> IMS_PAGE_SHIFT;
    for (uint64_t page = first; page <= last && page - first < pf->degree; page++)
        pages[n++] = page;
    const uint64_t candidates = mmu->st.pf.candidates;
    mmu->st.pf.map_issued += walk_candidates(mmu, &r, &ce, did, ims_aw_levels(ims_ctx_aw(&ce)), pages, n, UINT64_MAX);
    mmu->st.pf.map_candidates += mmu->st.pf.candidates - candidates;
    return pf->log.n;
}
