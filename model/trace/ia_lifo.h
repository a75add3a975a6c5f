/* Internal (included by ia.h only): LIFO reuse, today's --recycle on. A
 * freed unit goes on a stack and is handed out again first, the last freed
 * first (as Linux's per-CPU IOVA caches do); with the stack empty, the next
 * free unit down from a cursor (ia_topdown.h). A unit on the stack stays
 * marked used, so the scan never hands it out twice. */
#ifndef IMS_IA_LIFO_H
#define IMS_IA_LIFO_H

static inline uint64_t ims_ia_lifo_alloc(struct ims_ia_state *a, uint64_t slot, bool *ok)
{
    (void)slot;
    if (a->nstack)
        return a->stack[--a->nstack];
    return ims_ia_scan_down_(a, ok);
}

/* Out of memory for the stack: the unit is freed instead (no reuse first). */
static inline void ims_ia_lifo_free(struct ims_ia_state *a, uint64_t iova)
{
    if (a->nstack == a->cap) {
        size_t nc = a->cap ? 2 * a->cap : 64;
        uint64_t *ns = realloc(a->stack, nc * sizeof *ns);
        if (!ns) {
            ims_ia_mark_(a, (iova - a->base) / a->unit, false);
            return;
        }
        a->stack = ns;
        a->cap = nc;
    }
    a->stack[a->nstack++] = iova;
}

#endif /* IMS_IA_LIFO_H */
