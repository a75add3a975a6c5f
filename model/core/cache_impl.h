/* Internal: the layout of struct ims_cache, shared by cache.c and the IOMMU
 * so that the hot lookup can be inlined. Not architectural. Nothing outside
 * model/core includes this file. */
#ifndef IMS_CACHE_IMPL_H
#define IMS_CACHE_IMPL_H

#include "iommusim/cache.h"

struct ims_cache {
    struct ims_cache_cfg cfg;
    uint32_t set_mask;             /* sets - 1 */
    uint32_t ways;                 /* 0 when disabled */
    struct ims_cache_entry *e;     /* sets * ways, set-major */
    uint64_t *stamp;               /* LRU: last use; FIFO: fill time (per way) */
    uint64_t *plru;                /* PLRU: tree bits per set (node i at bit i) */
    uint64_t clock;                /* LRU/FIFO time */
    uint64_t rng;                  /* RANDOM: xorshift64 state */
    struct ims_cache_stats st;
};

static inline void ims_cache_touch_(struct ims_cache *c, uint32_t set, uint32_t way)
{
    switch (c->cfg.repl) {
    case IMS_REPL_LRU:
        c->stamp[(size_t)set * c->ways + way] = ++c->clock;
        break;
    case IMS_REPL_PLRU: {
        /* Heap-ordered tree: node n's children are 2n and 2n+1; leaves are
         * ways + way. A node bit of 1 points the victim search right. */
        uint64_t bits = c->plru[set];
        unsigned node = c->ways + way;
        while (node > 1) {
            unsigned parent = node >> 1;
            if (node & 1)
                bits &= ~(UINT64_C(1) << parent); /* used right: victim left */
            else
                bits |= UINT64_C(1) << parent;    /* used left: victim right */
            node = parent;
        }
        c->plru[set] = bits;
        break;
    }
    default:
        break;
    }
}

/* The hot path: match (tag, dom, shift) among the ways of one set. */
static inline struct ims_cache_entry *ims_cache_find_(struct ims_cache *c, uint32_t set, uint64_t tag,
                                                      uint32_t dom, uint8_t shift, uint32_t *way_out)
{
    if (c->ways == 0)
        return NULL;
    struct ims_cache_entry *e = c->e + (size_t)set * c->ways;
    for (uint32_t w = 0; w < c->ways; w++) {
        if (e[w].tag == tag && e[w].dom == dom && e[w].shift == shift && e[w].valid) {
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
                                                               uint32_t dom, uint8_t shift)
{
    uint32_t way;
    struct ims_cache_entry *hit = ims_cache_find_(c, set, tag, dom, shift, &way);
    if (hit && c->cfg.repl <= IMS_REPL_PLRU)
        ims_cache_touch_(c, set, way);
    return hit;
}

static inline void ims_cache_count_inl(struct ims_cache *c, bool hit)
{
    c->st.lookups++;
    if (hit)
        c->st.hits++;
    else
        c->st.misses++;
}

static inline struct ims_cache_entry *ims_cache_lookup_inl(struct ims_cache *c, uint32_t set, uint64_t tag,
                                                           uint32_t dom, uint8_t shift)
{
    uint32_t way;
    c->st.lookups++;
    struct ims_cache_entry *hit = ims_cache_find_(c, set, tag, dom, shift, &way);
    if (hit) {
        c->st.hits++;
        if (c->cfg.repl <= IMS_REPL_PLRU)
            ims_cache_touch_(c, set, way);
    } else {
        c->st.misses++;
    }
    return hit;
}

#endif /* IMS_CACHE_IMPL_H */
