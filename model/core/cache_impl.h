/* Internal: the layout of struct ims_cache, shared by cache.c and the IOMMU
 * so that the hot lookup and insert can be inlined. Not architectural.
 * Nothing outside model/core includes this file. */
#ifndef IMS_CACHE_IMPL_H
#define IMS_CACHE_IMPL_H

#include <stddef.h>
#include <string.h>

#include "iommusim/cache.h"
#include "repl.h"

struct ims_cache {
    struct ims_cache_cfg cfg;
    uint32_t set_mask;             /* sets - 1 */
    uint32_t ways;                 /* 0 when disabled */
    struct ims_cache_entry *e;     /* sets * ways, set-major */
    struct ims_repl_state repl;    /* the policy's (cfg.repl) state: see repl.h */
    uint8_t *fp;                   /* per set, fp_stride bytes: way fingerprint, 0 = invalid (or padding) */
    uint32_t fp_stride;            /* ways rounded up to 8 */
    uint32_t n_valid;              /* valid entries: lets invalidations skip an empty cache */
    uint8_t slow;                  /* wide (idx) or classifying (cls): fills and removals go out of line */
    struct ims_cache_stats st;
    /* Wide caches only (ways > IMS_CACHE_WIDE_WAYS; NULL otherwise): a tag
     * index, so that a lookup does not scan thousands of ways, and the valid
     * entries per set, so that a fill into a full set skips the scan for an
     * invalid way. idx is open addressing with linear probing over
     * idx_mask + 1 slots (at least twice the entries): entry number + 1
     * (set * ways + way), 0 for an empty slot. */
    uint32_t *idx;
    uint32_t idx_mask;
    uint32_t *set_valid;
    struct ims_cache_cls *cls; /* miss classification (cfg.classify), cache.c; NULL when off */
};

/* Sets of more ways than this are "wide" (a fully associative cache of
 * more than 64 entries): cache.c keeps a tag index for them. Up to it a
 * linear scan of the ways is faster than hashing (docs/config.md, "Cache geometry"). */
#define IMS_CACHE_WIDE_WAYS 64u

/* cache.c, out of line: the wide-cache index (find: the way of `set`
 * holding the key, or c->ways), and the fill and removal paths of wide or
 * classifying caches (c->slow), which keep the index and the classifier's
 * shadow in step with the cache. Each does what the inline function that
 * calls it does, plus that. */
uint32_t ims_cache_wide_find_(const struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom, uint8_t shift);
struct ims_cache_entry *ims_cache_slow_insert_(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                               uint8_t shift, struct ims_cache_entry *victim);
bool ims_cache_slow_remove_(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom, uint8_t shift);
size_t ims_cache_slow_invalidate_set_(struct ims_cache *c, uint32_t set, ims_cache_pred pred, void *arg);
/* Miss classification (cache.c): a lookup hit on e, and a miss of the key
 * (tag, dom, shift) in `set`; the miss returns its enum ims_miss_class. */
void ims_cache_cls_hit_(struct ims_cache *c, const struct ims_cache_entry *e);
unsigned ims_cache_cls_miss_(struct ims_cache *c, uint64_t tag, uint64_t dom, uint8_t shift);

/* The probe compares an entry in three 64-bit words: the tag, dom, and the
 * word holding aux (bits 31:0, not part of the match), shift (39:32), valid
 * (47:40) and spare (63:48, not part of the match) on the little-endian
 * host. The third compare runs only on a tag and dom match. */
_Static_assert(sizeof(struct ims_cache_entry) == 32, "cache entry layout");
_Static_assert(offsetof(struct ims_cache_entry, dom) == 16 && offsetof(struct ims_cache_entry, aux) == 24 &&
                   offsetof(struct ims_cache_entry, shift) == 28 && offsetof(struct ims_cache_entry, valid) == 29,
               "cache entry layout");
#define IMS_CACHE_KEY_MASK UINT64_C(0x0000ffff00000000)

static inline uint64_t ims_cache_key_(uint8_t shift)
{
    return (uint64_t)shift << 32 | UINT64_C(1) << 40; /* valid = 1 */
}

static inline uint64_t ims_cache_keyword_(const struct ims_cache_entry *e)
{
    uint64_t k;
    memcpy(&k, (const unsigned char *)e + offsetof(struct ims_cache_entry, aux), sizeof k);
    return k;
}

/* The policy's update for a hit on (set, way). */
static inline void ims_cache_touch_(struct ims_cache *c, uint32_t set, uint32_t way)
{
    ims_repl_touch_(c->cfg.repl, &c->repl, c->ways, set, way);
}

/* Way fingerprints: one byte per way, a hash of (tag, dom) with the
 * top bit set, or 0 for an invalid way. A probe scans 8 ways at a time as one
 * 64-bit word; only ways whose fingerprint matches are compared in full, so
 * a fingerprint collision costs time, never a wrong answer. */
#define IMS_FP_ONES UINT64_C(0x0101010101010101)
#define IMS_FP_HIGHS UINT64_C(0x8080808080808080)

/* Hashes tag and dom only (dom above the bits a tag normally uses): shift is
 * the same for every entry of a paging-structure cache, and IOTLB entries of
 * two page sizes rarely share a tag and a set, so mixing it in would cost
 * instructions on every fill and removal for little. */
static inline uint8_t ims_cache_fp_(uint64_t tag, uint64_t dom, uint8_t shift)
{
    (void)shift;
    uint64_t h = (tag ^ dom << 32 ^ dom >> 32) * UINT64_C(0x9e3779b97f4a7c15);
    return (uint8_t)((h >> 57) | 0x80);
}

/* Bit 8i+7 set for byte i of v that is zero (exactly the lowest such byte is
 * guaranteed; higher flags may be false when a byte is 0x01, never missed). */
static inline uint64_t ims_fp_zero_bytes_(uint64_t v) { return (v - IMS_FP_ONES) & ~v & IMS_FP_HIGHS; }

static inline bool ims_cache_same_(const struct ims_cache_entry *e, uint64_t tag, uint64_t dom, uint64_t key)
{
    return e->tag == tag && e->dom == dom && (ims_cache_keyword_(e) & IMS_CACHE_KEY_MASK) == key;
}

/* The hot path: match (tag, dom, shift) among the ways of one set. Two
 * 64-bit compares per way with an early exit: on hits this beats the
 * fingerprint scan (which insert uses), as the hit is usually in an early way
 * and the loop branch predicts well. */
static inline struct ims_cache_entry *ims_cache_find_(struct ims_cache *c, uint32_t set, uint64_t tag,
                                                      uint64_t dom, uint8_t shift, uint32_t *way_out)
{
    const uint32_t ways = c->ways;
    if (__builtin_expect(c->n_valid == 0, 0)) /* disabled (no ways) or empty */
        return NULL;
    struct ims_cache_entry *e = c->e + (size_t)set * ways;
    if (__builtin_expect(ways > IMS_CACHE_WIDE_WAYS, 0)) {
        const uint32_t w = ims_cache_wide_find_(c, set, tag, dom, shift);
        if (w == ways)
            return NULL;
        *way_out = w;
        return &e[w];
    }
    const uint64_t key = ims_cache_key_(shift);
    for (uint32_t w = 0; w < ways; w++) {
        if (ims_cache_same_(&e[w], tag, dom, key)) {
            *way_out = w;
            return &e[w];
        }
    }
    return NULL;
}

/* Find + replacement update, no statistics: for structures probed several
 * times per logical lookup (the IOTLB, once per page size). Count the logical
 * lookup with ims_cache_count_inl(). */
static inline struct ims_cache_entry *ims_cache_find_touch_inl(struct ims_cache *c, uint32_t set, uint64_t tag,
                                                               uint64_t dom, uint8_t shift)
{
    uint32_t way;
    struct ims_cache_entry *hit = ims_cache_find_(c, set, tag, dom, shift, &way);
    if (hit)
        ims_cache_touch_(c, set, way);
    return hit;
}

static inline void ims_cache_count_inl(struct ims_cache *c, bool hit)
{
    c->st.lookups++;
    c->st.hits += hit;
    c->st.misses += !hit;
}

static inline struct ims_cache_entry *ims_cache_lookup_inl(struct ims_cache *c, uint32_t set, uint64_t tag,
                                                           uint64_t dom, uint8_t shift)
{
    uint32_t way;
    c->st.lookups++;
    struct ims_cache_entry *hit = ims_cache_find_(c, set, tag, dom, shift, &way);
    if (__builtin_expect(hit != NULL, 1)) {
        c->st.hits++;
        ims_cache_touch_(c, set, way);
    } else {
        c->st.misses++;
    }
    if (__builtin_expect(c->cls != NULL, 0)) {
        if (hit)
            ims_cache_cls_hit_(c, hit);
        else
            ims_cache_cls_miss_(c, tag, dom, shift);
    }
    return hit;
}

/* The policy's victim among the (all valid) ways of a set. */
static inline uint32_t ims_cache_victim_(struct ims_cache *c, uint32_t set)
{
    return ims_repl_victim_(c->cfg.repl, &c->repl, c->ways, set);
}

/* The way of `set` holding (tag, dom, shift), found through the fingerprints
 * (candidates verified in full), or c->ways if there is none. If `invalid`
 * is not NULL it receives the first invalid way (or c->ways) among the
 * groups of 8 ways scanned; when no match is found that is all of them.
 * Valid fingerprints have the top bit set, so the zero-byte flags for
 * invalid ways are exact. */
static inline uint32_t ims_cache_fp_find_(const struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                          uint8_t shift, uint8_t fp, uint32_t *invalid)
{
    const uint32_t ways = c->ways;
    const struct ims_cache_entry *row = c->e + (size_t)set * ways;
    const uint8_t *f = c->fp + (size_t)set * c->fp_stride;
    const uint64_t pat = fp * IMS_FP_ONES;
    const uint64_t key = ims_cache_key_(shift);
    uint32_t inv = ways;
    for (uint32_t g = 0; g < ways; g += 8) {
        uint64_t v;
        memcpy(&v, f + g, sizeof v);
        for (uint64_t m = ims_fp_zero_bytes_(v ^ pat); m; m &= m - 1) {
            uint32_t w = g + ((uint32_t)__builtin_ctzll(m) >> 3);
            if (w < ways && ims_cache_same_(&row[w], tag, dom, key))
                return w;
        }
        uint64_t z = ims_fp_zero_bytes_(v);
        if (invalid && z && inv == ways) {
            uint32_t w = g + ((uint32_t)__builtin_ctzll(z) >> 3);
            if (w < ways)
                inv = w;
        }
    }
    if (invalid)
        *invalid = inv;
    return ways;
}

/* Removes the entry (tag, dom, shift) from `set` if it is there (returns
 * true): the exact form of ims_cache_invalidate_set_inl for invalidations
 * that name one entry. Contract: set <= c->set_mask (callers hash into
 * the set range), and the cache is not empty (c->n_valid != 0; callers
 * test that before hashing). */
static inline bool ims_cache_remove_inl(struct ims_cache *c, uint32_t set, uint64_t tag, uint64_t dom,
                                        uint8_t shift)
{
    if (__builtin_expect(c->slow, 0))
        return ims_cache_slow_remove_(c, set, tag, dom, shift);
    const uint32_t ways = c->ways;
    struct ims_cache_entry *row = c->e + (size_t)set * ways;
    uint32_t way;
    if (ways <= 8) { /* one fingerprint word: comparing the ways costs less than hashing for it */
        const uint64_t key = ims_cache_key_(shift);
        for (way = 0; way < ways; way++)
            if (ims_cache_same_(&row[way], tag, dom, key))
                break;
    } else {
        way = ims_cache_fp_find_(c, set, tag, dom, shift, ims_cache_fp_(tag, dom, shift), NULL);
    }
    if (way == ways)
        return false;
    row[way].valid = 0;
    c->fp[(size_t)set * c->fp_stride + way] = 0;
    c->n_valid--;
    c->st.invalidated++;
    return true;
}

/* Counts the fill of (set, way) and gives it to the policy. */
static inline void ims_cache_filled_(struct ims_cache *c, uint32_t set, uint32_t way)
{
    c->st.fills++;
    ims_repl_fill_(c->cfg.repl, &c->repl, c->ways, set, way);
}

/* Makes (set, way) the valid entry (tag, dom, shift) with fingerprint fp,
 * payload cleared. */
static inline struct ims_cache_entry *ims_cache_write_(struct ims_cache *c, uint32_t set, uint32_t way, uint64_t tag,
                                                       uint64_t dom, uint8_t shift, uint8_t fp)
{
    struct ims_cache_entry *e = c->e + (size_t)set * c->ways + way;
    e->tag = tag;
    e->dom = dom;
    e->shift = shift;
    e->valid = 1;
    e->data = 0;
    e->aux = 0;
    c->fp[(size_t)set * c->fp_stride + way] = fp;
    return e;
}

/* Writes a new entry (tag, dom, shift) into `set`, which does not hold it:
 * into way `invalid` if that is an invalid way, else (invalid == c->ways)
 * over the policy's victim, copied to *victim if that is not NULL. */
static inline struct ims_cache_entry *ims_cache_place_(struct ims_cache *c, uint32_t set, uint32_t invalid,
                                                       uint64_t tag, uint64_t dom, uint8_t shift, uint8_t fp,
                                                       struct ims_cache_entry *victim)
{
    struct ims_cache_entry *row = c->e + (size_t)set * c->ways;
    uint32_t way = invalid;
    if (way != c->ways) {
        c->n_valid++;
    } else {
        way = ims_cache_victim_(c, set);
        c->st.evictions++;
        if (victim)
            *victim = row[way];
    }
    struct ims_cache_entry *e = ims_cache_write_(c, set, way, tag, dom, shift, fp);
    ims_cache_filled_(c, set, way);
    return e;
}

/* ims_cache_insert (see cache.h), inlined for the translator's fills. */
static inline struct ims_cache_entry *ims_cache_insert_inl(struct ims_cache *c, uint32_t set, uint64_t tag,
                                                           uint64_t dom, uint8_t shift,
                                                           struct ims_cache_entry *victim)
{
    const uint32_t ways = c->ways;
    if (ways == 0)
        return NULL;
    if (__builtin_expect(c->slow, 0))
        return ims_cache_slow_insert_(c, set, tag, dom, shift, victim);
    /* A matching way (refilled in place), else the first invalid way; the
     * policy runs only when there is neither. */
    const uint8_t fp = ims_cache_fp_(tag, dom, shift);
    uint32_t invalid = ways;
    uint32_t way = ims_cache_fp_find_(c, set, tag, dom, shift, fp, &invalid);
    if (way == ways)
        return ims_cache_place_(c, set, invalid, tag, dom, shift, fp, victim);
    ims_cache_filled_(c, set, way);
    return &c->e[(size_t)set * ways + way];
}

/* The first invalid way of `set`, or c->ways if it is full. */
static inline uint32_t ims_cache_first_invalid_(const struct ims_cache *c, uint32_t set)
{
    const uint32_t ways = c->ways;
    const uint8_t *f = c->fp + (size_t)set * c->fp_stride;
    for (uint32_t g = 0; g < ways; g += 8) {
        uint64_t v;
        memcpy(&v, f + g, sizeof v);
        uint64_t z = ims_fp_zero_bytes_(v); /* exact: valid fingerprints have the top bit set */
        if (z) {
            uint32_t w = g + ((uint32_t)__builtin_ctzll(z) >> 3);
            return w < ways ? w : ways; /* not padding (only the last group has any) */
        }
    }
    return ways;
}

/* ims_cache_insert_inl for a caller that knows `set` does not hold (tag,
 * dom, shift): it has just looked it up there and missed, and nothing has
 * changed the cache since. The entry goes where ims_cache_insert_inl would
 * put it (the first invalid way, else the victim), found without scanning
 * for a match: a walk fills every cache it missed in, so this saves that
 * scan on each fill. Contract: the cache is enabled (c->ways != 0). */
static inline struct ims_cache_entry *ims_cache_fill_missed_inl(struct ims_cache *c, uint32_t set, uint64_t tag,
                                                                uint64_t dom, uint8_t shift,
                                                                struct ims_cache_entry *victim)
{
    if (__builtin_expect(c->slow, 0)) /* the match check it skips is one probe of the index there */
        return ims_cache_slow_insert_(c, set, tag, dom, shift, victim);
    return ims_cache_place_(c, set, ims_cache_first_invalid_(c, set), tag, dom, shift, ims_cache_fp_(tag, dom, shift),
                            victim);
}

/* ims_cache_invalidate_set_if, inlinable: with a constant predicate the
 * compiler inlines it too (page-selective invalidation runs once per unmap). */
static inline size_t ims_cache_invalidate_set_inl(struct ims_cache *c, uint32_t set, ims_cache_pred pred, void *arg)
{
    if (__builtin_expect(c->slow, 0))
        return ims_cache_slow_invalidate_set_(c, set, pred, arg);
    if (c->n_valid == 0 || set > c->set_mask)
        return 0;
    size_t n = 0;
    struct ims_cache_entry *row = c->e + (size_t)set * c->ways;
    for (uint32_t w = 0; w < c->ways; w++) {
        if (row[w].valid && pred(&row[w], arg)) {
            row[w].valid = 0;
            c->fp[(size_t)set * c->fp_stride + w] = 0;
            n++;
        }
    }
    c->n_valid -= (uint32_t)n;
    c->st.invalidated += n;
    return n;
}

#endif /* IMS_CACHE_IMPL_H */
