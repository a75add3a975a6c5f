/* Internal: the IOTLB prefetch policies (iotlb.prefetch). Not architectural.
 *
 * A policy is one header, pf_<file>.h, registered by one X(ENUM, file,
 * "name") line in IMS_PF_LIST (iommusim/prefetch.h); its #include goes
 * below (the build fails without it: the generated dispatch names its
 * hooks). Policies predict from the stream of IOTLB misses (and, for
 * recency, of evictions) only: they never see the IOTLB or the tables.
 * prefetch.c asks the policy for candidate pages on each demand miss that
 * walked, drops those the IOTLB holds, and walks the rest; only what the
 * tables map is inserted.
 *
 * Contract of policy <file> with enum suffix <ENUM>:
 *   struct ims_pf_<file>
 *       its state, zeroed at creation (calloc): a member of struct ims_pf
 *   void ims_pf_<file>_miss(struct ims_pf_<file> *s, const struct ims_pf_miss *m, struct ims_pf_cand *c)
 *       a demand miss: learn from it, and add up to c->max candidate 4 KiB
 *       page numbers (IOVA >> 12, same domain) with ims_pf_add()
 *   void ims_pf_<file>_evict(struct ims_pf_<file> *s, uint16_t did, uint64_t page)
 *       the IOTLB evicted (replaced, not invalidated) the entry whose first
 *       4 KiB page is `page` in domain `did`
 * Everything is deterministic: no clocks, no randomness.
 */
#ifndef IMS_PF_H
#define IMS_PF_H

#include <stdbool.h>
#include <stdint.h>

#include "iommusim/prefetch.h"

struct ims_pf_miss {
    uint16_t rid;  /* requester id as the IOMMU sees it */
    uint16_t did;  /* domain id */
    uint64_t page; /* 4 KiB page number of the missed IOVA */
};

struct ims_pf_cand {
    unsigned n, max;
    uint64_t page[IMS_PF_MAX_DEGREE];
};

/* Adds `page` unless it is full or already named. Returns false once full. */
static inline bool ims_pf_add(struct ims_pf_cand *c, uint64_t page)
{
    if (c->n >= c->max)
        return false;
    for (unsigned i = 0; i < c->n; i++)
        if (c->page[i] == page)
            return true;
    c->page[c->n++] = page;
    return c->n < c->max;
}

/* Per-device state slots: a requester id hashes to one of IMS_PF_SLOTS
 * slots; a slot remembers whose it is and restarts when another device
 * takes it. */
#define IMS_PF_SLOTS 64u
static inline unsigned ims_pf_slot(uint16_t rid) { return (rid ^ (rid >> 6) ^ (rid >> 12)) & (IMS_PF_SLOTS - 1); }

/* A hash of (did, page) for the policies' direct-mapped tables. */
static inline uint32_t ims_pf_hash(uint16_t did, uint64_t page, unsigned bits)
{
    uint64_t h = (page ^ (uint64_t)did << 40) * UINT64_C(0x9e3779b97f4a7c15);
    return (uint32_t)(h >> (64 - bits));
}

/* One line per IMS_PF_LIST entry. */
#include "pf_none.h"
#include "pf_next.h"
#include "pf_stride.h"
#include "pf_ring.h"
#include "pf_markov.h"
#include "pf_distance.h"
#include "pf_recency.h"

/* The state of every policy (one is used; the rest stay zero). */
struct ims_pf_state {
#define IMS_PF_MEMBER_(U, f, n) struct ims_pf_##f f;
    IMS_PF_LIST(IMS_PF_MEMBER_)
#undef IMS_PF_MEMBER_
};

#define IMS_PF_CASE_MISS_(U, f, n)                                                                                     \
    case IMS_PF_##U:                                                                                                   \
        ims_pf_##f##_miss(&s->f, m, c);                                                                                \
        break;
static inline void ims_pf_miss_(unsigned pf, struct ims_pf_state *s, const struct ims_pf_miss *m,
                                struct ims_pf_cand *c)
{
    switch (pf) {
        IMS_PF_LIST(IMS_PF_CASE_MISS_)
    default:
        break;
    }
}
#undef IMS_PF_CASE_MISS_

#define IMS_PF_CASE_EVICT_(U, f, n)                                                                                    \
    case IMS_PF_##U:                                                                                                   \
        ims_pf_##f##_evict(&s->f, did, page);                                                                          \
        break;
static inline void ims_pf_evict_(unsigned pf, struct ims_pf_state *s, uint16_t did, uint64_t page)
{
    switch (pf) {
        IMS_PF_LIST(IMS_PF_CASE_EVICT_)
    default:
        break;
    }
}
#undef IMS_PF_CASE_EVICT_

#endif /* IMS_PF_H */
