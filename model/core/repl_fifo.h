/* Internal (included by repl.h only): FIFO replacement. Not architectural.
 * Evicts the way filled longest ago; hits change nothing (gem5's
 * round-robin is modelled with it in configs/gem5-smmuv3-like.cfg). Each
 * way holds the time of its fill from a per-cache clock; a set of more than
 * 64 ways keeps its ways in fill order instead (repl.h). */
#ifndef IMS_REPL_FIFO_H
#define IMS_REPL_FIFO_H

#define IMS_REPL_FIFO_WAY_WORDS 1                                   /* fill time */
#define IMS_REPL_FIFO_SET_WORDS(ways) IMS_REPL_TIME_SET_WORDS(ways) /* wide sets: their list */

static inline void ims_repl_fifo_init(struct ims_repl_state *r, uint64_t seed)
{
    (void)seed;
    r->word = 0; /* the clock */
}

static inline void ims_repl_fifo_touch(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    (void)r, (void)ways, (void)set, (void)way;
}

static inline void ims_repl_fifo_fill(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    if (__builtin_expect(ways > 64, 0))
        ims_repl_list_to_tail_(r, ways, set, way);
    else
        ims_repl_stamp_(r, ways, set, way);
}

static inline uint32_t ims_repl_fifo_victim(struct ims_repl_state *r, uint32_t ways, uint32_t set)
{
    if (__builtin_expect(ways > 64, 0))
        return ims_repl_list_head_(r, set);
    return ims_repl_oldest_(r, ways, set);
}

static inline const char *ims_repl_fifo_check(uint32_t ways)
{
    (void)ways;
    return NULL;
}

#endif /* IMS_REPL_FIFO_H */
