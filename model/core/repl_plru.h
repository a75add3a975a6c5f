/* Internal (included by repl.h only): tree pseudo-LRU replacement. Not
 * architectural. One bit per node of a binary tree over the ways: heap
 * order, node n's children are 2n and 2n+1, the leaves are ways + way, so W
 * ways use nodes 1..W-1, bit n of the set's words (ceil(W / 64) words per
 * set; up to 64 ways, the one word of the common geometries). A use points
 * every node on the way's path away from it; the victim follows the bits
 * down. */
#ifndef IMS_REPL_PLRU_H
#define IMS_REPL_PLRU_H

#define IMS_REPL_PLRU_WAY_WORDS 0
#define IMS_REPL_PLRU_SET_WORDS(ways) (((ways) + 63u) / 64u) /* tree bits: node i at bit i % 64 of word i / 64 */

static inline void ims_repl_plru_init(struct ims_repl_state *r, uint64_t seed)
{
    (void)r, (void)seed;
}

/* A wide set's tree (more than 64 ways), out of line: the inlined common
 * path stays as small as it was. */
static __attribute__((noinline, cold, unused)) void ims_repl_plru_touch_wide_(struct ims_repl_state *r, uint32_t ways,
                                                                              uint32_t set, uint32_t way)
{
    uint64_t *bits = r->set + (size_t)set * IMS_REPL_PLRU_SET_WORDS(ways);
    unsigned node = ways + way;
    while (node > 1) {
        unsigned parent = node >> 1;
        uint64_t bit = UINT64_C(1) << (parent & 63);
        if (node & 1)
            bits[parent >> 6] &= ~bit;
        else
            bits[parent >> 6] |= bit;
        node = parent;
    }
}

static inline void ims_repl_plru_touch(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    if (__builtin_expect(ways > 64, 0)) {
        ims_repl_plru_touch_wide_(r, ways, set, way);
        return;
    }
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

static __attribute__((noinline, cold, unused)) uint32_t ims_repl_plru_victim_wide_(struct ims_repl_state *r,
                                                                                   uint32_t ways, uint32_t set)
{
    const uint64_t *bits = r->set + (size_t)set * IMS_REPL_PLRU_SET_WORDS(ways);
    unsigned node = 1;
    while (node < ways)
        node = 2 * node + ((bits[node >> 6] >> (node & 63)) & 1);
    return node - ways;
}

static inline uint32_t ims_repl_plru_victim(struct ims_repl_state *r, uint32_t ways, uint32_t set)
{
    if (__builtin_expect(ways > 64, 0))
        return ims_repl_plru_victim_wide_(r, ways, set);
    unsigned node = 1;
    uint64_t bits = r->set[set];
    while (node < ways)
        node = 2 * node + ((bits >> node) & 1);
    return node - ways;
}

static inline const char *ims_repl_plru_check(uint32_t ways)
{
    return ways & (ways - 1) ? "must be a power of two for plru" : NULL;
}

#endif /* IMS_REPL_PLRU_H */
