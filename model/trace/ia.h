/* Internal: the generators' IOVA allocation strategies (trace gen
 * --iova-alloc; docs/tools.md). A strategy is one header, ia_<file>.h,
 * registered by one X(ENUM, file, "name") line in IMS_IA_LIST; its
 * #include goes below. Every strategy hands out fixed-size units of
 * [base, base + n * unit) and takes them back; the generators call
 * ims_ia_alloc with the buffer's ring slot (its place in the device's ring
 * or queue, < n), which only slot-aware strategies use.
 *
 * Contract of strategy <file>:
 *   uint64_t ims_ia_<file>_alloc(struct ims_ia_state *a, uint64_t slot, bool *ok)
 *       a free unit's IOVA; *ok = false (and any value) when none is free
 *   void ims_ia_<file>_free(struct ims_ia_state *a, uint64_t iova)
 *       the unit at iova is free again (the driver unmapped it)
 */
#ifndef IMS_IA_H
#define IMS_IA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define IMS_IA_LIST(X)                                                                                                 \
    X(LIFO, lifo, "lifo")             /* freed units first, last freed first; else top-down (Linux's IOVA caches) */  \
    X(TOPDOWN, topdown, "top-down")   /* always the next unit down, wrapping, skipping units in use */                \
    X(RING, ring, "ring")             /* slot s always at unit n - 1 - s: a ring's buffers at consecutive IOVAs */ \
    X(POOL, pool, "pool")             /* freed units again oldest first: a recycled buffer pool (ia_pool.h) */

enum ims_ia {
#define IMS_IA_ENUM_(U, f, n) IMS_IA_##U,
    IMS_IA_LIST(IMS_IA_ENUM_)
#undef IMS_IA_ENUM_
    IMS_IA_COUNT
};

struct ims_ia_state {
    unsigned strategy; /* enum ims_ia */
    uint64_t base, unit, n;
    uint64_t cursor;   /* next unit to try, counting down */
    uint8_t *used;     /* bitmap: mapped or held on the free stack */
    uint64_t *stack;   /* lifo: freed IOVAs */
    size_t nstack, cap;
    size_t head;       /* pool: the oldest queued entry of stack */
};

static inline bool ims_ia_used_(const struct ims_ia_state *a, uint64_t u) { return (a->used[u >> 3] >> (u & 7)) & 1u; }
static inline void ims_ia_mark_(struct ims_ia_state *a, uint64_t u, bool on)
{
    if (on)
        a->used[u >> 3] |= (uint8_t)(1u << (u & 7));
    else
        a->used[u >> 3] &= (uint8_t)~(1u << (u & 7));
}

/* The next free unit from the cursor down, wrapping; marks it used. */
static inline uint64_t ims_ia_scan_down_(struct ims_ia_state *a, bool *ok)
{
    for (uint64_t tries = 0; tries < a->n; tries++) {
        uint64_t u = a->cursor;
        a->cursor = u ? u - 1 : a->n - 1;
        if (!ims_ia_used_(a, u)) {
            ims_ia_mark_(a, u, true);
            return a->base + u * a->unit;
        }
    }
    *ok = false;
    return a->base;
}

#include "ia_lifo.h"
#include "ia_topdown.h"
#include "ia_ring.h"
#include "ia_pool.h"

#define IMS_IA_CASE_ALLOC_(U, f, n)                                                                                    \
    case IMS_IA_##U:                                                                                                   \
        return ims_ia_##f##_alloc(a, slot, ok);
static inline uint64_t ims_ia_alloc(struct ims_ia_state *a, uint64_t slot, bool *ok)
{
    switch (a->strategy) {
        IMS_IA_LIST(IMS_IA_CASE_ALLOC_)
    default:
        *ok = false;
        return a->base;
    }
}
#undef IMS_IA_CASE_ALLOC_

#define IMS_IA_CASE_FREE_(U, f, n)                                                                                     \
    case IMS_IA_##U:                                                                                                   \
        ims_ia_##f##_free(a, iova);                                                                                    \
        break;
static inline void ims_ia_free(struct ims_ia_state *a, uint64_t iova)
{
    switch (a->strategy) {
        IMS_IA_LIST(IMS_IA_CASE_FREE_)
    default:
        break;
    }
}
#undef IMS_IA_CASE_FREE_

#endif /* IMS_IA_H */
