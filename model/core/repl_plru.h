/* Internal (included by repl.h only): tree pseudo-LRU replacement. Not
 * architectural. One bit per node of a binary tree over the ways, in one
 * 64-bit word per set: heap order, node n's children are 2n and 2n+1, the
 * leaves are ways + way, so 64 ways use nodes 1..63. A use points every node
 * on the way's path away from it; the victim follows the bits down. */
#ifndef IMS_REPL_PLRU_H
#define IMS_REPL_PLRU_H

#define IMS_REPL_PLRU_WAY_WORDS 0
#define IMS_REPL_PLRU_SET_WORDS 1 /* tree bits: node i at bit i */

static inline void ims_repl_plru_init(struct ims_repl_state *r, uint64_t seed)
{
    (void)r, (void)seed;
}

static inline void ims_repl_plru_touch(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    /* A node bit of 1 points the victim search right. */
    uint64_t bits = r->set[set];
    unsigned node = ways + way;
    while (node > 1) {
        unsigned parent = node >> 1;
        if (node & 1)
            bits &= ~(UINT64_C(1) << parent); /* used right: victim left */
        else
            bits |= UINT64_C(1) << parent; /* used left: victim right */
        node = parent;
    }
    r->set[set] = bits;
}

static inline void ims_repl_plru_fill(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    ims_repl_plru_touch(r, ways, set, way);
}

static inline uint32_t ims_repl_plru_victim(struct ims_repl_state *r, uint32_t ways, uint32_t set)
{
    uint64_t bits = r->set[set];
    unsigned node = 1;
    while (node < ways)
        node = 2 * node + ((bits >> node) & 1);
    return node - ways;
}

static inline const char *ims_repl_plru_check(uint32_t ways)
{
    return ways & (ways - 1) ? "must be a power of two for plru" : NULL;
}

#endif /* IMS_REPL_PLRU_H */
