/* Wide caches (more ways than IMS_CACHE_WIDE_WAYS, up to fully associative
 * 4096-entry ones): every policy against an exact reference model of the
 * cache written here (ways in order, invalid ways first, each policy's
 * victim rule), over random lookups, fills and invalidations. The wide
 * cache finds entries through its tag index instead of scanning the ways,
 * so a fault in the index (a lost entry, a stale one) shows as a hit or
 * miss the reference disagrees with, or a different victim. */
#include <check.h>
#include "ims_check.h"
#include <stdlib.h>
#include <string.h>

#include "iommusim/cache.h"

#define REF_MAX_WAYS 4096

/* The reference: one set of `ways` ways. */
struct ref {
    unsigned repl, ways;
    uint64_t tag[REF_MAX_WAYS];
    bool valid[REF_MAX_WAYS];
    uint64_t stamp[REF_MAX_WAYS]; /* LRU: last use; FIFO: fill */
    uint64_t clock;
    bool node[2 * REF_MAX_WAYS]; /* PLRU: node n points right when true */
    uint64_t rng;                /* random: xorshift64 */
};

static void ref_init(struct ref *r, unsigned repl, unsigned ways, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->repl = repl;
    r->ways = ways;
    r->rng = seed ? seed : UINT64_C(0x9e3779b97f4a7c15);
}

static void ref_use(struct ref *r, unsigned w, bool fill)
{
    if (r->repl == IMS_REPL_LRU || (r->repl == IMS_REPL_FIFO && fill))
        r->stamp[w] = ++r->clock;
    if (r->repl == IMS_REPL_PLRU)
        for (unsigned n = r->ways + w; n > 1; n >>= 1)
            r->node[n >> 1] = !(n & 1); /* used left: point right */
}

static int ref_find(const struct ref *r, uint64_t t)
{
    for (unsigned w = 0; w < r->ways; w++)
        if (r->valid[w] && r->tag[w] == t)
            return (int)w;
    return -1;
}

static bool ref_lookup(struct ref *r, uint64_t t)
{
    int w = ref_find(r, t);
    if (w >= 0)
        ref_use(r, (unsigned)w, false);
    return w >= 0;
}

static unsigned ref_victim(struct ref *r)
{
    if (r->repl == IMS_REPL_PLRU) {
        unsigned n = 1;
        while (n < r->ways)
            n = 2 * n + r->node[n];
        return n - r->ways;
    }
    if (r->repl == IMS_REPL_RANDOM) {
        uint64_t x = r->rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r->rng = x;
        return (unsigned)(x % r->ways);
    }
    unsigned v = 0;
    for (unsigned w = 1; w < r->ways; w++)
        if (r->stamp[w] < r->stamp[v])
            v = w;
    return v;
}

/* Inserts t; returns the evicted tag or -1. */
static long ref_insert(struct ref *r, uint64_t t)
{
    int w = ref_find(r, t);
    if (w >= 0) {
        ref_use(r, (unsigned)w, true);
        return -1;
    }
    long out = -1;
    for (unsigned i = 0; i < r->ways && w < 0; i++)
        if (!r->valid[i])
            w = (int)i;
    if (w < 0) {
        w = (int)ref_victim(r);
        out = (long)r->tag[w];
    }
    r->tag[w] = t;
    r->valid[w] = true;
    ref_use(r, (unsigned)w, true);
    return out;
}

static bool pred_mod(const struct ims_cache_entry *e, void *arg)
{
    const uint64_t *m = arg;
    return e->tag % m[0] == m[1];
}

static unsigned ref_invalidate_mod(struct ref *r, uint64_t mod, uint64_t rem)
{
    unsigned n = 0;
    for (unsigned w = 0; w < r->ways; w++)
        if (r->valid[w] && r->tag[w] % mod == rem) {
            r->valid[w] = false;
            n++;
        }
    return n;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One run: `ways` ways (one set), tags from a pool of 3 x ways so that
 * there are hits, refills and evictions; every 97th step an invalidation of
 * the tags of one residue mod 7 (through the set-wise call and the whole-
 * cache call in turn). Each lookup, victim and removal count must agree. */
static void run_against_ref(unsigned repl, unsigned ways, unsigned steps)
{
    static struct ref r;
    ref_init(&r, repl, ways, 5);
    struct ims_cache_cfg cfg = {.sets = 1, .ways = ways, .repl = (uint8_t)repl, .seed = 5};
    struct ims_cache *c = ims_cache_create(&cfg);
    ck_assert_ptr_nonnull(c);
    uint64_t s = 0x1234567 + ways + repl;
    const uint64_t pool = 3u * ways;
    for (unsigned i = 0; i < steps; i++) {
        const uint64_t t = 1 + rnd(&s) % pool;
        if (i % 97 == 96) {
            uint64_t m[2] = {7, t % 7};
            size_t got =
                (i / 97) % 2 ? ims_cache_invalidate_if(c, pred_mod, m) : ims_cache_invalidate_set_if(c, 0, pred_mod, m);
            ck_assert_uint_eq(got, ref_invalidate_mod(&r, 7, t % 7));
            continue;
        }
        const bool want = ref_lookup(&r, t);
        const bool got = ims_cache_lookup(c, 0, t, 0, 12) != NULL;
        ck_assert_msg(got == want, "%s %u ways, step %u: tag %llu hit %d, reference %d", ims_repl_name(repl), ways, i,
                      (unsigned long long)t, got, want);
        if (!got) {
            struct ims_cache_entry v;
            v.valid = 0;
            ck_assert_ptr_nonnull(ims_cache_insert(c, 0, t, 0, 12, &v));
            const long want_v = ref_insert(&r, t);
            ck_assert_msg((v.valid ? (long)v.tag : -1) == want_v, "%s %u ways, step %u: evicted %ld, reference %ld",
                          ims_repl_name(repl), ways, i, v.valid ? (long)v.tag : -1L, want_v);
        }
    }
    size_t valid = 0;
    for (unsigned w = 0; w < ways; w++)
        valid += r.valid[w];
    ck_assert_uint_eq(ims_cache_count(c), valid);
    ims_cache_destroy(c);
}

/* 128 ways (just wide) and a fully associative 4096-entry cache, every policy. */
START_TEST(wide_128_matches_reference)
{
    run_against_ref((unsigned)_i, 128, 20000);
}
END_TEST

START_TEST(fully_associative_4096_matches_reference)
{
    run_against_ref((unsigned)_i, 4096, 20000);
}
END_TEST

/* 64 ways (the widest set that is scanned, not indexed) agrees too: the
 * reference is the same model either side of the boundary. */
START_TEST(narrow_64_matches_reference)
{
    run_against_ref((unsigned)_i, 64, 10000);
}
END_TEST

/* A wide cache of several sets keeps entries of different sets apart: the
 * same tag in two sets is two entries, and removing one leaves the other. */
START_TEST(wide_sets_are_separate)
{
    struct ims_cache_cfg cfg = {.sets = 4, .ways = 256, .repl = IMS_REPL_LRU, .seed = 1};
    struct ims_cache *c = ims_cache_create(&cfg);
    ck_assert_ptr_nonnull(c);
    for (uint32_t set = 0; set < 4; set++)
        for (uint64_t t = 0; t < 256; t++)
            ck_assert_ptr_nonnull(ims_cache_insert(c, set, t, 0, 12, NULL));
    ck_assert_uint_eq(ims_cache_count(c), 1024);
    uint64_t m[2] = {1, 0}; /* every tag */
    ck_assert_uint_eq(ims_cache_invalidate_set_if(c, 2, pred_mod, m), 256);
    for (uint64_t t = 0; t < 256; t++) {
        ck_assert_ptr_nonnull(ims_cache_lookup(c, 1, t, 0, 12));
        ck_assert_ptr_null(ims_cache_lookup(c, 2, t, 0, 12));
    }
    ck_assert_uint_eq(ims_cache_stats(c)->evictions, 0);
    ims_cache_destroy(c);
}
END_TEST

/* The geometry bounds: IMS_CACHE_MAX_WAYS ways in one set is accepted, one
 * more is not, nor more than IMS_CACHE_MAX_ENTRIES entries in all. */
START_TEST(wide_bounds)
{
    char err[128];
    struct ims_cache_cfg cfg = {.sets = 1, .ways = IMS_CACHE_MAX_WAYS, .repl = IMS_REPL_PLRU};
    ck_assert_msg(ims_cache_cfg_check(&cfg, "iotlb", err, sizeof err) == 0, "%s", err);
    cfg.ways = IMS_CACHE_MAX_WAYS + 1;
    ck_assert_int_eq(ims_cache_cfg_check(&cfg, "iotlb", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "iotlb: ways (65537) must be 1..65536 or 0"));
    cfg = (struct ims_cache_cfg){.sets = 1u << 11, .ways = 1u << 16, .repl = IMS_REPL_LRU};
    ck_assert_int_eq(ims_cache_cfg_check(&cfg, "iotlb", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "iotlb: sets x ways (2048 x 65536) must be at most"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache_wide");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, narrow_64_matches_reference, 0, IMS_REPL_COUNT);
    tcase_add_loop_test(tc, wide_128_matches_reference, 0, IMS_REPL_COUNT);
    tcase_add_loop_test(tc, fully_associative_4096_matches_reference, 0, IMS_REPL_COUNT);
    tcase_add_test(tc, wide_sets_are_separate);
    tcase_add_test(tc, wide_bounds);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
