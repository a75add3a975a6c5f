/* Internal (included by ia.h only): ring-aware contiguous allocation. A
 * buffer of ring slot s always gets unit n - 1 - s, so a ring's buffers sit
 * at consecutive IOVAs, from the top of the range down, and a slot reuses
 * its IOVA each time round (the layout Amit et al., WIOSCA'10, and rIOMMU,
 * Malka et al., ASPLOS'15, propose for rings). The slot's unit must be free
 * (the driver unmapped the slot's previous buffer): with deferred unmaps
 * it is not until the flush, so the generator refuses that combination. */
#ifndef IMS_IA_RING_H
#define IMS_IA_RING_H

static inline uint64_t ims_ia_ring_alloc(struct ims_ia_state *a, uint64_t slot, bool *ok)
{
    if (slot >= a->n || ims_ia_used_(a, a->n - 1 - slot)) {
        *ok = false;
        return a->base;
    }
    ims_ia_mark_(a, a->n - 1 - slot, true);
    return a->base + (a->n - 1 - slot) * a->unit;
}

static inline void ims_ia_ring_free(struct ims_ia_state *a, uint64_t iova)
{
    ims_ia_mark_(a, (iova - a->base) / a->unit, false);
}

#endif /* IMS_IA_RING_H */
