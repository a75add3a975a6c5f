/* Miss classification (cfg.classify / stats.miss_classes): hand-built
 * reference sequences on small caches where each miss's class is known
 * (compulsory, conflict, capacity, invalidation), for the generic cache and
 * for every cache kind of the IOMMU (IOTLB, context cache, paging-structure
 * cache), the per-domain and per-device rows, and a random cross-check of
 * the classifier against the reference model written here. */
#include <check.h>
#include "ims_check.h"
#include <string.h>

#include "core_fx.h"
#include "iommusim/cache.h"

enum {
    HIT = -1,
    COMP = IMS_MISS_COMPULSORY,
    INV = IMS_MISS_INVALIDATION,
    CAP = IMS_MISS_CAPACITY,
    CONF = IMS_MISS_CONFLICT
};

static struct ims_cache *mkc(uint32_t sets, uint32_t ways, unsigned repl)
{
    struct ims_cache_cfg cfg = {.sets = sets, .ways = ways, .repl = (uint8_t)repl, .seed = 7, .classify = true};
    struct ims_cache *c = ims_cache_create(&cfg);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* The class a stats change shows (exactly one class counted once), or HIT
 * when none changed. */
static int class_delta(const uint64_t *before, const uint64_t *after)
{
    int k = HIT;
    for (int i = 0; i < IMS_MISS_CLASSES; i++) {
        ck_assert_uint_le(after[i] - before[i], 1);
        if (after[i] != before[i]) {
            ck_assert_int_eq(k, HIT);
            k = i;
        }
    }
    return k;
}

/* One reference: a lookup, and on a miss a fill. The miss's class, or HIT. */
static int ref(struct ims_cache *c, uint32_t set, uint64_t tag)
{
    uint64_t before[IMS_MISS_CLASSES];
    memcpy(before, ims_cache_stats(c)->miss_class, sizeof before);
    if (!ims_cache_lookup(c, set, tag, 0, 12))
        ck_assert_ptr_nonnull(ims_cache_insert(c, set, tag, 0, 12, NULL));
    return class_delta(before, ims_cache_stats(c)->miss_class);
}

static bool pred_tag(const struct ims_cache_entry *e, void *arg)
{
    return e->tag == *(const uint64_t *)arg;
}

static void sums_hold(const struct ims_cache *c)
{
    const struct ims_cache_stats *s = ims_cache_stats(c);
    uint64_t sum = 0;
    for (int i = 0; i < IMS_MISS_CLASSES; i++)
        sum += s->miss_class[i];
    ck_assert_uint_eq(sum, s->misses);
}

/* 2 sets x 1 way; A and B both in set 0, so each evicts the other: A, B
 * are compulsory; A again is a conflict miss (a fully associative cache of
 * 2 entries holds both), and so is B. */
START_TEST(conflict_in_one_set)
{
    struct ims_cache *c = mkc(2, 1, IMS_REPL_LRU);
    ck_assert_int_eq(ref(c, 0, 1), COMP);
    ck_assert_int_eq(ref(c, 0, 2), COMP);
    ck_assert_int_eq(ref(c, 0, 1), CONF);
    ck_assert_int_eq(ref(c, 0, 2), CONF);
    ck_assert_int_eq(ref(c, 1, 3), COMP); /* the other set: fills it, no conflict */
    ck_assert_int_eq(ref(c, 1, 3), HIT);
    sums_hold(c);
    ims_cache_destroy(c);
}
END_TEST

/* Fully associative, 2 entries: a working set of 3 cycled is capacity
 * misses after the first touches. */
START_TEST(capacity_working_set)
{
    struct ims_cache *c = mkc(1, 2, IMS_REPL_LRU);
    ck_assert_int_eq(ref(c, 0, 1), COMP);
    ck_assert_int_eq(ref(c, 0, 2), COMP);
    ck_assert_int_eq(ref(c, 0, 3), COMP);
    for (int round = 0; round < 3; round++)
        for (uint64_t t = 1; t <= 3; t++)
            ck_assert_int_eq(ref(c, 0, t), CAP);
    sums_hold(c);
    ims_cache_destroy(c);
}
END_TEST

/* A key invalidated and referenced again (before any refill) is an
 * invalidation miss; refilled, then replaced, it is no longer one. */
START_TEST(invalidated_then_referenced)
{
    struct ims_cache *c = mkc(1, 2, IMS_REPL_LRU);
    uint64_t a = 1;
    ck_assert_int_eq(ref(c, 0, 1), COMP);
    ck_assert_uint_eq(ims_cache_invalidate_if(c, pred_tag, &a), 1);
    ck_assert_int_eq(ref(c, 0, 1), INV);
    ck_assert_int_eq(ref(c, 0, 1), HIT);
    ck_assert_uint_eq(ims_cache_invalidate_set_if(c, 0, pred_tag, &a), 1); /* the set-wise form */
    ck_assert_int_eq(ref(c, 0, 1), INV);
    ck_assert_int_eq(ref(c, 0, 2), COMP);
    ck_assert_int_eq(ref(c, 0, 3), COMP); /* evicts 1 (least recently used) */
    ck_assert_int_eq(ref(c, 0, 1), CAP);  /* its last copy left by replacement */
    ck_assert_uint_eq(ims_cache_invalidate_all(c), 2);
    ck_assert_int_eq(ref(c, 0, 3), INV);
    ck_assert_int_eq(ref(c, 0, 1), INV);
    sums_hold(c);
    ims_cache_destroy(c);
}
END_TEST

/* The shadow gets the invalidations too: A evicted by B (2 sets x 1 way,
 * the same set) would be a conflict miss (conflict_in_one_set); an
 * invalidation of A while only the shadow holds it takes it out of the
 * shadow as well, so A's next miss is capacity, and still not an
 * invalidation miss (its last copy left by replacement). */
START_TEST(shadow_gets_invalidations)
{
    for (int whole = 0; whole < 2; whole++) {
        struct ims_cache *c = mkc(2, 1, IMS_REPL_LRU);
        uint64_t a = 1;
        ck_assert_int_eq(ref(c, 0, 1), COMP);
        ck_assert_int_eq(ref(c, 0, 2), COMP);
        ck_assert_uint_eq(whole ? ims_cache_invalidate_if(c, pred_tag, &a)
                                : ims_cache_invalidate_set_if(c, 0, pred_tag, &a),
                          0); /* not in the cache */
        ck_assert_int_eq(ref(c, 0, 1), CAP);
        ck_assert_int_eq(ref(c, 0, 2), CONF); /* B was not invalidated: the shadow still holds it */
        sums_hold(c);
        ims_cache_destroy(c);
    }
}
END_TEST

/* Classification changes nothing the cache does: the same sequence with
 * and without it gives the same hits, victims and counters. */
START_TEST(classification_changes_nothing)
{
    for (unsigned repl = 0; repl < IMS_REPL_COUNT; repl++) {
        struct ims_cache_cfg cfg = {.sets = 4, .ways = 2, .repl = (uint8_t)repl, .seed = 3};
        struct ims_cache *plain = ims_cache_create(&cfg);
        cfg.classify = true;
        struct ims_cache *cls = ims_cache_create(&cfg);
        uint64_t s = 99;
        for (int i = 0; i < 3000; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            const uint64_t t = (s >> 33) % 20;
            if (i % 41 == 40) {
                ck_assert_uint_eq(ims_cache_invalidate_if(plain, pred_tag, (void *)&t),
                                  ims_cache_invalidate_if(cls, pred_tag, (void *)&t));
                continue;
            }
            const bool h1 = ims_cache_lookup(plain, (uint32_t)(t % 4), t, 0, 12) != NULL;
            const bool h2 = ims_cache_lookup(cls, (uint32_t)(t % 4), t, 0, 12) != NULL;
            ck_assert_int_eq(h1, h2);
            if (!h1) {
                struct ims_cache_entry v1 = {0}, v2 = {0};
                ims_cache_insert(plain, (uint32_t)(t % 4), t, 0, 12, &v1);
                ims_cache_insert(cls, (uint32_t)(t % 4), t, 0, 12, &v2);
                ck_assert(v1.valid == v2.valid && v1.tag == v2.tag);
            }
        }
        const struct ims_cache_stats *a = ims_cache_stats(plain), *b = ims_cache_stats(cls);
        ck_assert(a->lookups == b->lookups && a->hits == b->hits && a->misses == b->misses && a->fills == b->fills &&
                  a->evictions == b->evictions && a->invalidated == b->invalidated);
        ims_cache_destroy(plain);
        ims_cache_destroy(cls);
    }
}
END_TEST

/* ---- The reference model for the random cross-check ----
 * Keys are small tags. state: 0 never cached, 1 in the cache, 2 evicted,
 * 3 invalidated. The shadow is an array in LRU order (index 0 the least
 * recently used), of the cache's entries. */
#define RM_KEYS 300
struct rm {
    int state[RM_KEYS];
    int shadow[4096];
    unsigned n, cap;
};

static int rm_pos(const struct rm *m, int k)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->shadow[i] == k)
            return (int)i;
    return -1;
}

static void rm_drop(struct rm *m, int k)
{
    int p = rm_pos(m, k);
    if (p < 0)
        return;
    memmove(&m->shadow[p], &m->shadow[p + 1], (m->n - (unsigned)p - 1) * sizeof m->shadow[0]);
    m->n--;
}

static void rm_touch(struct rm *m, int k)
{
    rm_drop(m, k);
    if (m->n == m->cap)
        rm_drop(m, m->shadow[0]);
    m->shadow[m->n++] = k;
}

static int rm_class(const struct rm *m, int k)
{
    if (m->state[k] == 0)
        return COMP;
    if (m->state[k] == 3)
        return INV;
    return rm_pos(m, k) >= 0 ? CONF : CAP;
}

static bool pred_mod(const struct ims_cache_entry *e, void *arg)
{
    const uint64_t *mr = arg;
    return e->tag % mr[0] == mr[1];
}

/* Random lookups, fills and invalidations (whole-cache and set-wise, by a
 * residue of the tag) on geometry _i: each miss's class must be the
 * reference model's, fed the cache's own hits and victims. */
static const struct {
    uint32_t sets, ways;
    unsigned repl;
} geo[] = {
    {4, 2, IMS_REPL_LRU}, {2, 4, IMS_REPL_PLRU}, {8, 1, IMS_REPL_FIFO}, {4, 4, IMS_REPL_RANDOM}, {1, 128, IMS_REPL_LRU},
};

START_TEST(random_cross_check)
{
    const uint32_t sets = geo[_i].sets, ways = geo[_i].ways;
    struct ims_cache *c = mkc(sets, ways, geo[_i].repl);
    static struct rm m;
    memset(&m, 0, sizeof m);
    m.cap = sets * ways;
    const unsigned keys = sets * ways * 2 + 3 < RM_KEYS ? sets * ways * 2 + 3 : RM_KEYS;
    uint64_t s = 12345 + (uint64_t)_i;
    unsigned counted[IMS_MISS_CLASSES] = {0};
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        const int k = (int)(s % keys);
        const uint32_t set = (uint32_t)k % sets;
        if (i % 23 == 22) {
            uint64_t mr[2] = {5, (uint64_t)k % 5};
            const bool setwise = (i / 23) % 2;
            size_t want = 0;
            for (int j = 0; j < (int)keys; j++) {
                if ((uint64_t)j % 5 != mr[1] || (setwise && (uint32_t)j % sets != set))
                    continue;
                if (m.state[j] == 1) {
                    m.state[j] = 3;
                    rm_drop(&m, j);
                    want++;
                } else if (m.state[j] == 2) {
                    rm_drop(&m, j);
                }
            }
            size_t got =
                setwise ? ims_cache_invalidate_set_if(c, set, pred_mod, mr) : ims_cache_invalidate_if(c, pred_mod, mr);
            ck_assert_uint_eq(got, want);
            continue;
        }
        uint64_t before[IMS_MISS_CLASSES];
        memcpy(before, ims_cache_stats(c)->miss_class, sizeof before);
        if (ims_cache_lookup(c, set, (uint64_t)k, 0, 12)) {
            ck_assert_int_eq(m.state[k], 1);
            ck_assert_int_eq(class_delta(before, ims_cache_stats(c)->miss_class), HIT);
            rm_touch(&m, k);
            continue;
        }
        const int want = rm_class(&m, k);
        const int got = class_delta(before, ims_cache_stats(c)->miss_class);
        ck_assert_msg(got == want, "geometry %d, step %d, key %d: class %d, reference %d", _i, i, k, got, want);
        counted[got]++;
        struct ims_cache_entry v = {0};
        ck_assert_ptr_nonnull(ims_cache_insert(c, set, (uint64_t)k, 0, 12, &v));
        if (v.valid)
            m.state[v.tag] = 2;
        m.state[k] = 1;
        rm_touch(&m, k);
    }
    sums_hold(c);
    for (int i = 0; i < IMS_MISS_CLASSES; i++) /* the sequence exercises every class */
        ck_assert_msg(counted[i] > 0 || (i == CONF && sets == 1), "geometry %d: no %s misses", _i,
                      ims_miss_class_name((unsigned)i));
    ims_cache_destroy(c);
}
END_TEST

/* ---- Every cache kind of the IOMMU ---- */

#define RID_A 0x0300
#define RID_B 0x0302 /* the same context-cache set as RID_A in 2 sets */

static void open_classifying(struct fx *f, struct ims_iommu_cfg *cfg)
{
    cfg->miss_classes = true;
    fx_open(f, cfg);
    ck_assert_int_eq(ims_tb_domain_create(f->tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, RID_A, 1, IMS_TT_UNTRANSLATED, false), 0);
    ck_assert_int_eq(ims_tb_attach(f->tb, RID_B, 1, IMS_TT_UNTRANSLATED, false), 0);
}

static const uint64_t *iotlb_classes(struct fx *f)
{
    return ims_iommu_stats(f->mmu)->iotlb.miss_class;
}

/* The class of one translation's IOTLB miss, or HIT. */
static int xl(struct fx *f, uint16_t rid, uint64_t iova, const uint64_t *(*classes)(struct fx *))
{
    uint64_t before[IMS_MISS_CLASSES];
    memcpy(before, classes(f), sizeof before);
    struct ims_xlate x;
    fx_xlate(f, rid, iova, IMS_PERM_R, &x);
    return class_delta(before, classes(f));
}

/* IOTLB of 2 sets x 1 way: pages 0x100 and 0x102 share a set (the IOTLB's
 * set hash keeps bit 0 of the page number). */
START_TEST(iotlb_classes_and_rows)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.iotlb = (struct ims_cache_cfg){.sets = 2, .ways = 1, .repl = IMS_REPL_LRU, .seed = 1};
    struct fx f;
    open_classifying(&f, &cfg);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x100000, 0x500000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x102000, 0x502000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(xl(&f, RID_A, 0x100000, iotlb_classes), COMP);
    ck_assert_int_eq(xl(&f, RID_A, 0x102000, iotlb_classes), COMP);
    ck_assert_int_eq(xl(&f, RID_A, 0x100000, iotlb_classes), CONF);
    ck_assert_int_eq(xl(&f, RID_B, 0x100000, iotlb_classes), HIT);
    /* 0x102000 is only in the shadow now: its page invalidation reaches it there. */
    ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x102000, 0, false);
    ck_assert_int_eq(xl(&f, RID_A, 0x102000, iotlb_classes), CAP);
    /* 0x102000 is in the cache: invalidated, then looked up. */
    ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x102000, 0, false);
    ck_assert_int_eq(xl(&f, RID_B, 0x102000, iotlb_classes), INV);
    ims_inv_iotlb(f.mmu, IMS_INV_DOMAIN, 1, 0, 0, false);
    ck_assert_int_eq(xl(&f, RID_B, 0x102000, iotlb_classes), INV);
    /* A page never mapped: the walk faults and fills nothing, every time compulsory. */
    ck_assert_int_eq(xl(&f, RID_A, 0x7000000, iotlb_classes), COMP);
    ck_assert_int_eq(xl(&f, RID_A, 0x7000000, iotlb_classes), COMP);
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    uint64_t sum = 0;
    for (int i = 0; i < IMS_MISS_CLASSES; i++)
        sum += st->iotlb.miss_class[i];
    ck_assert_uint_eq(sum, st->iotlb.misses);
    ck_assert_uint_eq(st->iotlb.misses, 8);
    /* Rows: one domain, two devices, in order of first lookup. */
    ck_assert_uint_eq(st->n_did, 1);
    ck_assert_uint_eq(st->by_did[0].id, 1);
    ck_assert_uint_eq(st->by_did[0].lookups, st->iotlb.lookups);
    ck_assert_uint_eq(st->by_did[0].misses, 8);
    for (int i = 0; i < IMS_MISS_CLASSES; i++)
        ck_assert_uint_eq(st->by_did[0].miss_class[i], st->iotlb.miss_class[i]);
    ck_assert_uint_eq(st->n_rid, 2);
    ck_assert_uint_eq(st->by_rid[0].id, RID_A);
    ck_assert_uint_eq(st->by_rid[1].id, RID_B);
    ck_assert_uint_eq(st->by_rid[0].lookups, 6);
    ck_assert_uint_eq(st->by_rid[0].misses, 6);
    ck_assert_uint_eq(st->by_rid[0].miss_class[IMS_MISS_COMPULSORY], 4);
    ck_assert_uint_eq(st->by_rid[0].miss_class[IMS_MISS_CONFLICT], 1);
    ck_assert_uint_eq(st->by_rid[0].miss_class[IMS_MISS_CAPACITY], 1);
    ck_assert_uint_eq(st->by_rid[1].lookups, 3);
    ck_assert_uint_eq(st->by_rid[1].hits, 1);
    ck_assert_uint_eq(st->by_rid[1].miss_class[IMS_MISS_INVALIDATION], 2);
    /* Rows subtract as the stats do (warm-up). */
    struct ims_stats d;
    ims_stats_sub(&d, st, st);
    ck_assert_uint_eq(d.by_rid[1].lookups, 0);
    ck_assert_uint_eq(d.by_rid[1].id, RID_B);
    fx_close(&f);
}
END_TEST

static const uint64_t *ctx_classes(struct fx *f)
{
    return ims_iommu_stats(f->mmu)->ctx_cache.miss_class;
}

/* Context cache of 2 sets x 1 way: RID_A and RID_B share a set. A
 * device-selective invalidation of RID_A while only the shadow holds it
 * (its domain is in the entry's payload, which the shadow keeps). */
START_TEST(ctx_cache_classes)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.ctx_cache = (struct ims_cache_cfg){.sets = 2, .ways = 1, .repl = IMS_REPL_LRU, .seed = 1};
    struct fx f;
    open_classifying(&f, &cfg);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x100000, 0x500000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(xl(&f, RID_A, 0x100000, ctx_classes), COMP);
    ck_assert_int_eq(xl(&f, RID_B, 0x100000, ctx_classes), COMP);
    ck_assert_int_eq(xl(&f, RID_A, 0x100000, ctx_classes), CONF);
    ck_assert_int_eq(xl(&f, RID_A, 0x100000, ctx_classes), HIT);
    ims_inv_context(f.mmu, IMS_INV_DEVICE, 1, RID_B, 0); /* RID_B: only in the shadow */
    ck_assert_int_eq(xl(&f, RID_B, 0x100000, ctx_classes), CAP);
    /* RID_B in the cache, RID_A (evicted by it) in the shadow: the domain's
     * invalidation removes both, RID_A from the shadow by its payload's domain. */
    ims_inv_context(f.mmu, IMS_INV_DOMAIN, 1, 0, 0);
    ck_assert_int_eq(xl(&f, RID_B, 0x100000, ctx_classes), INV);
    ck_assert_int_eq(xl(&f, RID_A, 0x100000, ctx_classes), CAP);
    /* RID_A in the cache, RID_B in the shadow: another domain's invalidation removes neither. */
    ims_inv_context(f.mmu, IMS_INV_DOMAIN, 2, 0, 0);
    ck_assert_int_eq(xl(&f, RID_B, 0x100000, ctx_classes), CONF);
    fx_close(&f);
}
END_TEST

static const uint64_t *pde_classes(struct fx *f)
{
    return ims_iommu_stats(f->mmu)->psc[2].miss_class;
}

/* PDE cache (level 2) of 2 sets x 1 way, the IOTLB off so that every
 * translation walks: the 2 MiB regions 0 and 2 share a set. */
START_TEST(psc_cache_classes)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.iotlb.sets = 0;
    cfg.psc[2] = (struct ims_cache_cfg){.sets = 2, .ways = 1, .repl = IMS_REPL_LRU, .seed = 1};
    struct fx f;
    open_classifying(&f, &cfg);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x000000, 0x500000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x400000, 0x502000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(xl(&f, RID_A, 0x000000, pde_classes), COMP);
    ck_assert_int_eq(xl(&f, RID_A, 0x400000, pde_classes), COMP);
    ck_assert_int_eq(xl(&f, RID_A, 0x000000, pde_classes), CONF);
    ck_assert_int_eq(xl(&f, RID_A, 0x000000, pde_classes), HIT);
    ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x000000, 0, false); /* removes the PDE entry too (ih = 0) */
    ck_assert_int_eq(xl(&f, RID_A, 0x000000, pde_classes), INV);
    ims_inv_iotlb(f.mmu, IMS_INV_PAGE, 1, 0x000000, 0, true); /* ih = 1: leaves only */
    ck_assert_int_eq(xl(&f, RID_A, 0x000000, pde_classes), HIT);
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->n_did, 0); /* the IOTLB is off: no IOTLB rows */
    fx_close(&f);
}
END_TEST

/* 300 requester ids: 256 rows of their own in order of first lookup, the
 * rest share the last row; the rows still add up to the IOTLB. */
START_TEST(rows_beyond_the_table)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    cfg.miss_classes = true;
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x100000, 0x500000, 0x1000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    for (uint16_t i = 0; i < 300; i++) {
        ck_assert_int_eq(ims_tb_attach(f.tb, (uint16_t)(0x1000 + i), 1, IMS_TT_UNTRANSLATED, false), 0);
        ck_assert_int_eq(fx_xlate(&f, (uint16_t)(0x1000 + i), 0x100000, IMS_PERM_R, &x), 0);
    }
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->n_rid, IMS_STATS_IDS);
    ck_assert_uint_eq(st->by_rid[IMS_STATS_IDS - 1].id, 0x1000 + IMS_STATS_IDS - 1);
    ck_assert(st->by_rid[IMS_STATS_IDS].used);
    ck_assert_uint_eq(st->by_rid[IMS_STATS_IDS].lookups, 300 - IMS_STATS_IDS);
    uint64_t sum = 0;
    for (unsigned r = 0; r <= IMS_STATS_IDS; r++)
        sum += st->by_rid[r].lookups;
    ck_assert_uint_eq(sum, st->iotlb.lookups);
    ck_assert_uint_eq(st->by_rid[0].miss_class[IMS_MISS_COMPULSORY], 1); /* the first lookup of the page */
    ck_assert_uint_eq(st->by_rid[1].hits, 1);
    fx_close(&f);
}
END_TEST

/* Off by default, and off means no classes counted. */
START_TEST(off_by_default)
{
    struct ims_iommu_cfg cfg;
    fx_cfg(&cfg);
    ck_assert(!cfg.miss_classes);
    struct fx f;
    fx_open(&f, &cfg);
    ck_assert_int_eq(ims_tb_domain_create(f.tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_attach(f.tb, RID_A, 1, IMS_TT_UNTRANSLATED, false), 0);
    ck_assert_int_eq(ims_tb_map(f.tb, 1, 0x100000, 0x500000, 0x1000, IMS_PERM_RW), 0);
    struct ims_xlate x;
    ck_assert_int_eq(fx_xlate(&f, RID_A, 0x100000, IMS_PERM_R, &x), 0);
    const struct ims_stats *st = ims_iommu_stats(f.mmu);
    ck_assert_uint_eq(st->iotlb.misses, 1);
    for (int i = 0; i < IMS_MISS_CLASSES; i++)
        ck_assert_uint_eq(st->iotlb.miss_class[i], 0);
    ck_assert_uint_eq(st->n_rid, 0);
    fx_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("miss_class");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, conflict_in_one_set);
    tcase_add_test(tc, capacity_working_set);
    tcase_add_test(tc, invalidated_then_referenced);
    tcase_add_test(tc, shadow_gets_invalidations);
    tcase_add_test(tc, classification_changes_nothing);
    tcase_add_loop_test(tc, random_cross_check, 0, (int)(sizeof geo / sizeof geo[0]));
    tcase_add_test(tc, iotlb_classes_and_rows);
    tcase_add_test(tc, ctx_cache_classes);
    tcase_add_test(tc, psc_cache_classes);
    tcase_add_test(tc, rows_beyond_the_table);
    tcase_add_test(tc, off_by_default);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
