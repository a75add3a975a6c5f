/* One set-associative cache for every translation cache. Not architectural:
 * geometry and replacement policy are parameters (see cache.h; the policies
 * are listed in iommusim/repl_list.h and written in repl_<name>.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_impl.h"

#define IMS_REPL_NAME_(U, l) [IMS_REPL_##U] = #l,
static const char *const repl_names[IMS_REPL_COUNT] = {IMS_REPL_LIST(IMS_REPL_NAME_)};
#undef IMS_REPL_NAME_

/* ", lru, plru, ..." : ims_repl_known() skips the first separator. */
#define IMS_REPL_KNOWN_(U, l) ", " #l
static const char repl_known[] = IMS_REPL_LIST(IMS_REPL_KNOWN_);
#undef IMS_REPL_KNOWN_

/* State words per way, as each policy declares them. */
#define IMS_REPL_WORDS_(U, l) [IMS_REPL_##U] = IMS_REPL_##U##_WAY_WORDS,
static const uint8_t repl_way_words[IMS_REPL_COUNT] = {IMS_REPL_LIST(IMS_REPL_WORDS_)};
#undef IMS_REPL_WORDS_

/* State words per set of `ways` ways, as each policy declares them. */
#define IMS_REPL_SET_WORDS_(U, l)                                                                                      \
    case IMS_REPL_##U:                                                                                                 \
        return IMS_REPL_##U##_SET_WORDS(ways);
static size_t repl_set_words(uint8_t repl, uint32_t ways)
{
    switch (repl) {
        IMS_REPL_LIST(IMS_REPL_SET_WORDS_)
    default:
        return 0;
    }
}
#undef IMS_REPL_SET_WORDS_

int ims_repl_from_name(const char *name)
{
    for (int i = 0; i < IMS_REPL_COUNT; i++)
        if (name && strcmp(name, repl_names[i]) == 0)
            return i;
    return -1;
}

const char *ims_repl_name(enum ims_repl repl)
{
    return (unsigned)repl < IMS_REPL_COUNT ? repl_names[repl] : "unknown";
}

const char *ims_repl_known(void) { return repl_known + 2; }

static bool is_pow2(uint32_t v) { return v && !(v & (v - 1)); }

int ims_cache_cfg_check(const struct ims_cache_cfg *cfg, const char *what, char *err, size_t errlen)
{
    const char *w = what ? what : "cache";
    if (cfg->sets == 0 || cfg->ways == 0)
        return 0; /* disabled */
    if (!is_pow2(cfg->sets)) {
        snprintf(err, errlen, "%s: sets (%u) must be a power of two or 0", w, cfg->sets);
        return -1;
    }
    if (cfg->ways > IMS_CACHE_MAX_WAYS) {
        snprintf(err, errlen, "%s: ways (%u) must be 1..%u or 0", w, cfg->ways, IMS_CACHE_MAX_WAYS);
        return -1;
    }
    if ((uint64_t)cfg->sets * cfg->ways > IMS_CACHE_MAX_ENTRIES) {
        snprintf(err, errlen, "%s: sets x ways (%u x %u) must be at most %u entries", w, cfg->sets, cfg->ways,
                 IMS_CACHE_MAX_ENTRIES);
        return -1;
    }
    if (cfg->repl >= IMS_REPL_COUNT) {
        snprintf(err, errlen, "%s: repl (%u) is not a known policy", w, cfg->repl);
        return -1;
    }
    const char *why = ims_repl_check_(cfg->repl, cfg->ways);
    if (why) {
        snprintf(err, errlen, "%s: ways (%u) %s", w, cfg->ways, why);
        return -1;
    }
    return 0;
}

/* ---- The wide-cache tag index (cache_impl.h) ---- */

static uint32_t wide_home(const struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom, uint8_t shift)
{
    uint64_t h = tag ^ (dom << 29 | dom >> 35) ^ (uint64_t)set << 40 ^ (uint64_t)shift << 58;
    h *= UINT64_C(0x9e3779b97f4a7c15);
    h ^= h >> 31;
    return (uint32_t)(h >> 16) & c->idx_mask;
}

static uint32_t wide_home_of(const struct ims_cache *c, size_t n)
{
    const struct ims_cache_entry *e = &c->e[n];
    return wide_home(c, (uint32_t)(n / c->ways), e->tag, e->dom, e->shift);
}

uint32_t ims_cache_wide_find_(const struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom, uint8_t shift)
{
    const uint64_t key = ims_cache_key_(shift);
    const size_t first = (size_t)set * c->ways, end = first + c->ways;
    for (uint32_t i = wide_home(c, set, tag, dom, shift);; i = (i + 1) & c->idx_mask) {
        const uint32_t v = c->idx[i];
        if (v == 0)
            return c->ways;
        const size_t n = v - 1;
        if (n >= first && n < end && ims_cache_same_(&c->e[n], tag, dom, key))
            return (uint32_t)(n - first);
    }
}

/* Enters entry n (valid, its key written). */
static void wide_add(struct ims_cache *c, size_t n)
{
    uint32_t i = wide_home_of(c, n);
    while (c->idx[i])
        i = (i + 1) & c->idx_mask;
    c->idx[i] = (uint32_t)n + 1;
    c->set_valid[n / c->ways]++;
}

/* Removes entry n (its key still in the entry), then closes the gap
 * (backward-shift deletion): each later slot of the probe run whose home is
 * cyclically at or before the gap moves into it, so that no probe for it
 * stops early at the emptied slot. */
static void wide_del(struct ims_cache *c, size_t n)
{
    const uint32_t mask = c->idx_mask;
    uint32_t i = wide_home_of(c, n);
    while (c->idx[i] != (uint32_t)n + 1)
        i = (i + 1) & mask;
    for (uint32_t j = (i + 1) & mask; c->idx[j]; j = (j + 1) & mask) {
        const uint32_t home = wide_home_of(c, c->idx[j] - 1);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            c->idx[i] = c->idx[j];
            i = j;
        }
    }
    c->idx[i] = 0;
    c->set_valid[n / c->ways]--;
}

/* ---- Miss classification (docs/stats.md, "Miss classes") ----
 * One node per key ever filled (the "ever cached" set), found by a chained
 * hash of the key. A node records where the key's last copy went (still
 * resident, evicted by replacement, removed by an invalidation) and whether
 * the shadow holds it: the shadow is a fully associative LRU list over the
 * same nodes, of the cache's total entries. Nodes are never freed: memory
 * grows with the distinct keys a run fills (docs/performance.md). */

const char *ims_miss_class_name(unsigned cls)
{
    static const char *const names[IMS_MISS_CLASSES] = {"compulsory", "invalidation", "capacity", "conflict"};
    return cls < IMS_MISS_CLASSES ? names[cls] : "unknown";
}

enum { CLS_RESIDENT, CLS_EVICTED, CLS_INVALIDATED };
#define CLS_NONE UINT32_MAX

struct cls_node {
    uint64_t tag, dom, data; /* key; payload as evicted (for invalidation predicates) */
    uint32_t aux, set;       /* payload as evicted; the set the key lives in */
    uint32_t prev, next;     /* shadow LRU list: prev toward the most recent */
    uint32_t chain;          /* next node of the hash bucket, + 1 */
    uint8_t shift, state, in_shadow;
};

struct ims_cache_cls {
    struct cls_node *n;
    uint32_t used, cap;
    uint32_t *bucket; /* node number + 1, 0 = empty; nbuckets a power of two */
    uint32_t nbuckets;
    uint32_t head, tail; /* shadow: most and least recently used */
    uint64_t shadow_n, shadow_cap;
};

static uint32_t cls_hash(const struct ims_cache_cls *k, uint64_t tag, uint64_t dom, uint8_t shift)
{
    uint64_t h = (tag ^ (dom << 32 | dom >> 32) ^ (uint64_t)shift << 56) * UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 29;
    return (uint32_t)(h >> 20) & (k->nbuckets - 1);
}

static uint32_t cls_find(const struct ims_cache_cls *k, uint64_t tag, uint64_t dom, uint8_t shift)
{
    for (uint32_t v = k->bucket[cls_hash(k, tag, dom, shift)]; v; v = k->n[v - 1].chain) {
        const struct cls_node *x = &k->n[v - 1];
        if (x->tag == tag && x->dom == dom && x->shift == shift)
            return v - 1;
    }
    return CLS_NONE;
}

static void *cls_grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, n * size);
    if (!q) { /* out of host memory: the one failure that aborts (CONTRIBUTING.md) */
        fprintf(stderr, "iommusim: out of memory (miss classification)\n");
        abort();
    }
    return q;
}

static uint32_t cls_add(struct ims_cache_cls *k, uint64_t tag, uint64_t dom, uint8_t shift, uint32_t set)
{
    if (k->used == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 64;
        k->n = cls_grow(k->n, k->cap, sizeof *k->n);
    }
    if (k->used >= k->nbuckets) { /* keep chains short: rehash into twice the buckets */
        k->nbuckets *= 2;
        k->bucket = cls_grow(k->bucket, k->nbuckets, sizeof *k->bucket);
        memset(k->bucket, 0, (size_t)k->nbuckets * sizeof *k->bucket);
        for (uint32_t i = 0; i < k->used; i++) {
            uint32_t *b = &k->bucket[cls_hash(k, k->n[i].tag, k->n[i].dom, k->n[i].shift)];
            k->n[i].chain = *b;
            *b = i + 1;
        }
    }
    const uint32_t i = k->used++;
    struct cls_node *x = &k->n[i];
    *x = (struct cls_node){
        .tag = tag, .dom = dom, .shift = shift, .set = set, .state = CLS_RESIDENT, .prev = CLS_NONE, .next = CLS_NONE};
    uint32_t *b = &k->bucket[cls_hash(k, tag, dom, shift)];
    x->chain = *b;
    *b = i + 1;
    return i;
}

static void sh_unlink(struct ims_cache_cls *k, uint32_t i)
{
    struct cls_node *x = &k->n[i];
    if (x->prev != CLS_NONE)
        k->n[x->prev].next = x->next;
    else
        k->head = x->next;
    if (x->next != CLS_NONE)
        k->n[x->next].prev = x->prev;
    else
        k->tail = x->prev;
    x->in_shadow = 0;
    k->shadow_n--;
}

/* A reference the shadow fills on: node i becomes its most recent entry,
 * the least recent one leaving when it is full. */
static void sh_touch(struct ims_cache_cls *k, uint32_t i)
{
    if (k->n[i].in_shadow)
        sh_unlink(k, i);
    else if (k->shadow_n == k->shadow_cap)
        sh_unlink(k, k->tail);
    struct cls_node *x = &k->n[i];
    x->prev = CLS_NONE;
    x->next = k->head;
    if (k->head != CLS_NONE)
        k->n[k->head].prev = i;
    else
        k->tail = i;
    k->head = i;
    x->in_shadow = 1;
    k->shadow_n++;
}

static struct ims_cache_cls *cls_create(uint64_t entries)
{
    struct ims_cache_cls *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->nbuckets = 64;
    k->bucket = calloc(k->nbuckets, sizeof *k->bucket);
    if (!k->bucket) {
        free(k);
        return NULL;
    }
    k->head = k->tail = CLS_NONE;
    k->shadow_cap = entries;
    return k;
}

static void cls_destroy(struct ims_cache_cls *k)
{
    if (!k)
        return;
    free(k->n);
    free(k->bucket);
    free(k);
}

void ims_cache_cls_hit_(struct ims_cache *c, const struct ims_cache_entry *e)
{
    struct ims_cache_cls *k = c->cls;
    uint32_t i = cls_find(k, e->tag, e->dom, e->shift);
    if (i == CLS_NONE) /* not reached: every entry was filled through cls_filled */
        i = cls_add(k, e->tag, e->dom, e->shift, 0);
    sh_touch(k, i);
}

unsigned ims_cache_cls_miss_(struct ims_cache *c, uint64_t tag, uint64_t dom, uint8_t shift)
{
    const struct ims_cache_cls *k = c->cls;
    const uint32_t i = cls_find(k, tag, dom, shift);
    unsigned m;
    if (i == CLS_NONE)
        m = IMS_MISS_COMPULSORY;
    else if (k->n[i].state == CLS_INVALIDATED)
        m = IMS_MISS_INVALIDATION;
    else if (k->n[i].in_shadow)
        m = IMS_MISS_CONFLICT;
    else
        m = IMS_MISS_CAPACITY;
    c->st.miss_class[m]++;
    return m;
}

/* The cache filled (or refilled) e in `set`. */
static void cls_filled(struct ims_cache *c, uint32_t set, const struct ims_cache_entry *e)
{
    struct ims_cache_cls *k = c->cls;
    uint32_t i = cls_find(k, e->tag, e->dom, e->shift);
    if (i == CLS_NONE)
        i = cls_add(k, e->tag, e->dom, e->shift, set);
    k->n[i].state = CLS_RESIDENT;
    k->n[i].set = set;
    sh_touch(k, i);
}

/* The last copy of old's key left the cache: by replacement, or by an
 * invalidation (which the shadow gets too). old: the entry as it was. */
static void cls_left(struct ims_cache *c, const struct ims_cache_entry *old, bool invalidated)
{
    struct ims_cache_cls *k = c->cls;
    const uint32_t i = cls_find(k, old->tag, old->dom, old->shift);
    if (i == CLS_NONE)
        return;
    struct cls_node *x = &k->n[i];
    x->data = old->data;
    x->aux = old->aux;
    x->state = invalidated ? CLS_INVALIDATED : CLS_EVICTED;
    if (invalidated && x->in_shadow)
        sh_unlink(k, i);
}

/* The same invalidation for the keys only the shadow holds (evicted from
 * the cache): those in `set` (every set: UINT32_MAX) that pred accepts
 * leave the shadow. Their last copy still left the cache by replacement. */
static void cls_shadow_invalidate(struct ims_cache *c, uint32_t set, ims_cache_pred pred, void *arg)
{
    struct ims_cache_cls *k = c->cls;
    for (uint32_t i = k->head; i != CLS_NONE;) {
        const struct cls_node *x = &k->n[i];
        const uint32_t next = x->next;
        if (x->state == CLS_EVICTED && (set == UINT32_MAX || x->set == set)) {
            const struct ims_cache_entry copy = {
                .tag = x->tag, .data = x->data, .dom = x->dom, .aux = x->aux, .shift = x->shift, .valid = 0};
            if (pred(&copy, arg))
                sh_unlink(k, i);
        }
        i = next;
    }
}

/* ---- Fills and removals of wide or classifying caches (c->slow) ---- */

struct ims_cache_entry *ims_cache_slow_insert_(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                               uint8_t shift, struct ims_cache_entry *victim)
{
    const uint32_t ways = c->ways;
    struct ims_cache_entry *row = c->e + (size_t)set * ways;
    const uint8_t fp = ims_cache_fp_(tag, dom, shift);
    uint32_t invalid = ways, way;
    if (c->idx) {
        way = ims_cache_wide_find_(c, set, tag, dom, shift);
        /* The first invalid way, as the fingerprint scan finds it; a full set has none. */
        if (way == ways && c->set_valid[set] != ways)
            invalid = ims_cache_first_invalid_(c, set);
    } else {
        way = ims_cache_fp_find_(c, set, tag, dom, shift, fp, &invalid);
    }
    if (way != ways) { /* refilled in place */
        ims_cache_filled_(c, set, way);
        if (c->cls)
            cls_filled(c, set, &row[way]);
        return &row[way];
    }
    way = invalid;
    struct ims_cache_entry old = {0};
    const bool evict = way == ways;
    if (!evict) {
        c->n_valid++;
    } else {
        way = ims_cache_victim_(c, set);
        c->st.evictions++;
        old = row[way];
        if (victim)
            *victim = old;
        if (c->idx)
            wide_del(c, (size_t)set * ways + way);
    }
    struct ims_cache_entry *e = ims_cache_write_(c, set, way, tag, dom, shift, fp);
    if (c->idx)
        wide_add(c, (size_t)set * ways + way);
    ims_cache_filled_(c, set, way);
    if (c->cls) {
        if (evict)
            cls_left(c, &old, false);
        cls_filled(c, set, e);
    }
    return e;
}

/* Removes way `way` of `set` for an invalidation. */
static void slow_drop(struct ims_cache *c, uint32_t set, uint32_t way)
{
    const size_t n = (size_t)set * c->ways + way;
    if (c->idx)
        wide_del(c, n);
    if (c->cls)
        cls_left(c, &c->e[n], true);
    c->e[n].valid = 0;
    c->fp[(size_t)set * c->fp_stride + way] = 0;
    c->n_valid--;
    c->st.invalidated++;
}

bool ims_cache_slow_remove_(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom, uint8_t shift)
{
    if (c->ways == 0)
        return false;
    uint32_t way = c->ways;
    if (c->n_valid)
        way = c->idx ? ims_cache_wide_find_(c, set, tag, dom, shift)
                     : ims_cache_fp_find_(c, set, tag, dom, shift, ims_cache_fp_(tag, dom, shift), NULL);
    if (way != c->ways) {
        slow_drop(c, set, way);
        return true;
    }
    if (c->cls) { /* only the shadow may hold it */
        struct ims_cache_cls *k = c->cls;
        const uint32_t i = cls_find(k, tag, dom, shift);
        if (i != CLS_NONE && k->n[i].in_shadow && k->n[i].state == CLS_EVICTED)
            sh_unlink(k, i);
    }
    return false;
}

size_t ims_cache_slow_invalidate_set_(struct ims_cache *c, uint32_t set, ims_cache_pred pred, void *arg)
{
    if (c->ways == 0 || set > c->set_mask)
        return 0;
    size_t n = 0;
    const struct ims_cache_entry *row = c->e + (size_t)set * c->ways;
    for (uint32_t w = 0; c->n_valid && w < c->ways; w++) {
        if (row[w].valid && pred(&row[w], arg)) {
            slow_drop(c, set, w);
            n++;
        }
    }
    if (c->cls)
        cls_shadow_invalidate(c, set, pred, arg);
    return n;
}

struct ims_cache *ims_cache_create(const struct ims_cache_cfg *cfg)
{
    char err[128];
    if (ims_cache_cfg_check(cfg, "cache", err, sizeof err) != 0)
        return NULL;
    struct ims_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = *cfg;
    ims_repl_init_(cfg->repl, &c->repl, cfg->seed);
    if (cfg->sets == 0 || cfg->ways == 0)
        return c; /* disabled: ways = 0, every lookup misses */
    c->ways = cfg->ways;
    c->set_mask = cfg->sets - 1;
    size_t n = (size_t)cfg->sets * cfg->ways;
    c->e = calloc(n, sizeof *c->e);
    const size_t way_words = n * repl_way_words[cfg->repl],
                 set_words = (size_t)cfg->sets * repl_set_words(cfg->repl, cfg->ways);
    c->repl.way = way_words ? calloc(way_words, sizeof *c->repl.way) : NULL;
    c->repl.set = set_words ? calloc(set_words, sizeof *c->repl.set) : NULL;
    c->fp_stride = (cfg->ways + 7u) & ~7u;
    c->fp = calloc((size_t)cfg->sets * c->fp_stride, 1); /* all ways invalid */
    bool extra_ok = true;
    if (cfg->ways > IMS_CACHE_WIDE_WAYS) {
        size_t slots = 2;
        while (slots < 2 * n)
            slots *= 2;
        c->idx_mask = (uint32_t)(slots - 1);
        c->idx = calloc(slots, sizeof *c->idx);
        c->set_valid = calloc(cfg->sets, sizeof *c->set_valid);
        extra_ok = c->idx && c->set_valid;
    }
    if (cfg->classify) {
        c->cls = cls_create(n);
        extra_ok = extra_ok && c->cls;
    }
    c->slow = c->idx || c->cls;
    if (!c->e || !c->fp || !extra_ok || (way_words && !c->repl.way) || (set_words && !c->repl.set)) {
        ims_cache_destroy(c);
        return NULL;
    }
    return c;
}

void ims_cache_destroy(struct ims_cache *c)
{
    if (!c)
        return;
    free(c->e);
    free(c->repl.way);
    free(c->repl.set);
    free(c->fp);
    free(c->idx);
    free(c->set_valid);
    cls_destroy(c->cls);
    free(c);
}

bool ims_cache_enabled(const struct ims_cache *c) { return c->ways != 0; }
uint32_t ims_cache_sets(const struct ims_cache *c) { return c->ways ? c->set_mask + 1 : 0; }

struct ims_cache_entry *ims_cache_lookup(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                         uint8_t shift)
{
    return ims_cache_lookup_inl(c, set, tag, dom, shift);
}

struct ims_cache_entry *ims_cache_probe(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                        uint8_t shift)
{
    uint32_t way;
    return ims_cache_find_(c, set, tag, dom, shift, &way);
}

struct ims_cache_entry *ims_cache_insert(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                         uint8_t shift, struct ims_cache_entry *victim)
{
    return ims_cache_insert_inl(c, set, tag, dom, shift, victim);
}

size_t ims_cache_invalidate_if(struct ims_cache *c, ims_cache_pred pred, void *arg)
{
    size_t n = 0, total = (size_t)(c->n_valid ? c->set_mask + 1 : 0) * c->ways;
    if (c->slow) {
        for (size_t i = 0; i < total; i++) {
            if (c->e[i].valid && pred(&c->e[i], arg)) {
                slow_drop(c, (uint32_t)(i / c->ways), (uint32_t)(i % c->ways));
                n++;
            }
        }
        if (c->cls)
            cls_shadow_invalidate(c, UINT32_MAX, pred, arg);
        return n;
    }
    for (size_t i = 0; i < total; i++) {
        if (c->e[i].valid && pred(&c->e[i], arg)) {
            c->e[i].valid = 0;
            c->fp[i / c->ways * c->fp_stride + i % c->ways] = 0;
            n++;
        }
    }
    c->n_valid -= (uint32_t)n;
    c->st.invalidated += n;
    return n;
}

size_t ims_cache_invalidate_set_if(struct ims_cache *c, uint32_t set, ims_cache_pred pred, void *arg)
{
    return ims_cache_invalidate_set_inl(c, set, pred, arg);
}

static bool pred_all(const struct ims_cache_entry *e, void *arg)
{
    (void)e;
    (void)arg;
    return true;
}

size_t ims_cache_invalidate_all(struct ims_cache *c) { return ims_cache_invalidate_if(c, pred_all, NULL); }

size_t ims_cache_count(const struct ims_cache *c)
{
    size_t n = 0, total = (size_t)(c->ways ? c->set_mask + 1 : 0) * c->ways;
    for (size_t i = 0; i < total; i++)
        n += c->e[i].valid;
    return n;
}

const struct ims_cache_stats *ims_cache_stats(const struct ims_cache *c) { return &c->st; }
void ims_cache_stats_reset(struct ims_cache *c) { memset(&c->st, 0, sizeof c->st); }

void ims_cache_visit_set(const struct ims_cache *c, uint32_t set, ims_cache_visit fn, void *arg)
{
    if (c->ways == 0 || set > c->set_mask)
        return;
    const struct ims_cache_entry *row = c->e + (size_t)set * c->ways;
    for (uint32_t w = 0; w < c->ways; w++)
        if (row[w].valid)
            fn(&row[w], w, arg);
}
