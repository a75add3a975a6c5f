/* IOTLB prefetching (iotlb.prefetch): for each policy, what a hand-built
 * miss sequence makes it insert; that only pages the tables map are
 * inserted (with the permissions they grant); that invalidation removes
 * prefetched entries and counts them useless; that eviction counts them
 * useless; the statistics' identities; names and configuration errors;
 * the prefetch buffer (iotlb.prefetch_buffer): that prefetches fill it, not
 * the IOTLB, that a lookup is served from it, and that every invalidation
 * granularity removes its entries; map-time prefetch
 * (iotlb.prefetch_on_map): what a hint walks and where it inserts. */
#include <check.h>
#include "ims_check.h"
#include <string.h>

#include "core_fx.h"

#define RID 0x0010u
#define RID2 0x0020u
#define DID 1u
#define PAGE(n) ((uint64_t)(n) << 12)
#define PA(n) (UINT64_C(0x40000000) + ((uint64_t)(n) << 12))

static void open_pf(struct fx *f, unsigned policy, unsigned degree, uint32_t sets, uint32_t ways)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.iotlb_prefetch = (uint8_t)policy;
    cfg.iotlb_prefetch_degree = (uint8_t)degree;
    cfg.iotlb.sets = sets;
    cfg.iotlb.ways = ways;
    fx_open(f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f->tb, DID, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, RID, DID, IMS_TT_UNTRANSLATED, false), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, RID2, DID, IMS_TT_UNTRANSLATED, false), 0);
}

static void map(struct fx *f, unsigned page, unsigned perm)
{
    ck_assert_int_eq(ims_tb_map(f->tb, DID, PAGE(page), PA(page), 0x1000, perm), 0);
}

/* Translates page n (read unless told) from `rid`; returns whether it hit the IOTLB. */
static bool touch_rid(struct fx *f, uint16_t rid, unsigned page, unsigned access)
{
    struct ims_xlate x;
    int r = fx_xlate(f, rid, PAGE(page) + 0x10, access, &x);
    ck_assert_int_eq(r, 0);
    ck_assert_uint_eq(x.pa, PA(page) + 0x10); /* a prefetched entry holds the tables' translation */
    return (x.flags & IMS_XLATE_IOTLB_HIT) != 0;
}
static bool touch(struct fx *f, unsigned page) { return touch_rid(f, RID, page, IMS_PERM_R); }

static const struct ims_pf_stats *pfs(struct fx *f) { return &ims_iommu_stats(f->mmu)->pf; }

/* The identities docs/stats.md states. */
static void identities(struct fx *f)
{
    const struct ims_pf_stats *p = pfs(f);
    ck_assert_uint_eq(p->candidates, p->cached + p->issued);
    ck_assert_uint_eq(p->issued, p->filled + p->unmapped);
    ck_assert_uint_le(p->useful + p->useless, p->filled);
}

/* Flushes the domain's IOTLB entries (the prefetcher's history stays). */
static void flush(struct fx *f) { ims_inv_iotlb(f->mmu, IMS_INV_DOMAIN, DID, 0, 0, false); }

START_TEST(none_does_nothing)
{
    struct fx f;
    open_pf(&f, IMS_PF_NONE, 4, 64, 8);
    for (unsigned p = 0; p < 8; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert_ptr_null(ims_iommu_pf_log(f.mmu));
    ck_assert(!touch(&f, 0));
    ck_assert(!touch(&f, 1)); /* nothing was prefetched */
    const struct ims_pf_stats *p = pfs(&f), zero = {0};
    ck_assert_int_eq(memcmp(p, &zero, sizeof zero), 0);
    fx_close(&f);
}
END_TEST

START_TEST(next_page_inserts_the_following_pages)
{
    struct fx f;
    open_pf(&f, IMS_PF_NEXT_PAGE, 3, 64, 8);
    for (unsigned p = 0x10; p < 0x20; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0x10));
    const struct ims_pf_log *log = ims_iommu_pf_log(f.mmu);
    ck_assert_ptr_nonnull(log);
    ck_assert_uint_eq(log->n, 3);
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_uint_eq(log->w[i].iova, PAGE(0x11 + i));
        ck_assert_uint_eq(log->w[i].filled, 1);
        ck_assert_uint_eq(log->w[i].n_reads, 1); /* the PDE cache holds the level-2 table: one read each */
    }
    ck_assert_uint_eq(pfs(&f)->issued, 3);
    ck_assert_uint_eq(pfs(&f)->filled, 3);
    ck_assert_uint_eq(pfs(&f)->reads, 3);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->walks, 1); /* prefetch walks are not demand walks */
    ck_assert(touch(&f, 0x11));
    ck_assert(touch(&f, 0x12));
    ck_assert(touch(&f, 0x13));
    ck_assert_uint_eq(pfs(&f)->useful, 3);
    ck_assert(touch(&f, 0x11)); /* a second hit is not counted again */
    ck_assert_uint_eq(pfs(&f)->useful, 3);
    ck_assert(!touch(&f, 0x14)); /* beyond the degree: a miss, which prefetches 0x15..0x17 */
    ck_assert_uint_eq(pfs(&f)->issued, 6);
    ck_assert(touch(&f, 0x15));
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(unmapped_pages_are_never_inserted)
{
    struct fx f;
    open_pf(&f, IMS_PF_NEXT_PAGE, 4, 64, 8);
    map(&f, 0x10, IMS_PERM_RW);
    map(&f, 0x12, IMS_PERM_RW); /* 0x11, 0x13, 0x14 not mapped */
    ck_assert(!touch(&f, 0x10));
    const struct ims_pf_stats *p = pfs(&f);
    ck_assert_uint_eq(p->issued, 4);
    ck_assert_uint_eq(p->filled, 1);
    ck_assert_uint_eq(p->unmapped, 3);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->iotlb.fills, 2); /* the demand fill and 0x12 */
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->faults, 0);       /* a prefetch records no fault */
    struct ims_xlate x;
    ck_assert_int_ne(fx_xlate(&f, RID, PAGE(0x11), IMS_PERM_R, &x), 0); /* still a fault, not a hit */
    ck_assert_uint_eq(x.flags & IMS_XLATE_IOTLB_HIT, 0);
    ck_assert(touch(&f, 0x12));
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(prefetch_keeps_the_mapping_permissions)
{
    struct fx f;
    open_pf(&f, IMS_PF_NEXT_PAGE, 1, 64, 8);
    map(&f, 0x10, IMS_PERM_RW);
    map(&f, 0x11, IMS_PERM_W); /* write-only, as a DMA_FROM_DEVICE buffer */
    ck_assert(!touch(&f, 0x10));
    ck_assert_uint_eq(pfs(&f)->filled, 1);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID, PAGE(0x11), IMS_PERM_R, &x), IMS_FR_READ); /* denied from the cached entry */
    ck_assert_uint_ne(x.flags & IMS_XLATE_IOTLB_HIT, 0);
    ck_assert(touch_rid(&f, RID, 0x11, IMS_PERM_W));
    fx_close(&f);
}
END_TEST

START_TEST(invalidation_removes_prefetched_entries)
{
    struct fx f;
    open_pf(&f, IMS_PF_NEXT_PAGE, 2, 64, 8);
    for (unsigned p = 0x10; p < 0x13; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0x10));
    ck_assert_uint_eq(pfs(&f)->filled, 2);
    /* A strict unmap of 0x11: table entry cleared, page-selective invalidation. */
    ck_assert_int_eq(ims_tb_unmap(f.tb, DID, PAGE(0x11), 0x1000), 0);
    ck_assert_uint_ge(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x11), 0, false), 1); /* with the PSC entries */
    ck_assert_uint_eq(pfs(&f)->useless, 1);
    struct ims_xlate x;
    ck_assert_int_ne(fx_xlate(&f, RID, PAGE(0x11), IMS_PERM_R, &x), 0); /* gone: the walk finds it unmapped */
    ck_assert_uint_eq(x.flags & IMS_XLATE_IOTLB_HIT, 0);
    /* A domain flush removes the other one (0x12), also unused. */
    flush(&f);
    ck_assert_uint_eq(pfs(&f)->useless, 2);
    ck_assert(!touch(&f, 0x12));
    identities(&f);
    fx_close(&f);
}
END_TEST

/* Only an unused prefetch leaving counts useless: page-selective
 * invalidations of the demand-filled 0x10 and of 0x11, prefetched and hit
 * since, count nothing; 0x12, prefetched and never hit, counts 1. */
START_TEST(invalidating_used_entries_is_not_useless)
{
    struct fx f;
    open_pf(&f, IMS_PF_NEXT_PAGE, 2, 64, 8);
    for (unsigned p = 0x10; p < 0x13; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0x10)); /* demand fill; prefetches 0x11, 0x12 */
    ck_assert(touch(&f, 0x11));
    ck_assert_uint_eq(pfs(&f)->useful, 1);
    ck_assert_uint_ge(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x10), 0, false), 1);
    ck_assert_uint_eq(pfs(&f)->useless, 0);
    ck_assert_uint_ge(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x11), 0, false), 1);
    ck_assert_uint_eq(pfs(&f)->useless, 0);
    ck_assert_uint_ge(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x12), 0, false), 1);
    ck_assert_uint_eq(pfs(&f)->useless, 1);
    ck_assert(!touch(&f, 0x11)); /* removed: walked again */
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(eviction_counts_useless)
{
    struct fx f;
    open_pf(&f, IMS_PF_NEXT_PAGE, 1, 1, 2); /* one set of two ways, LRU */
    for (unsigned p = 0; p < 8; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0)); /* holds 0, 1 (prefetched) */
    ck_assert(!touch(&f, 4)); /* fills 4 over 0, then prefetches 5 over 1: unused */
    ck_assert_uint_eq(pfs(&f)->useless, 1);
    ck_assert(touch(&f, 5));
    ck_assert_uint_eq(pfs(&f)->useful, 1);
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(cached_candidates_are_not_walked)
{
    struct fx f;
    open_pf(&f, IMS_PF_NEXT_PAGE, 2, 64, 8);
    for (unsigned p = 0; p < 4; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 2)); /* prefetches 3 (4 is unmapped) */
    ck_assert(!touch(&f, 1)); /* candidates 2, 3: both cached */
    const struct ims_pf_stats *p = pfs(&f);
    ck_assert_uint_eq(p->candidates, 4);
    ck_assert_uint_eq(p->cached, 2);
    ck_assert_uint_eq(p->issued, 2);
    ck_assert_uint_eq(p->unmapped, 1);
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(stride_needs_the_stride_twice)
{
    struct fx f;
    open_pf(&f, IMS_PF_STRIDE, 2, 64, 8);
    for (unsigned p = 0; p < 32; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0));
    ck_assert(!touch(&f, 3)); /* stride 3 once: nothing yet */
    ck_assert_uint_eq(pfs(&f)->candidates, 0);
    ck_assert(!touch_rid(&f, RID2, 9, IMS_PERM_R)); /* another device's miss does not break RID's stream */
    ck_assert(!touch(&f, 6)); /* 3 again: 9 (cached by RID2's miss), 12 */
    ck_assert_uint_eq(pfs(&f)->candidates, 2);
    ck_assert_uint_eq(pfs(&f)->cached, 1);
    ck_assert(touch(&f, 12));
    ck_assert(!touch(&f, 7)); /* stride 1 once: nothing */
    ck_assert_uint_eq(pfs(&f)->candidates, 2);
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(ring_replays_the_device_order)
{
    struct fx f;
    open_pf(&f, IMS_PF_RING, 2, 64, 8);
    static const unsigned ring[] = {0x105, 0x2a0, 0x031, 0x3ff, 0x177};
    for (unsigned i = 0; i < 5; i++)
        map(&f, ring[i], IMS_PERM_RW);
    for (unsigned i = 0; i < 5; i++)
        ck_assert(!touch(&f, ring[i]));
    ck_assert_uint_eq(pfs(&f)->candidates, 0); /* first time round: nothing known */
    flush(&f);
    ck_assert(!touch(&f, ring[0])); /* names the two that followed it */
    ck_assert(touch(&f, ring[1]));
    ck_assert(touch(&f, ring[2]));
    ck_assert(!touch(&f, ring[3])); /* a miss again: names 0x177, then ring[0] (cached: not walked) */
    ck_assert(touch(&f, ring[4]));
    ck_assert_uint_eq(pfs(&f)->useful, 3);
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(markov_names_the_successors)
{
    struct fx f;
    open_pf(&f, IMS_PF_MARKOV, 4, 64, 8);
    static const unsigned pg[] = {0x50, 0x9, 0x77, 0x123};
    for (unsigned i = 0; i < 4; i++)
        map(&f, pg[i], IMS_PERM_RW);
    ck_assert(!touch(&f, 0x50));
    ck_assert(!touch(&f, 0x9)); /* 0x50 -> 0x9 */
    flush(&f);
    ck_assert(!touch(&f, 0x50)); /* names 0x9 */
    ck_assert(touch(&f, 0x9));
    flush(&f);
    ck_assert(!touch(&f, 0x77)); /* the previous miss was 0x50 (hits are not misses): 0x50 -> 0x77 */
    flush(&f);
    ck_assert(!touch(&f, 0x50)); /* names 0x77 (most recent) and 0x9: at most 2 although the degree is 4 */
    const struct ims_pf_log *log = ims_iommu_pf_log(f.mmu);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_uint_eq(log->w[0].iova, PAGE(0x77));
    ck_assert_uint_eq(log->w[1].iova, PAGE(0x9));
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(distance_predicts_from_distances)
{
    struct fx f;
    open_pf(&f, IMS_PF_DISTANCE, 2, 64, 8);
    for (unsigned p = 0; p < 64; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0));
    ck_assert(!touch(&f, 1));  /* distance 1 */
    ck_assert(!touch(&f, 3));  /* 2 after 1 */
    ck_assert(!touch(&f, 10)); /* 7 after 2 */
    ck_assert_uint_eq(pfs(&f)->candidates, 0);
    ck_assert(!touch(&f, 11)); /* distance 1: 2 followed it: names 13 */
    ck_assert_uint_eq(pfs(&f)->candidates, 1);
    ck_assert(touch(&f, 13));
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(recency_names_stack_neighbours)
{
    struct fx f;
    open_pf(&f, IMS_PF_RECENCY, 1, 1, 2); /* one set of two ways, LRU */
    for (unsigned p = 0; p < 8; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0));
    ck_assert(!touch(&f, 1));
    ck_assert(!touch(&f, 2)); /* evicts 0: stack 0 */
    ck_assert(!touch(&f, 3)); /* evicts 1: stack 1, 0 */
    ck_assert_uint_eq(pfs(&f)->candidates, 0);
    ck_assert(!touch(&f, 0)); /* evicts 2; 0's newer neighbour is 1 */
    const struct ims_pf_log *log = ims_iommu_pf_log(f.mmu);
    ck_assert_uint_eq(log->n, 1);
    ck_assert_uint_eq(log->w[0].iova, PAGE(1));
    ck_assert(touch(&f, 1));
    ck_assert(!touch(&f, 5)); /* a page never evicted: nothing */
    ck_assert_uint_eq(pfs(&f)->candidates, 1);
    identities(&f);
    fx_close(&f);
}
END_TEST

START_TEST(recency_newer_neighbour_first)
{
    struct fx f;
    open_pf(&f, IMS_PF_RECENCY, 1, 1, 2); /* one set of two ways, LRU */
    for (unsigned p = 0; p < 8; p++)
        map(&f, p, IMS_PERM_RW);
    for (unsigned p = 0; p < 5; p++)
        ck_assert(!touch(&f, p)); /* evicts 0, 1, 2: stack 2, 1, 0 */
    ck_assert(!touch(&f, 1));     /* evicts 3 (stack 3, 2, 1, 0); 1's neighbours: 2 (newer), 0 (older) */
    const struct ims_pf_log *log = ims_iommu_pf_log(f.mmu);
    ck_assert_uint_eq(log->n, 1); /* degree 1: the newer one */
    ck_assert_uint_eq(log->w[0].iova, PAGE(2));
    fx_close(&f);
}
END_TEST

START_TEST(names_and_errors)
{
    ck_assert_int_eq(ims_pf_from_name("none"), IMS_PF_NONE);
    ck_assert_int_eq(ims_pf_from_name("next-page"), IMS_PF_NEXT_PAGE);
    ck_assert_int_eq(ims_pf_from_name("recency"), IMS_PF_RECENCY);
    ck_assert_int_eq(ims_pf_from_name("next_page"), -1);
    ck_assert_int_eq(ims_pf_from_name(NULL), -1);
    ck_assert_str_eq(ims_pf_name(IMS_PF_RING), "ring");
    ck_assert_str_eq(ims_pf_name(200), "unknown");
    ck_assert_str_eq(ims_pf_known(), "none, next-page, stride, ring, markov, distance, recency");
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct ims_mem *mem = ims_mem_create();
    char err[256] = "";
    cfg.iotlb_prefetch = IMS_PF_COUNT;
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, mem, err, sizeof err));
    ck_assert_msg(strstr(err, "iotlb_prefetch") && strstr(err, "not a prefetch policy"), "%s", err);
    cfg.iotlb_prefetch = IMS_PF_NEXT_PAGE;
    cfg.iotlb_prefetch_degree = IMS_PF_MAX_DEGREE + 1;
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, mem, err, sizeof err));
    ck_assert_msg(strstr(err, "iotlb_prefetch_degree"), "%s", err);
    cfg.iotlb_prefetch_degree = 1;
    cfg.sm.enabled = true;
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, mem, err, sizeof err));
    ck_assert_msg(strstr(err, "legacy mode only"), "%s", err);
    ims_mem_destroy(mem);
}
END_TEST

START_TEST(stats_subtract)
{
    struct fx f;
    open_pf(&f, IMS_PF_NEXT_PAGE, 2, 64, 8);
    for (unsigned p = 0; p < 8; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0));
    struct ims_stats *a = malloc(sizeof *a), *d = malloc(sizeof *d);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(d);
    *a = *ims_iommu_stats(f.mmu);
    ck_assert(!touch(&f, 3));
    ims_stats_sub(d, ims_iommu_stats(f.mmu), a);
    ck_assert_uint_eq(d->pf.issued, 2);
    ck_assert_uint_eq(d->pf.filled, 2);
    ck_assert_uint_eq(d->pf.reads, 2);
    free(a);
    free(d);
    fx_close(&f);
}
END_TEST

/* ---- The prefetch buffer (iotlb.prefetch_buffer) ---- */

static void open_buf_cfg(struct fx *f, struct ims_iommu_cfg *cfg, unsigned policy, unsigned degree, uint32_t sets,
                         uint32_t ways, unsigned buffer)
{
    cfg->iotlb_prefetch = (uint8_t)policy;
    cfg->iotlb_prefetch_degree = (uint8_t)degree;
    cfg->iotlb_prefetch_buffer = (uint16_t)buffer;
    cfg->iotlb.sets = sets;
    cfg->iotlb.ways = ways;
    fx_open(f, cfg);
    ck_assert_int_eq(ims_tb_domain_create(f->tb, DID, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, RID, DID, IMS_TT_UNTRANSLATED, false), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, RID2, DID, IMS_TT_UNTRANSLATED, false), 0);
}

static void open_buf(struct fx *f, unsigned policy, unsigned degree, uint32_t sets, uint32_t ways, unsigned buffer)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    open_buf_cfg(f, &cfg, policy, degree, sets, ways, buffer);
}

/* Whether translating `iova` (read) from RID faults; a fault must not come
 * from the IOTLB (a stale entry would hit instead). */
static bool faults(struct fx *f, uint64_t iova)
{
    struct ims_xlate x;
    const int r = fx_xlate(f, RID, iova, IMS_PERM_R, &x);
    ck_assert_uint_eq(x.flags & IMS_XLATE_IOTLB_HIT, 0);
    return r != 0;
}

/* Expected: prefetches fill the buffer, not the IOTLB (one IOTLB fill: the
 * demand's); a lookup of a prefetched page misses the IOTLB, hits the
 * buffer and is served as an IOTLB hit with the tables' translation; the
 * entry is then in the IOTLB (its second lookup is a plain hit, counted
 * once as useful and as a buffer hit). No further walk is made. */
START_TEST(buffer_takes_the_prefetches)
{
    struct fx f;
    open_buf(&f, IMS_PF_NEXT_PAGE, 3, 64, 8, 8);
    for (unsigned p = 0x10; p < 0x20; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0x10));
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->iotlb.fills, 1);
    ck_assert_uint_eq(pfs(&f)->filled, 3);
    ck_assert_uint_eq(ims_iommu_pf_log(f.mmu)->n, 3); /* timed as before: the log is the same */
    ck_assert(touch(&f, 0x12));
    st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->iotlb.fills, 2); /* moved into the IOTLB */
    ck_assert_uint_eq(st->iotlb.hits, 1);  /* a buffer hit counts as an IOTLB hit */
    ck_assert_uint_eq(st->iotlb.misses, 1);
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 1);
    ck_assert_uint_eq(pfs(&f)->useful, 1);
    ck_assert(touch(&f, 0x12));
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 1);
    ck_assert_uint_eq(pfs(&f)->useful, 1);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->iotlb.fills, 2);
    ck_assert(touch(&f, 0x11));
    ck_assert(touch(&f, 0x13));
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 3);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->walks, 1);
    identities(&f);
    fx_close(&f);
}
END_TEST

/* Expected: with one set of two ways, the prefetch of 5 no longer evicts
 * the demand entry 0 (eviction_counts_useless without a buffer): 0 still
 * hits, and 1 and 5 come from the buffer. */
START_TEST(buffer_spares_demand_entries)
{
    struct fx f;
    open_buf(&f, IMS_PF_NEXT_PAGE, 1, 1, 2, 4);
    for (unsigned p = 0; p < 8; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0)); /* IOTLB 0; buffer 1 */
    ck_assert(!touch(&f, 4)); /* IOTLB 0, 4; buffer 1, 5 */
    ck_assert(touch(&f, 0));
    ck_assert(touch(&f, 5)); /* moved in over 4 (LRU) */
    ck_assert(touch(&f, 1)); /* moved in over 0 */
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 2);
    ck_assert_uint_eq(pfs(&f)->useless, 0);
    ck_assert(!touch(&f, 0)); /* evicted by 1's move; its fill evicts 5 */
    ck_assert(!touch(&f, 5)); /* 5 left the buffer when it moved: walked again */
    ck_assert(!touch(&f, 4)); /* evicted by 5's move: a demand miss */
    identities(&f);
    fx_close(&f);
}
END_TEST

/* Expected: a full buffer drops its oldest prefetch (LRU), counted
 * useless; that page is walked again on demand. */
START_TEST(buffer_eviction_counts_useless)
{
    struct fx f;
    open_buf(&f, IMS_PF_NEXT_PAGE, 1, 64, 8, 2);
    for (unsigned p = 0; p < 0x40; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0x00)); /* buffer 0x01 */
    ck_assert(!touch(&f, 0x10)); /* buffer 0x01, 0x11 */
    ck_assert(!touch(&f, 0x20)); /* buffer 0x11, 0x21: 0x01 dropped */
    ck_assert_uint_eq(pfs(&f)->useless, 1);
    ck_assert(!touch(&f, 0x01)); /* walked; prefetches 0x02 over 0x11 */
    ck_assert_uint_eq(pfs(&f)->useless, 2);
    ck_assert(touch(&f, 0x21));
    ck_assert(touch(&f, 0x02));
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 2);
    identities(&f);
    fx_close(&f);
}
END_TEST

/* Expected: a candidate the buffer holds is cached, not walked again. */
START_TEST(buffer_candidates_are_held)
{
    struct fx f;
    open_buf(&f, IMS_PF_NEXT_PAGE, 2, 64, 8, 8);
    for (unsigned p = 0; p < 4; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 2)); /* buffer 3 (4 is unmapped) */
    ck_assert(!touch(&f, 1)); /* candidates 2 (IOTLB) and 3 (buffer) */
    const struct ims_pf_stats *p = pfs(&f);
    ck_assert_uint_eq(p->candidates, 4);
    ck_assert_uint_eq(p->cached, 2);
    ck_assert_uint_eq(p->issued, 2);
    identities(&f);
    fx_close(&f);
}
END_TEST

/* The invalidation cases below prefetch 0x11..0x14 into the buffer (and
 * leave the IOTLB with 0x10 only), then unmap pages in the tables and
 * invalidate: an invalidated page must fault (the walk finds it unmapped,
 * no stale translation hits), and a page the command does not cover must
 * still come from the buffer. */
static void buf_setup(struct fx *f, unsigned buffer)
{
    open_buf(f, IMS_PF_NEXT_PAGE, 4, 64, 8, buffer);
    for (unsigned p = 0x10; p < 0x15; p++)
        map(f, p, IMS_PERM_RW);
    ck_assert(!touch(f, 0x10));
    ck_assert_uint_eq(pfs(f)->filled, 4);
    ck_assert_uint_eq(ims_iommu_stats(f->mmu)->iotlb.fills, 1);
}

static void unmap(struct fx *f, unsigned page)
{
    ck_assert_int_eq(ims_tb_unmap(f->tb, DID, PAGE(page), 0x1000), 0);
}

/* Expected: a page-selective invalidation of one page (with and without the
 * hint) removes that page's buffer entry only. Loop: buffer of 8 ways
 * (scanned) and of 256 (indexed). */
START_TEST(buffer_inv_page)
{
    struct fx f;
    buf_setup(&f, _i ? 256 : 8);
    unmap(&f, 0x12);
    unmap(&f, 0x13);
    ck_assert_uint_ge(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x12), 0, false), 1);
    ck_assert_uint_ge(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x13) + 0x800, 0, true), 1);
    ck_assert_uint_eq(pfs(&f)->useless, 2);
    ck_assert(faults(&f, PAGE(0x12)));
    ck_assert(faults(&f, PAGE(0x13)));
    ck_assert(touch(&f, 0x11));
    ck_assert(touch(&f, 0x14));
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 2);
    identities(&f);
    fx_close(&f);
}
END_TEST

/* Expected: a page-selective invalidation with an address mask (am = 1:
 * 0x12..0x13; am = 9: 512 pages, past the exact-removal limit, the whole
 * buffer scanned) removes the covered entries only. */
START_TEST(buffer_inv_page_mask)
{
    struct fx f;
    buf_setup(&f, 16);
    unmap(&f, 0x12);
    unmap(&f, 0x13);
    ck_assert_uint_ge(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x13), 1, false), 2);
    ck_assert_uint_eq(pfs(&f)->useless, 2);
    ck_assert(faults(&f, PAGE(0x12)));
    ck_assert(faults(&f, PAGE(0x13)));
    ck_assert(touch(&f, 0x14));
    /* 0x11 is left; a 2 MiB-aligned block of 512 pages covers it. */
    unmap(&f, 0x11);
    ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x100), 9, false);
    ck_assert_uint_eq(pfs(&f)->useless, 3);
    ck_assert(faults(&f, PAGE(0x11)));
    identities(&f);
    fx_close(&f);
}
END_TEST

/* Expected: a domain-selective invalidation removes the domain's buffer
 * entries and no other domain's; a global one removes every entry. */
START_TEST(buffer_inv_domain_and_global)
{
    struct fx f;
    buf_setup(&f, 8);
    const uint16_t rid3 = 0x30, did2 = 2;
    ck_assert_int_eq(ims_tb_domain_create(f.tb, did2, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, rid3, did2, IMS_TT_UNTRANSLATED, false), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, did2, PAGE(0x50), PA(0x50), 0x2000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, rid3, PAGE(0x50), IMS_PERM_R, &x), 0); /* buffer: did2's 0x51 */
    ck_assert_uint_eq(pfs(&f)->filled, 5);
    for (unsigned p = 0x11; p < 0x15; p++)
        unmap(&f, p);
    ims_inv_iotlb(f.mmu, IMS_INV_DOMAIN, DID, 0, 0, false);
    ck_assert_uint_eq(pfs(&f)->useless, 4);
    for (unsigned p = 0x11; p < 0x15; p++)
        ck_assert(faults(&f, PAGE(p)));
    ck_assert_int_eq(fx_xlate(&f, rid3, PAGE(0x51), IMS_PERM_R, &x), 0); /* the other domain's survived */
    ck_assert_uint_ne(x.flags & IMS_XLATE_IOTLB_HIT, 0);
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 1);
    /* Global: 0x52 prefetched for did2 (not mapped: nothing), so map 0x53 first. */
    ck_assert_int_eq(ims_tb_map(f.tb, did2, PAGE(0x60), PA(0x60), 0x2000, IMS_PERM_RW), 0);
    ck_assert_int_eq(fx_xlate(&f, rid3, PAGE(0x60), IMS_PERM_R, &x), 0); /* buffer: 0x61 */
    ck_assert_int_eq(ims_tb_unmap(f.tb, did2, PAGE(0x61), 0x1000), 0);
    ims_inv_iotlb(f.mmu, IMS_INV_GLOBAL, 0, 0, 0, false);
    ck_assert_int_ne(fx_xlate(&f, rid3, PAGE(0x61), IMS_PERM_R, &x), 0);
    ck_assert_uint_eq(x.flags & IMS_XLATE_IOTLB_HIT, 0);
    ck_assert_uint_eq(pfs(&f)->useless, 5);
    identities(&f);
    fx_close(&f);
}
END_TEST

/* Expected: a 2 MiB translation prefetched into the buffer while the IOTLB
 * holds only 4 KiB entries is removed by a page-selective invalidation of
 * any 4 KiB page inside it (a removal that probed only the sizes the IOTLB
 * holds would leave it), and by a domain one. */
START_TEST(buffer_inv_superpage)
{
    for (unsigned how = 0; how < 2; how++) {
        struct fx f;
        open_buf(&f, IMS_PF_NEXT_PAGE, 1, 64, 8, 8);
        map(&f, 0x1ff, IMS_PERM_RW);
        ck_assert_int_eq(ims_tb_map(f.tb, DID, PAGE(0x200), PA(0x200), 0x200000, IMS_PERM_RW), 0);
        ck_assert(!touch(&f, 0x1ff)); /* prefetches page 0x200: a 2 MiB leaf */
        ck_assert_uint_eq(ims_iommu_pf_log(f.mmu)->w[0].shift, 21);
        ck_assert_int_eq(ims_tb_unmap(f.tb, DID, PAGE(0x200), 0x200000), 0);
        if (how == 0)
            ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x234), 0, false);
        else
            ims_inv_iotlb(f.mmu, IMS_INV_DOMAIN, DID, 0, 0, false);
        ck_assert_uint_eq(pfs(&f)->useless, 1);
        ck_assert(faults(&f, PAGE(0x2ab)));
        ck_assert_uint_eq(pfs(&f)->buffer_hits, 0);
        fx_close(&f);
    }
}
END_TEST

/* Expected: with rIOMMU rings, an invalidation that covers ring slots only
 * is elided and leaves the buffer's radix entries alone (they are outside
 * it); a domain-selective one is applied and removes them. */
START_TEST(buffer_inv_riommu)
{
    struct fx f;
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.riommu.n_rings = 1;
    cfg.riommu.ring[0] = (struct ims_riommu_ring_cfg){.first = PAGE(0x100), .slots = 4, .slot_size = 0x1000, .did = DID};
    open_buf_cfg(&f, &cfg, IMS_PF_NEXT_PAGE, 2, 64, 8, 8);
    map(&f, 0x10, IMS_PERM_RW);
    map(&f, 0x11, IMS_PERM_RW);
    map(&f, 0x12, IMS_PERM_RW);
    ck_assert(!touch(&f, 0x10)); /* buffer 0x11, 0x12 */
    ck_assert_uint_eq(ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x101), 0, false), 0);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->riommu.inv_elided, 1);
    ck_assert(touch(&f, 0x11)); /* untouched by the elided command */
    unmap(&f, 0x12);
    ims_inv_iotlb(f.mmu, IMS_INV_DOMAIN, DID, 0, 0, false);
    ck_assert(faults(&f, PAGE(0x12)));
    ck_assert_uint_eq(pfs(&f)->useless, 1);
    fx_close(&f);
}
END_TEST

/* Expected: an ATS translation request and a lookup with miss classes on
 * are served from the buffer like any lookup (the classifier counts a hit). */
START_TEST(buffer_ats_and_classes)
{
    struct fx f;
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.miss_classes = true;
    open_buf_cfg(&f, &cfg, IMS_PF_NEXT_PAGE, 2, 64, 8, 8);
    for (unsigned p = 0x10; p < 0x13; p++)
        map(&f, p, IMS_PERM_RW);
    ck_assert(!touch(&f, 0x10));
    ck_assert(touch(&f, 0x11));
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->by_did[0].hits, 1);
    ck_assert_uint_eq(st->by_did[0].misses, 1);
    ck_assert_uint_eq(st->iotlb.miss_class[IMS_MISS_COMPULSORY], 1);
    fx_close(&f);
    fx_cfg(&cfg);
    cfg.caps.dt = true;
    open_buf_cfg(&f, &cfg, IMS_PF_NEXT_PAGE, 1, 64, 8, 8);
    const uint16_t rid = 0x40;
    ck_assert_int_eq(ims_tb_attach(f.tb, rid, DID, IMS_TT_DEVTLB, false), 0);
    map(&f, 0x10, IMS_PERM_RW);
    map(&f, 0x11, IMS_PERM_R);
    ck_assert(!touch(&f, 0x10));
    struct ims_req r = {.rid = rid, .pasid = IMS_NO_PASID, .iova = PAGE(0x11), .size = 4, .access = IMS_PERM_R,
                        .at = IMS_AT_TRANSLATION};
    struct ims_xlate x;
    ck_assert_int_eq(ims_translate(f.mmu, &r, &x), 0);
    ck_assert_uint_ne(x.flags & IMS_XLATE_IOTLB_HIT, 0);
    ck_assert_uint_eq(x.perm, IMS_PERM_R);
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 1);
    fx_close(&f);
}
END_TEST

/* Expected: a buffer larger than IMS_PF_MAX_BUFFER is refused, naming the
 * field; a buffer without a policy is no prefetcher (nothing changes). */
START_TEST(buffer_errors_and_no_policy)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    struct ims_mem *mem = ims_mem_create();
    char err[256] = "";
    cfg.iotlb_prefetch = IMS_PF_NEXT_PAGE;
    cfg.iotlb_prefetch_buffer = IMS_PF_MAX_BUFFER + 1;
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, mem, err, sizeof err));
    ck_assert_msg(strstr(err, "iotlb_prefetch_buffer") && strstr(err, "4096"), "%s", err);
    ims_mem_destroy(mem);
    struct fx f;
    open_buf(&f, IMS_PF_NONE, 1, 64, 8, 16);
    ck_assert_ptr_null(ims_iommu_pf_log(f.mmu));
    map(&f, 0, IMS_PERM_RW);
    map(&f, 1, IMS_PERM_RW);
    ck_assert(!touch(&f, 0));
    ck_assert(!touch(&f, 1));
    fx_close(&f);
}
END_TEST

/* ---- Map-time prefetch (iotlb.prefetch_on_map) ---- */

static void open_map(struct fx *f, unsigned policy, unsigned degree, unsigned buffer)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.iotlb_prefetch_on_map = true;
    open_buf_cfg(f, &cfg, policy, degree, 64, 8, buffer);
    map(f, 0x100, IMS_PERM_RW);
    ck_assert(!touch(f, 0x100)); /* caches RID's context entry: the hint's table root */
}

/* Expected: a hint walks the mapping's first pages, up to the degree, and
 * inserts them into the IOTLB (no buffer): their first DMAs hit; the page
 * past the degree misses. Counted as prefetches and as map walks. */
START_TEST(map_hint_fills_the_iotlb)
{
    struct fx f;
    open_map(&f, IMS_PF_NONE, 2, 0);
    ck_assert_int_eq(ims_tb_map(f.tb, DID, PAGE(0x10), PA(0x10), 0x3000, IMS_PERM_RW), 0);
    ck_assert_uint_eq(ims_iommu_map_hint(f.mmu, DID, PAGE(0x10), 0x3000), 2);
    const struct ims_pf_log *log = ims_iommu_pf_log(f.mmu);
    ck_assert_uint_eq(log->n, 2);
    ck_assert_uint_eq(log->w[1].iova, PAGE(0x11));
    const struct ims_pf_stats *p = pfs(&f);
    ck_assert_uint_eq(p->map_hints, 1);
    ck_assert_uint_eq(p->map_candidates, 2);
    ck_assert_uint_eq(p->map_issued, 2);
    ck_assert_uint_eq(p->filled, 2);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->walks, 1); /* the demand walk of 0x100 only */
    ck_assert(touch(&f, 0x10));
    ck_assert(touch(&f, 0x11));
    ck_assert(!touch(&f, 0x12));
    ck_assert_uint_eq(pfs(&f)->useful, 2);
    /* A hint of pages already held walks nothing. */
    ck_assert_uint_eq(ims_iommu_map_hint(f.mmu, DID, PAGE(0x11), 0x2000), 0);
    ck_assert_uint_eq(pfs(&f)->cached, 2);
    identities(&f);
    fx_close(&f);
}
END_TEST

/* Expected: with a buffer the hint's entries go there, not into the IOTLB. */
START_TEST(map_hint_fills_the_buffer)
{
    struct fx f;
    open_map(&f, IMS_PF_NONE, 1, 4);
    map(&f, 0x10, IMS_PERM_W);
    const uint64_t fills = ims_iommu_stats(f.mmu)->iotlb.fills;
    ck_assert_uint_eq(ims_iommu_map_hint(f.mmu, DID, PAGE(0x10), 0x1000), 1);
    ck_assert_uint_eq(ims_iommu_stats(f.mmu)->iotlb.fills, fills);
    ck_assert(touch_rid(&f, RID, 0x10, IMS_PERM_W));
    ck_assert_uint_eq(pfs(&f)->buffer_hits, 1);
    fx_close(&f);
}
END_TEST

/* Expected: map, hint, DMA (a hit), strict unmap and invalidation: the
 * translation is gone (a DMA faults), from the IOTLB and from the buffer. */
START_TEST(map_hint_then_strict_unmap)
{
    for (unsigned buffer = 0; buffer <= 8; buffer += 8) {
        struct fx f;
        open_map(&f, IMS_PF_NEXT_PAGE, 1, buffer);
        map(&f, 0x10, IMS_PERM_RW);
        ims_iommu_map_hint(f.mmu, DID, PAGE(0x10), 0x1000);
        ck_assert(touch(&f, 0x10));
        unmap(&f, 0x10);
        ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x10), 0, false);
        ck_assert(faults(&f, PAGE(0x10)));
        map(&f, 0x20, IMS_PERM_RW); /* hinted, never used: invalidated unused */
        ims_iommu_map_hint(f.mmu, DID, PAGE(0x20), 0x1000);
        unmap(&f, 0x20);
        ims_inv_iotlb(f.mmu, IMS_INV_PAGE, DID, PAGE(0x20), 0, false);
        ck_assert(faults(&f, PAGE(0x20)));
        ck_assert_uint_eq(pfs(&f)->useless, 1);
        identities(&f);
        fx_close(&f);
    }
}
END_TEST

/* Expected: no cached context entry of the domain (none yet, or only of
 * another domain): the hint is dropped, nothing walked; a hint of an
 * unmapped page walks and inserts nothing; with the option off a hint does
 * nothing at all. */
START_TEST(map_hint_dropped_and_off)
{
    struct fx f;
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.iotlb_prefetch_on_map = true;
    open_buf_cfg(&f, &cfg, IMS_PF_NONE, 1, 64, 8, 0);
    map(&f, 0x10, IMS_PERM_RW);
    ck_assert_uint_eq(ims_iommu_map_hint(f.mmu, DID, PAGE(0x10), 0x1000), 0);
    ck_assert_uint_eq(pfs(&f)->map_dropped, 1);
    ck_assert_uint_eq(pfs(&f)->issued, 0);
    ck_assert(!touch(&f, 0x10));
    ck_assert_uint_eq(ims_iommu_map_hint(f.mmu, DID + 1, PAGE(0x10), 0x1000), 0);
    ck_assert_uint_eq(pfs(&f)->map_dropped, 2);
    ck_assert_uint_eq(ims_iommu_map_hint(f.mmu, DID, PAGE(0x30), 0x1000), 1); /* walked: not mapped */
    ck_assert_uint_eq(pfs(&f)->unmapped, 1);
    ck_assert(faults(&f, PAGE(0x30)));
    fx_close(&f);
    open_pf(&f, IMS_PF_NEXT_PAGE, 1, 64, 8);
    map(&f, 0x10, IMS_PERM_RW);
    ck_assert(!touch(&f, 0x10));
    map(&f, 0x20, IMS_PERM_RW);
    ck_assert_uint_eq(ims_iommu_map_hint(f.mmu, DID, PAGE(0x20), 0x1000), 0);
    ck_assert_uint_eq(pfs(&f)->map_hints, 0);
    ck_assert(!touch(&f, 0x20));
    fx_close(&f);
    fx_cfg(&cfg);
    cfg.iotlb_prefetch_on_map = true;
    cfg.sm.enabled = true;
    struct ims_mem *mem = ims_mem_create();
    char err[256] = "";
    ck_assert_ptr_null(ims_iommu_create(&cfg, &ims_mem_direct_ops, mem, err, sizeof err));
    ck_assert_msg(strstr(err, "iotlb_prefetch_on_map") && strstr(err, "legacy mode only"), "%s", err);
    ims_mem_destroy(mem);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prefetch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, none_does_nothing);
    tcase_add_test(tc, next_page_inserts_the_following_pages);
    tcase_add_test(tc, unmapped_pages_are_never_inserted);
    tcase_add_test(tc, prefetch_keeps_the_mapping_permissions);
    tcase_add_test(tc, invalidation_removes_prefetched_entries);
    tcase_add_test(tc, invalidating_used_entries_is_not_useless);
    tcase_add_test(tc, eviction_counts_useless);
    tcase_add_test(tc, cached_candidates_are_not_walked);
    tcase_add_test(tc, stride_needs_the_stride_twice);
    tcase_add_test(tc, ring_replays_the_device_order);
    tcase_add_test(tc, markov_names_the_successors);
    tcase_add_test(tc, distance_predicts_from_distances);
    tcase_add_test(tc, recency_names_stack_neighbours);
    tcase_add_test(tc, recency_newer_neighbour_first);
    tcase_add_test(tc, names_and_errors);
    tcase_add_test(tc, stats_subtract);
    tcase_add_test(tc, buffer_takes_the_prefetches);
    tcase_add_test(tc, buffer_spares_demand_entries);
    tcase_add_test(tc, buffer_eviction_counts_useless);
    tcase_add_test(tc, buffer_candidates_are_held);
    tcase_add_loop_test(tc, buffer_inv_page, 0, 2);
    tcase_add_test(tc, buffer_inv_page_mask);
    tcase_add_test(tc, buffer_inv_domain_and_global);
    tcase_add_test(tc, buffer_inv_superpage);
    tcase_add_test(tc, buffer_inv_riommu);
    tcase_add_test(tc, buffer_ats_and_classes);
    tcase_add_test(tc, buffer_errors_and_no_policy);
    tcase_add_test(tc, map_hint_fills_the_iotlb);
    tcase_add_test(tc, map_hint_fills_the_buffer);
    tcase_add_test(tc, map_hint_then_strict_unmap);
    tcase_add_test(tc, map_hint_dropped_and_off);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
