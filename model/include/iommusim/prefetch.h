/* IOTLB prefetch policies, one line each: X(ENUM, file, "name") gives
 * IMS_PF_<ENUM> (its value is its place in this list; configurations store
 * it), the policy's file model/core/pf_<file>.h and the name configurations
 * use (iotlb.prefetch). Not architectural: VT-d defines no prefetching; these
 * model the hardware proposals docs/config.md ("IOTLB prefetch") cites.
 * The names, name lookup and the dispatch are generated from this list. */
#ifndef IMS_PREFETCH_H
#define IMS_PREFETCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMS_PF_LIST(X)                                                                                                 \
    X(NONE, none, "none")                /* no prefetching (the default) */                                            \
    X(NEXT_PAGE, next, "next-page")      /* the pages after the missed one */                                          \
    X(STRIDE, stride, "stride")          /* per device: a miss stride seen twice in a row */                           \
    X(RING, ring, "ring")                /* per device: the pages that followed the missed one last time round */      \
    X(MARKOV, markov, "markov")          /* global: the missed page's last two successor misses */                     \
    X(DISTANCE, distance, "distance")    /* global: the distances that followed this miss distance */                  \
    X(RECENCY, recency, "recency")       /* the missed page's neighbours in the stack of evicted pages */

enum ims_pf {
#define IMS_PF_ENUM_(U, f, n) IMS_PF_##U,
    IMS_PF_LIST(IMS_PF_ENUM_)
#undef IMS_PF_ENUM_
    IMS_PF_COUNT
};

/* Most pages one miss may prefetch (iotlb.prefetch_degree). */
#define IMS_PF_MAX_DEGREE 16u
/* Most entries of the prefetch buffer (iotlb.prefetch_buffer). */
#define IMS_PF_MAX_BUFFER 4096u

/* The policy named `name` ("next-page", ...), or -1 for an unknown name. */
int ims_pf_from_name(const char *name);
/* The policy's name, or "unknown". */
const char *ims_pf_name(unsigned pf);
/* Every policy's name in enum order: "none, next-page, ..." (for messages). */
const char *ims_pf_known(void);

/* Prefetch statistics (struct ims_stats.pf; docs/stats.md). All 0 with none.
 * candidates = cached + issued; issued = filled + unmapped; a filled entry
 * later counts once as useful (a lookup hit it) or useless (it left the
 * IOTLB by eviction or invalidation unused), or is still resident unused. */
struct ims_pf_stats {
    uint64_t candidates; /* pages the policy named (in the domain, within its address width) */
    uint64_t cached;     /* of those: already in the IOTLB, not walked */
    uint64_t issued;     /* prefetch walks made */
    uint64_t filled;     /* walks that found a translation and inserted it */
    uint64_t unmapped;   /* walks that found none (not present, no permission, reserved bits): nothing inserted */
    uint64_t useful;     /* prefetched entries a lookup hit before they left */
    uint64_t useless;    /* prefetched entries evicted or invalidated before any hit */
    uint64_t reads;      /* paging-entry reads of the prefetch walks (not in ptw_reads) */
    /* With a prefetch buffer (iotlb.prefetch_buffer): of useful, the lookups
     * that missed the IOTLB and hit the buffer (the entry moved into the
     * IOTLB; such a lookup counts as an IOTLB hit). All useful hits are
     * buffer hits then: prefetches never enter the IOTLB directly. */
    uint64_t buffer_hits;
    /* Map-time prefetch (iotlb.prefetch_on_map): map hints received; of
     * those, dropped (no context entry of the domain cached); and of
     * candidates and issued, the hints' pages and walks. */
    uint64_t map_hints, map_dropped, map_candidates, map_issued;
};

#ifdef __cplusplus
}
#endif

#endif /* IMS_PREFETCH_H */
