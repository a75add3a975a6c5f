/* The IOMMU instance: configuration, creation and statistics. The blocks
 * it holds live in their own files (iommu_impl.h lists them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riommu.h"

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
    cfg->iotlb_prefetch = IMS_PF_NONE;
    cfg->iotlb_prefetch_degree = 1;
    cfg->iotlb_prefetch_buffer = 0;
    cfg->iotlb_prefetch_on_map = false;
    cfg->sm.enabled = false; /* legacy mode */
    cfg->sm.fl5lp = true;
    cfg->sm.fl1gp = true;
    cfg->sm.pasid_cache = (struct ims_cache_cfg){.sets = 16, .ways = 4, .repl = IMS_REPL_LRU, .seed = 1};
    cfg->riommu.n_rings = 0; /* off */
    cfg->riommu.table_base = IMS_RIOMMU_TABLE_BASE;
}

static const struct ims_cache_cfg no_cache = {0, 0, 0, 0, false};

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
    if (cfg->sm.enabled) {
        if (ims_cache_cfg_check(&cfg->sm.pasid_cache, "sm.pasid_cache", err, errlen))
            return NULL;
        if (cfg->miss_classes) {
            snprintf(err, errlen, "iommu: miss_classes: legacy mode only (sm.enabled is set)");
            return NULL;
        }
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
    struct ims_prefetcher *pf;
    if (ims_pf_create(cfg, &pf, err, errlen))
        return NULL;
    struct ims_riommu *rio;
    if (ims_riommu_create(cfg, &rio, err, errlen)) {
        ims_pf_destroy(pf);
        return NULL;
    }
    struct ims_iommu *mmu = calloc(1, sizeof *mmu);
    if (!mmu) {
        ims_pf_destroy(pf);
        ims_riommu_destroy(rio);
        snprintf(err, errlen, "iommu: out of memory");
        return NULL;
    }
    mmu->pf = pf;
    mmu->rio = rio;
    mmu->cfg = *cfg;
    mmu->cfg.fq_records = records;
    mmu->read64 = ops->read64;
    mmu->write64 = ops->write64;
    mmu->read64_err = ops->read64_err;
    mmu->mem_ctx = mem_ctx;
    mmu->mgaw = cfg->caps.mgaw;
    /* Second-level paging entries (9.8); walk.c explains the masks. */
    const uint64_t haw_rsvd = ((UINT64_C(1) << 52) - 1) & ~((UINT64_C(1) << cfg->caps.haw) - 1); /* 51:HAW */
    mmu->pte_rsvd = haw_rsvd | IMS_SLPTE_SNP | (cfg->caps.dt ? 0 : IMS_SLPTE_TM);
    struct ims_cache_cfg ctx_cfg = cfg->ctx_cache, iotlb_cfg = cfg->iotlb;
    ctx_cfg.classify = iotlb_cfg.classify = cfg->miss_classes;
    mmu->ctx = ims_cache_create(&ctx_cfg);
    mmu->iotlb = ims_cache_create(&iotlb_cfg);
    bool ok = mmu->ctx && mmu->iotlb;
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++) {
        struct ims_cache_cfg pc = l >= 2 ? cfg->psc[l] : no_cache;
        pc.classify = l >= 2 && cfg->miss_classes;
        mmu->psc[l] = ims_cache_create(&pc);
        ok = ok && mmu->psc[l];
    }
    if (cfg->miss_classes) { /* a row number per domain id and requester id (16 bits each) */
        mmu->did_row = calloc(UINT32_C(1) << 16, sizeof *mmu->did_row);
        mmu->rid_row = calloc(UINT32_C(1) << 16, sizeof *mmu->rid_row);
        ok = ok && mmu->did_row && mmu->rid_row;
    }
    if (cfg->sm.enabled) { /* scalable mode: the PASID cache and its entries' word 2 */
        mmu->sm = true;
        struct ims_cache_cfg pcc = cfg->sm.pasid_cache;
        pcc.classify = false;
        mmu->pasidc = ims_cache_create(&pcc);
        mmu->pasidc_w2 = calloc((size_t)pcc.sets * pcc.ways + 1, sizeof *mmu->pasidc_w2);
        ok = ok && mmu->pasidc && mmu->pasidc_w2;
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
    if (mmu->pasidc)
        ims_cache_destroy(mmu->pasidc);
    free(mmu->pasidc_w2);
    free(mmu->did_row);
    free(mmu->rid_row);
    ims_pf_destroy(mmu->pf);
    ims_riommu_destroy(mmu->rio);
    free(mmu);
}

const struct ims_iommu_cfg *ims_iommu_cfg(const struct ims_iommu *mmu) { return &mmu->cfg; }
uint64_t ims_iommu_pte_rsvd(const struct ims_iommu *mmu) { return mmu->pte_rsvd; }

void ims_iommu_set_root(struct ims_iommu *mmu, uint64_t rtaddr) { mmu->rtaddr = rtaddr & ~(IMS_PAGE_SIZE - 1); }

int ims_iommu_set_scalable(struct ims_iommu *mmu, bool scalable)
{
    if (scalable && !mmu->cfg.sm.enabled)
        return -1;
    if (mmu->sm == scalable)
        return 0;
    ims_cache_invalidate_all(mmu->ctx);
    ims_cache_invalidate_all(mmu->iotlb);
    memset(mmu->iotlb_size_count, 0, sizeof mmu->iotlb_size_count);
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        ims_cache_invalidate_all(mmu->psc[l]);
    if (mmu->pasidc)
        ims_cache_invalidate_all(mmu->pasidc);
    mmu->sm = scalable;
    return 0;
}

bool ims_iommu_scalable(const struct ims_iommu *mmu) { return mmu->sm; }

/* ---- Statistics ---- */

const struct ims_stats *ims_iommu_stats(struct ims_iommu *mmu)
{
    mmu->st.ctx_cache = *ims_cache_stats(mmu->ctx);
    mmu->st.iotlb = *ims_cache_stats(mmu->iotlb);
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++)
        mmu->st.psc[l] = *ims_cache_stats(mmu->psc[l]);
    if (mmu->pasidc)
        mmu->st.sm.pasid_cache = *ims_cache_stats(mmu->pasidc);
    return &mmu->st;
}

void ims_iommu_stats_reset(struct ims_iommu *mmu)
{
    memset(&mmu->st, 0, sizeof mmu->st);
    if (mmu->did_row) { /* the rows restart empty */
        memset(mmu->did_row, 0, (sizeof *mmu->did_row) << 16);
        memset(mmu->rid_row, 0, (sizeof *mmu->rid_row) << 16);
    }
    ims_cache_stats_reset(mmu->ctx);
    ims_cache_stats_reset(mmu->iotlb);
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++)
        ims_cache_stats_reset(mmu->psc[l]);
    if (mmu->pasidc)
        ims_cache_stats_reset(mmu->pasidc);
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
    for (unsigned i = 0; i < IMS_MISS_CLASSES; i++)
        o->miss_class[i] = a->miss_class[i] - b->miss_class[i];
}

/* Rows keep their place, so they subtract row by row; ids and use from a. */
static void id_stats_sub(struct ims_id_stats *o, const struct ims_id_stats *a, const struct ims_id_stats *b)
{
    for (unsigned r = 0; r <= IMS_STATS_IDS; r++) {
        o[r].id = a[r].id;
        o[r].used = a[r].used;
        o[r].lookups = a[r].lookups - b[r].lookups;
        o[r].hits = a[r].hits - b[r].hits;
        o[r].misses = a[r].misses - b[r].misses;
        for (unsigned i = 0; i < IMS_MISS_CLASSES; i++)
            o[r].miss_class[i] = a[r].miss_class[i] - b[r].miss_class[i];
    }
}

void ims_stats_sub(struct ims_stats *out, const struct ims_stats *a, const struct ims_stats *b)
{
    /* Field by field in place: out may alias a or b (each field is read
     * before it is written), and no copy of the struct (35 KB with its rows)
     * lands on the caller's stack, which may be a SystemC thread's. */
    struct ims_stats *r = out;
    r->translations = a->translations - b->translations;
    r->faults = a->faults - b->faults;
    for (unsigned i = 0; i < 256; i++)
        r->fault_reason[i] = a->fault_reason[i] - b->fault_reason[i];
    r->fault_records = a->fault_records - b->fault_records;
    r->fault_dropped = a->fault_dropped - b->fault_dropped;
    r->fault_suppressed = a->fault_suppressed - b->fault_suppressed;
    r->ats_no_access = a->ats_no_access - b->ats_no_access;
    r->walks = a->walks - b->walks;
    r->ctx_reads = a->ctx_reads - b->ctx_reads;
    r->ptw_reads = a->ptw_reads - b->ptw_reads;
    for (unsigned i = 0; i <= IMS_XLATE_MAX_READS; i++)
        r->reads_per_xlate[i] = a->reads_per_xlate[i] - b->reads_per_xlate[i];
    cache_stats_sub(&r->ctx_cache, &a->ctx_cache, &b->ctx_cache);
    cache_stats_sub(&r->iotlb, &a->iotlb, &b->iotlb);
    for (unsigned l = 0; l <= IMS_MAX_LEVELS; l++)
        cache_stats_sub(&r->psc[l], &a->psc[l], &b->psc[l]);
    r->inv_ctx = a->inv_ctx - b->inv_ctx;
    r->inv_iotlb = a->inv_iotlb - b->inv_iotlb;
    r->pf.candidates = a->pf.candidates - b->pf.candidates;
    r->pf.cached = a->pf.cached - b->pf.cached;
    r->pf.issued = a->pf.issued - b->pf.issued;
    r->pf.filled = a->pf.filled - b->pf.filled;
    r->pf.unmapped = a->pf.unmapped - b->pf.unmapped;
    r->pf.useful = a->pf.useful - b->pf.useful;
    r->pf.useless = a->pf.useless - b->pf.useless;
    r->pf.reads = a->pf.reads - b->pf.reads;
    r->pf.buffer_hits = a->pf.buffer_hits - b->pf.buffer_hits;
    r->pf.map_hints = a->pf.map_hints - b->pf.map_hints;
    r->pf.map_dropped = a->pf.map_dropped - b->pf.map_dropped;
    r->pf.map_candidates = a->pf.map_candidates - b->pf.map_candidates;
    r->pf.map_issued = a->pf.map_issued - b->pf.map_issued;
    r->riommu.hits = a->riommu.hits - b->riommu.hits;
    r->riommu.misses = a->riommu.misses - b->riommu.misses;
    r->riommu.table_reads = a->riommu.table_reads - b->riommu.table_reads;
    r->riommu.prefetches = a->riommu.prefetches - b->riommu.prefetches;
    r->riommu.faults = a->riommu.faults - b->riommu.faults;
    r->riommu.inv_elided = a->riommu.inv_elided - b->riommu.inv_elided;
    r->riommu.slot_writes = a->riommu.slot_writes - b->riommu.slot_writes;
    r->n_did = a->n_did;
    r->n_rid = a->n_rid;
    id_stats_sub(r->by_did, a->by_did, b->by_did);
    id_stats_sub(r->by_rid, a->by_rid, b->by_rid);
    struct ims_sm_stats *o = &r->sm;
    const struct ims_sm_stats *x = &a->sm, *y = &b->sm;
    o->pasid_dir_reads = x->pasid_dir_reads - y->pasid_dir_reads;
    o->pasid_entry_reads = x->pasid_entry_reads - y->pasid_entry_reads;
    o->fl_reads = x->fl_reads - y->fl_reads;
    o->sl_reads = x->sl_reads - y->sl_reads;
    o->nested_sl_reads = x->nested_sl_reads - y->nested_sl_reads;
    o->ad_writes = x->ad_writes - y->ad_writes;
    o->walks_fl = x->walks_fl - y->walks_fl;
    o->walks_sl = x->walks_sl - y->walks_sl;
    o->walks_nested = x->walks_nested - y->walks_nested;
    o->passthru = x->passthru - y->passthru;
    o->inv_pasid_cache = x->inv_pasid_cache - y->inv_pasid_cache;
    o->inv_piotlb = x->inv_piotlb - y->inv_piotlb;
    cache_stats_sub(&o->pasid_cache, &x->pasid_cache, &y->pasid_cache);
}
