/* Internal (included by repl.h only): LRU replacement. Not architectural.
 * Evicts the least recently used way; hits and fills are uses. Each way
 * holds the time of its last use from a per-cache clock; a set of more than
 * 64 ways keeps its ways in use order instead (repl.h). */
#ifndef IMS_REPL_LRU_H
#define IMS_REPL_LRU_H

#define IMS_REPL_LRU_WAY_WORDS 1                                   /* last use */
#define IMS_REPL_LRU_SET_WORDS(ways) IMS_REPL_TIME_SET_WORDS(ways) /* wide sets: their list */

static inline void ims_repl_lru_init(struct ims_repl_state *r, uint64_t seed)
{
    (void)seed;
    r->word = 0; /* the clock */
}

static inline void ims_repl_lru_touch(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    if (__builtin_expect(ways > 64, 0))
        ims_repl_list_to_tail_(r, ways, set, way);
    else
        ims_repl_stamp_(r, ways, set, way);
}

static inline void ims_repl_lru_fill(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    if (__builtin_expect(ways > 64, 0))
        ims_repl_list_to_tail_(r, ways, set, way);
    else
        ims_repl_stamp_(r, ways, set, way);
}

static inline uint32_t ims_repl_lru_victim(struct ims_repl_state *r, uint32_t ways, uint32_t set)
{
    if (__builtin_expect(ways > 64, 0))
        return ims_repl_list_head_(r, set);
    return ims_repl_oldest_(r, ways, set);
}

static inline const char *ims_repl_lru_check(uint32_t ways)
{
    (void)ways;
    return NULL;
}

#endif /* IMS_REPL_LRU_H */
