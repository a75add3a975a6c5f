/* The replayer's IOVA remap (player.iova_remap; docs/config.md): a record
 * filter between the trace reader and the replay. It re-allocates each
 * recorded MAP's IOVA with an allocation strategy of ia.h and rewrites the
 * IOVAs of the records that follow (UNMAP, page-selective INV_IOTLB, DMA), so
 * a recording replays under another allocator with every translation's
 * output address unchanged. */
#ifndef IMS_IOVA_REMAP_H
#define IMS_IOVA_REMAP_H

#include <stddef.h>
#include <stdint.h>

#include "iommusim/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ims_remap;

/* The strategy's index for `name` ("lifo", "top-down", "ring", "pool");
 * -1 if unknown. ims_remap_known() lists the names for error messages. */
int ims_remap_strategy(const char *name);
const char *ims_remap_known(void);
/* The name of strategy index s ("lifo", ...); NULL if s is out of range. */
const char *ims_remap_name(int s);

/* NULL with a message in err when out of memory or strategy is bad. */
struct ims_remap *ims_remap_new(int strategy, char *err, size_t errlen);
void ims_remap_free(struct ims_remap *m);

/* Rewrites n records in place, in trace order. 0, or -1 with a message in
 * err naming the record (by its index from the first record filtered):
 * the remap's IOVA space is exhausted, or one UNMAP or DMA record covers
 * maps the strategy placed apart (one record cannot follow them; contract:
 * records come out one for one, so record numbers stay the trace's). */
int ims_remap_apply(struct ims_remap *m, struct ims_rec *recs, size_t n, char *err, size_t errlen);

/* Counters (docs/config.md, player.iova_remap). */
struct ims_remap_stats {
    uint64_t maps, dmas_moved, dmas_unmapped, invs_moved, invs_widened;
};
const struct ims_remap_stats *ims_remap_stats(const struct ims_remap *m);

#ifdef __cplusplus
}
#endif

#endif /* IMS_IOVA_REMAP_H */
