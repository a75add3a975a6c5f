/* The IOMMU instance: configuration, creation, invalidation (VT-d 6.5:
 * context-cache and IOTLB invalidation granularities) and statistics. The
 * translation itself is in walk.c, the fault queue in fault.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu_impl.h"

void ims_iommu_cfg_default(struct ims_iommu_cfg *cfg)
{
    /* The one source of these defaults: the timing model's configuration
     * (simcfg.c) takes them from here, and docs/config.md lists them (a test
     * compares the two). The paging-structure caches shrink with the
     * level: each level up, an entry covers 512 times the address space. */
    static const struct {
        uint32_t sets, ways;
    } psc[IMS_MAX_LEVELS + 1] = {[2] = {8, 4}, [3] = {2, 4}, [4] = {1, 4}, [5] = {1, 2}};
    memset(cfg, 0, sizeof *cfg);
    ims_caps_default(&cfg->caps);
    cfg->ctx_cache = (struct ims_cache_cfg){.sets = 16, .ways = 4, .repl = IMS_REPL_LRU, .seed = 1};
    cfg->iotlb = (struct ims_cache_cfg){.sets = 64, .ways = 8, .repl = IMS_REPL_LRU, .seed = 1};
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        cfg->psc[l] = (struct ims_cache_cfg){.sets = psc[l].sets, .ways = psc[l].ways, .repl = IMS_REPL_LRU, .seed = 1};
    cfg->fq_base = UINT64_C(0x00000000fee00000);
    cfg->fq_records = 0; /* follows caps.nfr, also when that is changed */
}

static const struct ims_cache_cfg no_cache = {0, 0, 0, 0};

struct ims_iommu *ims_iommu_create(const struct ims_iommu_cfg *cfg, const struct ims_mem_ops *ops, void *mem_ctx,
                                   char *err, size_t errlen)
{
    if (!ops || !ops->read64 || !ops->write64) {
        snprintf(err, errlen, "iommu: memory ops must have read64 and write64");
        return NULL;
    }
    if (ims_caps_check(&cfg->caps, err, errlen) != 0)
        return NULL;
    if (ims_cache_cfg_check(&cfg->ctx_cache, "ctx_cache", err, errlen) ||
        ims_cache_cfg_check(&cfg->iotlb, "iotlb", err, errlen))
        return NULL;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
        char what[16];
        snprintf(what, sizeof what, "psc[%u]", l);
        if (ims_cache_cfg_check(&cfg->psc[l], what, err, errlen))
            return NULL;
    }
    uint32_t records = cfg->fq_records ? cfg->fq_records : cfg->caps.nfr;
    if (records < 2) {
        snprintf(err, errlen, "iommu: fq_records (%u, 0 means caps.nfr) must be at least 2: one slot always stays "
                 "free to tell full from empty", records);
        return NULL;
    }
    if (cfg->fq_base & 0xfu) {
        snprintf(err, errlen, "iommu: fq_base (0x%llx) must be 16-byte aligned", (unsigned long long)cfg->fq_base);
        return NULL;
    }
    struct ims_iommu *mmu = calloc(1, sizeof *mmu);
    if (!mmu) {
        snprintf(err, errlen, "iommu: out of memory");
        return NULL;
    }
    mmu->cfg = *cfg;
    mmu->cfg.fq_records = records;
    mmu->read64 = ops->read64;
    mmu->write64 = ops->write64;
    mmu->mem_ctx = mem_ctx;
    mmu->mgaw = cfg->caps.mgaw;
    mmu->haw_rsvd = ((UINT64_C(1) << 52) - 1) & ~((UINT64_C(1) << cfg->caps.haw) - 1);
    mmu->ctx = ims_cache_create(&cfg->ctx_cache);
    mmu->iotlb = ims_cache_create(&cfg->iotlb);
    bool ok = mmu->ctx && mmu->iotlb;
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++) {
        mmu->psc[l] = ims_cache_create(l >= 2 ? &cfg->psc[l] : &no_cache);
        ok = ok && mmu->psc[l];
    }
    if (!ok) {
        snprintf(err, errlen, "iommu: out of memory creating caches");
        ims_iommu_destroy(mmu);
        return NULL;
    }
    mmu->fq.base = cfg->fq_base;
    mmu->fq.records = records;
    return mmu;
}

void ims_iommu_destroy(struct ims_iommu *mmu)
{
    if (!mmu)
        return;
    ims_cache_destroy(mmu->ctx);
    ims_cache_destroy(mmu->iotlb);
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++)
        ims_cache_destroy(mmu->psc[l]);
    free(mmu);
}

const struct ims_iommu_cfg *ims_iommu_cfg(const struct ims_iommu *mmu) { return &mmu->cfg; }

void ims_iommu_set_root(struct ims_iommu *mmu, uint64_t rtaddr) { mmu->rtaddr = rtaddr & ~(IMS_PAGE_SIZE - 1); }

/* ---- Context-cache invalidation ---- */

struct ctx_match {
    uint16_t did, sid, mask;
    bool by_sid;
};

static bool ctx_pred(const struct ims_cache_entry *e, void *arg)
{
    const struct ctx_match *m = arg;
    if (e->aux != m->did)
        return false;
    return !m->by_sid || ((uint16_t)e->tag & m->mask) == (m->sid & m->mask);
}

size_t ims_inv_context(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint16_t sid, uint8_t fm)
{
    mmu->st.inv_ctx++;
    if (gran == IMS_INV_GLOBAL)
        return ims_cache_invalidate_all(mmu->ctx);
    if (gran != IMS_INV_DOMAIN && gran != IMS_INV_DEVICE)
        return 0;
    /* Function mask (6.5.2.1 FM): 1 ignores function bit 2, 2 bits 2:1, 3 bits 2:0. */
    static const uint16_t fm_bits[4] = {0, 0x4, 0x6, 0x7};
    struct ctx_match m = {did, sid, (uint16_t)~fm_bits[fm & 3u], gran == IMS_INV_DEVICE};
    return ims_cache_invalidate_if(mmu->ctx, ctx_pred, &m);
}

/* ---- IOTLB and paging-structure-cache invalidation ---- */

struct tlb_match {
    struct ims_iommu *mmu;
    uint32_t did;
    bool by_did;
    bool by_range;
    uint64_t lo, hi;     /* [lo, hi] inclusive */
    unsigned psc_level;  /* 0: IOTLB entry */
};

static bool tlb_pred(const struct ims_cache_entry *e, void *arg)
{
    struct tlb_match *m = arg;
    if (m->by_did && e->dom != m->did)
        return false;
    if (m->by_range) {
        unsigned shift = m->psc_level ? ims_level_shift(m->psc_level) : e->shift;
        uint64_t first = e->tag << shift;
        uint64_t last = first + ((UINT64_C(1) << shift) - 1);
        if (last < m->lo || first > m->hi)
            return false;
    }
    if (!m->psc_level)
        m->mmu->iotlb_size_count[(e->shift - 12) / 9]--;
    return true;
}

/* Page-selective invalidation of a small range need not scan a whole cache:
 * an entry of page shift s covering the range has a tag in
 * [lo >> s, hi >> s], so it can only live in those tags' sets. For the IOTLB
 * (size_count != NULL) each page size it holds is a shift; for a
 * paging-structure cache the shift is its level's. The predicate stays exact,
 * so visiting a set twice or a set with no match changes nothing. */
#define IMS_INV_SET_LIMIT 64 /* more tags than this: a full scan is cheaper */

static unsigned inv_shifts(const struct tlb_match *m, const uint32_t *size_count, unsigned shifts[3])
{
    if (m->psc_level) {
        shifts[0] = ims_level_shift(m->psc_level);
        return 1;
    }
    unsigned n = 0;
    for (unsigned i = 0; i < 3; i++)
        if (size_count[i])
            shifts[n++] = 12 + 9 * i;
    return n;
}

static bool inv_by_sets(const struct ims_cache *c, const struct tlb_match *m, const uint32_t *size_count)
{
    unsigned shifts[3], n = inv_shifts(m, size_count, shifts);
    uint64_t tags = 0;
    for (unsigned i = 0; i < n; i++)
        tags += (m->hi >> shifts[i]) - (m->lo >> shifts[i]) + 1;
    return tags <= IMS_INV_SET_LIMIT && tags <= (uint64_t)c->set_mask + 1;
}

/* Removes the one entry of domain `did` whose tag is `tag` at page shift
 * `shift`, if present: from the IOTLB (psc_level 0, keeping its per-size
 * counts) or from paging-structure cache `psc_level`. Used where an
 * invalidated range lies inside one page of that size, so that entry is the
 * only one that can overlap it. Returns 1 if it was there. */
static inline size_t inv_exact(struct ims_iommu *mmu, unsigned psc_level, uint32_t did, uint64_t tag, unsigned shift)
{
    struct ims_cache *c = psc_level ? mmu->psc[psc_level] : mmu->iotlb;
    if (c->n_valid == 0) /* also true of a disabled cache; skips the hashing */
        return 0;
    const uint32_t set = psc_level ? ims_psc_set(c, tag, did) : ims_iotlb_set(c, tag, did);
    if (!ims_cache_remove_inl(c, set, tag, did, (uint8_t)(psc_level ? psc_level : shift)))
        return 0;
    if (!psc_level)
        mmu->iotlb_size_count[(shift - 12) / 9]--;
    return 1;
}

static size_t inv_sets(struct ims_cache *c, struct tlb_match *m, const uint32_t *size_count)
{
    if (c->ways == 0)
        return 0;
    unsigned shifts[3], n = inv_shifts(m, size_count, shifts);
    size_t removed = 0;
    for (unsigned i = 0; i < n; i++) {
        const uint64_t first = m->lo >> shifts[i];
        if (first == m->hi >> shifts[i]) { /* inside one page of this size */
            removed += inv_exact(m->mmu, m->psc_level, m->did, first, shifts[i]);
            continue;
        }
        for (uint64_t tag = first; tag <= m->hi >> shifts[i]; tag++) {
            uint32_t set = m->psc_level ? ims_psc_set(c, tag, m->did) : ims_iotlb_set(c, tag, m->did);
            removed += ims_cache_invalidate_set_inl(c, set, tlb_pred, m);
        }
    }
    return removed;
}

/* Page-selective invalidation of one 4 KiB page (AM 0: what a strict-mode
 * driver sends for every unmapped page). For each page size, and for each
 * paging-structure level, only the entry whose tag is this address's can
 * overlap the page, so each structure needs one exact removal: the result is
 * the same as inv_sets() with tlb_pred, at a fraction of the cost. */
static size_t inv_one_page(struct ims_iommu *mmu, uint16_t did, uint64_t addr, bool ih)
{
    size_t n = 0;
    for (unsigned i = 0; i < IMS_NSIZES; i++)
        if (mmu->iotlb_size_count[i])
            n += inv_exact(mmu, 0, did, addr >> ims_size_shift[i], ims_size_shift[i]);
    if (ih)
        return n; /* hint: only leaves changed; paging-structure caches stay */
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        n += inv_exact(mmu, l, did, addr >> ims_level_shift(l), ims_level_shift(l));
    return n;
}

size_t ims_inv_iotlb(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am, bool ih)
{
    mmu->st.inv_iotlb++;
    if (gran == IMS_INV_PAGE && am == 0)
        return inv_one_page(mmu, did, addr, ih);
    struct tlb_match m = {.mmu = mmu, .did = did};
    if (gran == IMS_INV_GLOBAL) {
        /* by_did = false, by_range = false: everything */
    } else if (gran == IMS_INV_DOMAIN) {
        m.by_did = true;
    } else if (gran == IMS_INV_PAGE) {
        m.by_did = true;
        m.by_range = true;
        unsigned bits = 12u + am;
        if (bits >= 64) {
            m.lo = 0;
            m.hi = UINT64_MAX;
        } else {
            m.lo = addr & ~((UINT64_C(1) << bits) - 1);
            m.hi = m.lo + ((UINT64_C(1) << bits) - 1);
        }
    } else {
        return 0;
    }
    size_t n = 0;
    if (gran == IMS_INV_PAGE && inv_by_sets(mmu->iotlb, &m, mmu->iotlb_size_count))
        n += inv_sets(mmu->iotlb, &m, mmu->iotlb_size_count);
    else
        n += ims_cache_invalidate_if(mmu->iotlb, tlb_pred, &m);
    if (gran == IMS_INV_PAGE && ih)
        return n; /* hint: only leaves changed; paging-structure caches stay */
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
        m.psc_level = l;
        if (gran == IMS_INV_PAGE && inv_by_sets(mmu->psc[l], &m, NULL))
            n += inv_sets(mmu->psc[l], &m, NULL);
        else
            n += ims_cache_invalidate_if(mmu->psc[l], tlb_pred, &m);
    }
    return n;
}

/* ---- Statistics ---- */

const struct ims_stats *ims_iommu_stats(struct ims_iommu *mmu)
{
    mmu->st.ctx_cache = *ims_cache_stats(mmu->ctx);
    mmu->st.iotlb = *ims_cache_stats(mmu->iotlb);
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++)
        mmu->st.psc[l] = *ims_cache_stats(mmu->psc[l]);
    return &mmu->st;
}

void ims_iommu_stats_reset(struct ims_iommu *mmu)
{
    memset(&mmu->st, 0, sizeof mmu->st);
    ims_cache_stats_reset(mmu->ctx);
    ims_cache_stats_reset(mmu->iotlb);
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++)
        ims_cache_stats_reset(mmu->psc[l]);
}

static void cache_stats_sub(struct ims_cache_stats *o, const struct ims_cache_stats *a,
                            const struct ims_cache_stats *b)
{
    o->lookups = a->lookups - b->lookups;
    o->hits = a->hits - b->hits;
    o->misses = a->misses - b->misses;
    o->fills = a->fills - b->fills;
    o->evictions = a->evictions - b->evictions;
    o->invalidated = a->invalidated - b->invalidated;
}

void ims_stats_sub(struct ims_stats *out, const struct ims_stats *a, const struct ims_stats *b)
{
    struct ims_stats r;
    r.translations = a->translations - b->translations;
    r.faults = a->faults - b->faults;
    for (unsigned i = 0; i < 16; i++)
        r.fault_reason[i] = a->fault_reason[i] - b->fault_reason[i];
    r.fault_records = a->fault_records - b->fault_records;
    r.fault_dropped = a->fault_dropped - b->fault_dropped;
    r.fault_suppressed = a->fault_suppressed - b->fault_suppressed;
    r.walks = a->walks - b->walks;
    r.ctx_reads = a->ctx_reads - b->ctx_reads;
    r.ptw_reads = a->ptw_reads - b->ptw_reads;
    for (unsigned i = 0; i <= IMS_XLATE_MAX_READS; i++)
        r.reads_per_xlate[i] = a->reads_per_xlate[i] - b->reads_per_xlate[i];
    cache_stats_sub(&r.ctx_cache, &a->ctx_cache, &b->ctx_cache);
    cache_stats_sub(&r.iotlb, &a->iotlb, &b->iotlb);
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++)
        cache_stats_sub(&r.psc[l], &a->psc[l], &b->psc[l]);
    r.inv_ctx = a->inv_ctx - b->inv_ctx;
    r.inv_iotlb = a->inv_iotlb - b->inv_iotlb;
    *out = r; /* out may alias a or b */
}
