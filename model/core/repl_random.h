/* Internal (included by repl.h only): random replacement. Not
 * architectural. The victim is drawn from a per-cache xorshift64 generator
 * seeded from the cache's seed, so a run is deterministic per seed. */
#ifndef IMS_REPL_RANDOM_H
#define IMS_REPL_RANDOM_H

#define IMS_REPL_RANDOM_WAY_WORDS 0
#define IMS_REPL_RANDOM_SET_WORDS(ways) 0u

static inline void ims_repl_random_init(struct ims_repl_state *r, uint64_t seed)
{
    r->word = seed ? seed : UINT64_C(0x9e3779b97f4a7c15); /* xorshift state must not be 0 */
}

static inline void ims_repl_random_touch(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    (void)r, (void)ways, (void)set, (void)way;
}

static inline void ims_repl_random_fill(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    (void)r, (void)ways, (void)set, (void)way;
}

static inline uint32_t ims_repl_random_victim(struct ims_repl_state *r, uint32_t ways, uint32_t set)
{
    (void)set;
    uint64_t x = r->word;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->word = x;
    return (uint32_t)(x % ways);
}

static inline const char *ims_repl_random_check(uint32_t ways)
{
    (void)ways;
    return NULL;
}

#endif /* IMS_REPL_RANDOM_H */
