/* Set-associative cache: hits, exact victim order per policy, invalid ways
 * first, disabled caches, invalidation, configuration errors. */
#include <check.h>
#include "ims_check.h"
#include <string.h>

#include "iommusim/cache.h"

static struct ims_cache *mk(unsigned repl, uint32_t ways, uint64_t seed)
{
    struct ims_cache_cfg cfg = {.sets = 1, .ways = ways, .repl = (uint8_t)repl, .seed = seed};
    struct ims_cache *c = ims_cache_create(&cfg);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Inserts tag t; returns the evicted tag, or -1 if nothing was evicted. */
static long ins(struct ims_cache *c, uint64_t t)
{
    struct ims_cache_entry v;
    v.valid = 0;
    ck_assert_ptr_nonnull(ims_cache_insert(c, 0, t, 0, 12, &v));
    return v.valid ? (long)v.tag : -1;
}

static bool hit(struct ims_cache *c, uint64_t t) { return ims_cache_lookup(c, 0, t, 0, 12) != NULL; }

/* Fill A..D (tags 1..4), hit A, then insert E, F: victims per policy.
 * LRU: B then C. PLRU (4-way tree): C then B. FIFO (hits ignored): A then B. */
START_TEST(victims_lru)
{
    struct ims_cache *c = mk(IMS_REPL_LRU, 4, 1);
    for (uint64_t t = 1; t <= 4; t++)
        ck_assert_int_eq(ins(c, t), -1);
    ck_assert(hit(c, 1));
    ck_assert_int_eq(ins(c, 5), 2);
    ck_assert_int_eq(ins(c, 6), 3);
    ck_assert(hit(c, 1) && hit(c, 4) && hit(c, 5) && hit(c, 6) && !hit(c, 2));
    ims_cache_destroy(c);
}
END_TEST

START_TEST(victims_plru)
{
    struct ims_cache *c = mk(IMS_REPL_PLRU, 4, 1);
    for (uint64_t t = 1; t <= 4; t++)
        ck_assert_int_eq(ins(c, t), -1);
    ck_assert(hit(c, 1));
    ck_assert_int_eq(ins(c, 5), 3);
    ck_assert_int_eq(ins(c, 6), 2);
    ims_cache_destroy(c);
}
END_TEST

START_TEST(victims_fifo)
{
    struct ims_cache *c = mk(IMS_REPL_FIFO, 4, 1);
    for (uint64_t t = 1; t <= 4; t++)
        ck_assert_int_eq(ins(c, t), -1);
    ck_assert(hit(c, 1));
    ck_assert_int_eq(ins(c, 5), 1);
    ck_assert_int_eq(ins(c, 6), 2);
    ims_cache_destroy(c);
}
END_TEST

/* PLRU with 8 ways after filling 0..7 in order: the tree points at way 0;
 * touching ways 0, 4, 2, 6 (in that order) moves the victim to way 1. */
START_TEST(victims_plru8)
{
    struct ims_cache *c = mk(IMS_REPL_PLRU, 8, 1);
    for (uint64_t t = 10; t < 18; t++)
        ins(c, t); /* tag 10+w lands in way w */
    ck_assert(hit(c, 10) && hit(c, 14) && hit(c, 12) && hit(c, 16));
    ck_assert_int_eq(ins(c, 99), 11);
    ims_cache_destroy(c);
}
END_TEST

/* Random: the same seed gives the same victim sequence; another seed a
 * different one; victims are spread over several ways. */
START_TEST(victims_random)
{
    long a[64], b[64], d[64];
    struct ims_cache *c1 = mk(IMS_REPL_RANDOM, 8, 42), *c2 = mk(IMS_REPL_RANDOM, 8, 42), *c3 = mk(IMS_REPL_RANDOM, 8, 7);
    for (int i = 0; i < 64 + 8; i++) {
        long x = ins(c1, 100 + i), y = ins(c2, 100 + i), z = ins(c3, 100 + i);
        if (i >= 8) {
            a[i - 8] = x;
            b[i - 8] = y;
            d[i - 8] = z;
        }
    }
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(memcmp(a, d, sizeof a) != 0);
    int distinct_gaps = 0;
    for (int i = 1; i < 64; i++)
        distinct_gaps += a[i] != a[i - 1] + 1; /* not plain round robin */
    ck_assert_int_gt(distinct_gaps, 8);
    ims_cache_destroy(c1);
    ims_cache_destroy(c2);
    ims_cache_destroy(c3);
}
END_TEST

/* Every policy: after one entry is invalidated, the next insert takes that
 * way and evicts nothing. */
static bool pred_tag3(const struct ims_cache_entry *e, void *arg)
{
    (void)arg;
    return e->tag == 3;
}
START_TEST(invalid_first)
{
    struct ims_cache *c = mk((unsigned)_i, 4, 5);
    for (uint64_t t = 1; t <= 4; t++)
        ins(c, t);
    ck_assert_uint_eq(ims_cache_invalidate_if(c, pred_tag3, NULL), 1);
    ck_assert_int_eq(ins(c, 9), -1);
    ck_assert_uint_eq(ims_cache_count(c), 4);
    ck_assert_uint_eq(ims_cache_stats(c)->evictions, 0);
    ck_assert_uint_eq(ims_cache_stats(c)->invalidated, 1);
    ims_cache_destroy(c);
}
END_TEST

/* Tag, dom and shift all take part in the match; stats count lookups. */
START_TEST(match_fields)
{
    struct ims_cache_cfg cfg = {.sets = 4, .ways = 2, .repl = IMS_REPL_LRU};
    struct ims_cache *c = ims_cache_create(&cfg);
    struct ims_cache_entry *e = ims_cache_insert(c, 1, 7, 3, 12, NULL);
    e->data = 0xabc000;
    ck_assert_ptr_null(ims_cache_lookup(c, 1, 7, 4, 12));
    ck_assert_ptr_null(ims_cache_lookup(c, 1, 7, 3, 21));
    ck_assert_ptr_null(ims_cache_lookup(c, 2, 7, 3, 12));
    e = ims_cache_lookup(c, 1, 7, 3, 12);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->data, 0xabc000);
    const struct ims_cache_stats *st = ims_cache_stats(c);
    ck_assert_uint_eq(st->lookups, 4);
    ck_assert_uint_eq(st->hits, 1);
    ck_assert_uint_eq(st->misses, 3);
    ck_assert_ptr_nonnull(ims_cache_probe(c, 1, 7, 3, 12));
    ck_assert_uint_eq(st->lookups, 4); /* probe does not count */
    ck_assert_uint_eq(ims_cache_invalidate_all(c), 1);
    ck_assert_uint_eq(ims_cache_count(c), 0);
    ims_cache_destroy(c);
}
END_TEST

/* sets = 0 or ways = 0: lookups miss, inserts return NULL. */
START_TEST(disabled)
{
    struct ims_cache_cfg cfg = {.sets = 0, .ways = 4};
    struct ims_cache *c = ims_cache_create(&cfg);
    ck_assert(!ims_cache_enabled(c));
    ck_assert_ptr_null(ims_cache_insert(c, 0, 1, 0, 0, NULL));
    ck_assert_ptr_null(ims_cache_lookup(c, 0, 1, 0, 0));
    ck_assert_uint_eq(ims_cache_count(c), 0);
    ims_cache_destroy(c);
}
END_TEST

/* Every registered policy (loop over IMS_REPL_LIST): its name round-trips
 * through the name table and appears in the known-names list; a 2-set 4-way
 * cache with it works: four fills evict nothing, each later fill of set 0
 * evicts exactly one of the set's entries and the new entry hits at once,
 * set 1 is untouched, and the counts add up. */
static bool tags_has(const uint64_t *tags, size_t n, uint64_t t)
{
    for (size_t i = 0; i < n; i++)
        if (tags[i] == t)
            return true;
    return false;
}
START_TEST(every_policy_registered)
{
    const char *name = ims_repl_name((enum ims_repl)_i);
    ck_assert_str_ne(name, "unknown");
    ck_assert_int_eq(ims_repl_from_name(name), _i);
    ck_assert_msg(strstr(ims_repl_known(), name) != NULL, "%s not in '%s'", name, ims_repl_known());
    struct ims_cache_cfg cfg = {.sets = 2, .ways = 4, .repl = (uint8_t)_i, .seed = 3};
    char err[128];
    ck_assert_msg(ims_cache_cfg_check(&cfg, name, err, sizeof err) == 0, "%s", err);
    struct ims_cache *c = ims_cache_create(&cfg);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(ims_cache_insert(c, 1, 1000, 0, 12, NULL));
    uint64_t in_set[4];
    for (uint64_t t = 1; t <= 4; t++) {
        ck_assert_int_eq(ins(c, t), -1);
        in_set[t - 1] = t;
    }
    for (uint64_t t = 1; t <= 4; t++)
        ck_assert(hit(c, t));
    for (uint64_t t = 5; t <= 20; t++) {
        long v = ins(c, t);
        ck_assert_msg(v >= 0 && tags_has(in_set, 4, (uint64_t)v), "%s: fill %lu evicted %ld", name,
                      (unsigned long)t, v);
        for (size_t i = 0; i < 4; i++)
            if (in_set[i] == (uint64_t)v)
                in_set[i] = t;
        ck_assert(hit(c, t));
        if (t % 3 == 0)
            ck_assert(hit(c, in_set[t % 4])); /* hits in between, for policies that track them */
    }
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(hit(c, in_set[i]), "%s: tag %lu lost", name, (unsigned long)in_set[i]);
    ck_assert_ptr_nonnull(ims_cache_lookup(c, 1, 1000, 0, 12));
    ck_assert_uint_eq(ims_cache_count(c), 5);
    ck_assert_uint_eq(ims_cache_stats(c)->evictions, 16);
    ck_assert_uint_eq(ims_cache_stats(c)->fills, 21);
    ims_cache_destroy(c);
}
END_TEST

/* Names outside the table are rejected; values outside it have no name. */
START_TEST(unknown_policy_names)
{
    ck_assert_int_eq(ims_repl_from_name("bogus"), -1);
    ck_assert_int_eq(ims_repl_from_name(""), -1);
    ck_assert_int_eq(ims_repl_from_name("LRU"), -1);
    ck_assert_int_eq(ims_repl_from_name(NULL), -1);
    ck_assert_str_eq(ims_repl_name(IMS_REPL_COUNT), "unknown");
    size_t commas = 0;
    for (const char *p = ims_repl_known(); *p; p++)
        commas += *p == ',';
    ck_assert_uint_eq(commas, IMS_REPL_COUNT - 1); /* one name per policy */
    char err[128];
    struct ims_cache_cfg cfg = {.sets = 4, .ways = 4, .repl = IMS_REPL_COUNT};
    ck_assert_int_eq(ims_cache_cfg_check(&cfg, "iotlb", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "iotlb: repl"));
    ck_assert_ptr_null(ims_cache_create(&cfg));
}
END_TEST

/* Bad geometry is rejected naming the field and the owner. */
START_TEST(cfg_errors)
{
    char err[128];
    struct ims_cache_cfg cfg = {.sets = 3, .ways = 4};
    ck_assert_int_eq(ims_cache_cfg_check(&cfg, "iotlb", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "iotlb: sets"));
    cfg = (struct ims_cache_cfg){.sets = 4, .ways = 65537};
    ck_assert_int_eq(ims_cache_cfg_check(&cfg, "iotlb", err, sizeof err), -1);
    cfg = (struct ims_cache_cfg){.sets = 4, .ways = 6, .repl = IMS_REPL_PLRU};
    ck_assert_int_eq(ims_cache_cfg_check(&cfg, "psc", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "plru"));
    cfg.repl = IMS_REPL_LRU;
    ck_assert_int_eq(ims_cache_cfg_check(&cfg, "psc", err, sizeof err), 0);
    ck_assert_int_eq(ims_repl_from_name("plru"), IMS_REPL_PLRU);
    ck_assert_int_eq(ims_repl_from_name("bogus"), -1);
    ck_assert_str_eq(ims_repl_name(IMS_REPL_RANDOM), "random");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, victims_lru);
    tcase_add_test(tc, victims_plru);
    tcase_add_test(tc, victims_fifo);
    tcase_add_test(tc, victims_plru8);
    tcase_add_test(tc, victims_random);
    tcase_add_loop_test(tc, invalid_first, 0, IMS_REPL_COUNT);
    tcase_add_test(tc, match_fields);
    tcase_add_test(tc, disabled);
    tcase_add_test(tc, cfg_errors);
    tcase_add_loop_test(tc, every_policy_registered, 0, IMS_REPL_COUNT);
    tcase_add_test(tc, unknown_policy_names);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
