/* Internal (included by ia.h only): a recycled buffer pool. Freed units
 * queue up and are handed out again oldest first (FIFO), so the pool's
 * buffers come round in a fixed cycle, as a recycled page_pool or an
 * SPDK/DPDK mempool hands out its long-lived buffers; with the queue empty,
 * the next free unit down (ia_topdown.h) grows the pool. The generators'
 * nic --pool is the mapped-once form of the same pool (one MAP of the whole
 * pool, no per-buffer map/unmap); this strategy keeps the recording's
 * map/unmap records and reuses the pool's IOVAs in pool order. A queued
 * unit stays marked used, so the scan never hands it out twice. */
#ifndef IMS_IA_POOL_H
#define IMS_IA_POOL_H

static inline uint64_t ims_ia_pool_alloc(struct ims_ia_state *a, uint64_t slot, bool *ok)
{
    (void)slot;
    if (a->nstack) {
        uint64_t iova = a->stack[a->head];
        a->head = (a->head + 1) % a->cap;
        a->nstack--;
        return iova;
    }
    return ims_ia_scan_down_(a, ok);
}

/* The queue is a ring of cap entries from head; out of memory for it: the
 * unit is freed instead (no reuse first). */
static inline void ims_ia_pool_free(struct ims_ia_state *a, uint64_t iova)
{
    if (a->nstack == a->cap) {
        size_t nc = a->cap ? 2 * a->cap : 64;
        uint64_t *ns = malloc(nc * sizeof *ns);
        if (!ns) {
            ims_ia_mark_(a, (iova - a->base) / a->unit, false);
            return;
        }
        for (size_t i = 0; i < a->nstack; i++)
            ns[i] = a->stack[(a->head + i) % a->cap];
        free(a->stack);
        a->stack = ns;
        a->cap = nc;
        a->head = 0;
    }
    a->stack[(a->head + a->nstack) % a->cap] = iova;
    a->nstack++;
}

#endif /* IMS_IA_POOL_H */
