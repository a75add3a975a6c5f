/* Internal (included by ia.h only): top-down, today's --recycle off: every
 * allocation takes the next free unit below the last one, wrapping at the
 * bottom and skipping units still in use, so freed IOVAs come back only
 * after a whole lap (Linux's rbtree allocator without its caches). */
#ifndef IMS_IA_TOPDOWN_H
#define IMS_IA_TOPDOWN_H

static inline uint64_t ims_ia_topdown_alloc(struct ims_ia_state *a, uint64_t slot, bool *ok)
{
    (void)slot;
    return ims_ia_scan_down_(a, ok);
}

static inline void ims_ia_topdown_free(struct ims_ia_state *a, uint64_t iova)
{
    ims_ia_mark_(a, (iova - a->base) / a->unit, false);
}

#endif /* IMS_IA_TOPDOWN_H */
