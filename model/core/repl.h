/* Internal: the replacement policies of struct ims_cache. Not architectural.
 *
 * A policy is one header, repl_<name>.h, registered by one X(ENUM, name)
 * line in IMS_REPL_LIST (iommusim/repl_list.h); its #include goes below (the
 * build fails without it: the generated dispatch names its hooks). The
 * dispatch is a switch on the policy, generated from the list, that the
 * cache's lookup and fill inline: no calls through pointers on the hot path.
 * The hot dispatches (touch, fill, victim) expect value 0, the first listed
 * policy and every cache's default, so its case is tested first.
 *
 * Contract of policy <name> with enum suffix <ENUM>:
 *   IMS_REPL_<ENUM>_WAY_WORDS, IMS_REPL_<ENUM>_SET_WORDS(ways)
 *       uint64_t words of state per way, and per set of `ways` ways: r->way,
 *       r->set (NULL when 0; zeroed at creation; the policy indexes them)
 *   void ims_repl_<name>_init(struct ims_repl_state *r, uint64_t seed)
 *       once at creation: r->word, the policy's one shared word
 *   void ims_repl_<name>_touch(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
 *       a lookup hit (set, way)
 *   void ims_repl_<name>_fill(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
 *       (set, way) was filled: a new entry, or one refilled in place
 *   uint32_t ims_repl_<name>_victim(struct ims_repl_state *r, uint32_t ways, uint32_t set)
 *       the way of `set` to evict, < ways; every way of the set is valid
 *   const char *ims_repl_<name>_check(uint32_t ways)
 *       NULL, or why `ways` (1..IMS_CACHE_MAX_WAYS) does not suit the policy ("must be ...")
 * Hooks see the policy state and the geometry only, never entries: the
 * cache fills invalid ways before it asks for a victim, and invalidation
 * leaves the state alone.
 */
#ifndef IMS_REPL_H
#define IMS_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/cache.h"

struct ims_repl_state {
    uint64_t *way; /* WAY_WORDS per way, set-major, or NULL */
    uint64_t *set; /* SET_WORDS per set, or NULL */
    uint64_t word; /* one per cache: e.g. a clock, an RNG state */
};

/* For policies that order ways by time (LRU: last use, FIFO: fill): one
 * stamp per way from a clock in r->word. */
static inline void ims_repl_stamp_(struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    r->way[(size_t)set * ways + way] = ++r->word;
}

/* The way of `set` with the smallest stamp, the first on ties. */
static inline uint32_t ims_repl_oldest_(const struct ims_repl_state *r, uint32_t ways, uint32_t set)
{
    const uint64_t *st = r->way + (size_t)set * ways;
    uint32_t v = 0;
    uint64_t best = st[0];
    for (uint32_t w = 1; w < ways; w++) {
        bool lt = st[w] < best;
        v = lt ? w : v;
        best = lt ? st[w] : best;
    }
    return v;
}

/* Sets of more than 64 ways (wide caches, cache_impl.h) order their ways
 * by time in a list instead, so that the victim is found without scanning
 * thousands of stamps: the same order (a use or fill moves the way to the
 * tail; the head is the oldest), as every way is filled before a victim is
 * asked for. Per way, r->way holds prev + 1 (bits 31:0) and next + 1 (63:32);
 * per set, r->set holds head + 1 and tail + 1 (0: none). Out of line: the
 * inlined paths of narrow sets stay as they were. */
#define IMS_REPL_TIME_SET_WORDS(ways) ((ways) > 64u ? 1u : 0u)

static __attribute__((noinline, cold, unused)) void ims_repl_list_to_tail_(struct ims_repl_state *r, uint32_t ways,
                                                                           uint32_t set, uint32_t way)
{
    uint64_t *lk = r->way + (size_t)set * ways, *ht = &r->set[set];
    const uint32_t head = (uint32_t)*ht, tail = (uint32_t)(*ht >> 32); /* + 1; 0: empty */
    if (tail == way + 1)
        return;
    const uint32_t prev = (uint32_t)lk[way], next = (uint32_t)(lk[way] >> 32);
    if (head == way + 1 || prev) { /* in the list: unlink (a way alone is head and tail, handled above) */
        if (prev)
            lk[prev - 1] = (lk[prev - 1] & 0xffffffffu) | (uint64_t)next << 32;
        if (next)
            lk[next - 1] = (lk[next - 1] & ~UINT64_C(0xffffffff)) | prev;
        uint32_t h = head == way + 1 ? next : head;
        *ht = h | (uint64_t)tail << 32;
    }
    const uint32_t h = (uint32_t)*ht, t = (uint32_t)(*ht >> 32);
    lk[way] = t; /* prev = old tail, next = none */
    if (t)
        lk[t - 1] = (lk[t - 1] & 0xffffffffu) | (uint64_t)(way + 1) << 32;
    *ht = (h ? h : way + 1) | (uint64_t)(way + 1) << 32;
}

static __attribute__((noinline, cold, unused)) uint32_t ims_repl_list_head_(const struct ims_repl_state *r,
                                                                            uint32_t set)
{
    return (uint32_t)r->set[set] - 1;
}

/* One line per IMS_REPL_LIST entry. */
#include "repl_lru.h"
#include "repl_plru.h"
#include "repl_fifo.h"
#include "repl_random.h"

/* The dispatch, one case per listed policy. */
#define IMS_REPL_CASE_INIT_(U, l)                                                                                      \
    case IMS_REPL_##U:                                                                                                 \
        ims_repl_##l##_init(r, seed);                                                                                  \
        break;
static inline void ims_repl_init_(uint8_t repl, struct ims_repl_state *r, uint64_t seed)
{
    switch (repl) {
        IMS_REPL_LIST(IMS_REPL_CASE_INIT_)
    default:
        break;
    }
}
#undef IMS_REPL_CASE_INIT_

#define IMS_REPL_CASE_TOUCH_(U, l)                                                                                     \
    case IMS_REPL_##U:                                                                                                 \
        ims_repl_##l##_touch(r, ways, set, way);                                                                       \
        break;
static inline void ims_repl_touch_(uint8_t repl, struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    switch (__builtin_expect(repl, 0)) {
        IMS_REPL_LIST(IMS_REPL_CASE_TOUCH_)
    default:
        break;
    }
}
#undef IMS_REPL_CASE_TOUCH_

#define IMS_REPL_CASE_FILL_(U, l)                                                                                      \
    case IMS_REPL_##U:                                                                                                 \
        ims_repl_##l##_fill(r, ways, set, way);                                                                        \
        break;
static inline void ims_repl_fill_(uint8_t repl, struct ims_repl_state *r, uint32_t ways, uint32_t set, uint32_t way)
{
    switch (__builtin_expect(repl, 0)) {
        IMS_REPL_LIST(IMS_REPL_CASE_FILL_)
    default:
        break;
    }
}
#undef IMS_REPL_CASE_FILL_

#define IMS_REPL_CASE_VICTIM_(U, l)                                                                                    \
    case IMS_REPL_##U:                                                                                                 \
        return ims_repl_##l##_victim(r, ways, set);
static inline uint32_t ims_repl_victim_(uint8_t repl, struct ims_repl_state *r, uint32_t ways, uint32_t set)
{
    switch (__builtin_expect(repl, 0)) {
        IMS_REPL_LIST(IMS_REPL_CASE_VICTIM_)
    default:
        return 0; /* not reached: the configuration check rejects unknown policies */
    }
}
#undef IMS_REPL_CASE_VICTIM_

#define IMS_REPL_CASE_CHECK_(U, l)                                                                                     \
    case IMS_REPL_##U:                                                                                                 \
        return ims_repl_##l##_check(ways);
static inline const char *ims_repl_check_(uint8_t repl, uint32_t ways)
{
    switch (repl) {
        IMS_REPL_LIST(IMS_REPL_CASE_CHECK_)
    default:
        return "is not a known policy";
    }
}
#undef IMS_REPL_CASE_CHECK_

#endif /* IMS_REPL_H */
