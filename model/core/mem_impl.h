/* Internal: the layout of struct ims_mem, shared by mem.c and the table
 * builder so that a read or write hitting the frame cache can be inlined
 * (the builder makes several per map and unmap). Nothing outside
 * model/core includes this file. */
#ifndef IMS_MEM_IMPL_H
#define IMS_MEM_IMPL_H

#include <stddef.h>
#include <string.h>

#include "iommusim/mem.h"

#define IMS_MEM_FRAME_CACHE 64 /* entries, power of two */

struct ims_mem {
    uint64_t *keys;   /* frame number, or UINT64_MAX (empty) */
    uint8_t **pages;  /* 4 KiB each */
    size_t cap;       /* power of two */
    size_t used;
    unsigned bits;    /* log2(cap) */
    /* Direct-mapped cache of recently used frames, indexed by the low bits
     * of the frame number: a walk touches a handful of table frames in turn
     * (root, context, one per level), which a single entry would not hold. */
    uint64_t fc_fn[IMS_MEM_FRAME_CACHE];
    uint8_t *fc_page[IMS_MEM_FRAME_CACHE];
    void (*free_hook)(void *ctx, uint64_t pa); /* see ims_mem_set_free_hook */
    void *free_ctx;
    uint64_t err_lo, err_hi; /* reads in [err_lo, err_hi] fail (ims_mem_set_error_range); empty: lo > hi */
};

/* ims_mem_read64, with the frame-cache hit inlined; a miss takes the full
 * lookup (which also refills the frame cache), so the result and the
 * memory's state are the same either way. */
static inline uint64_t ims_mem_read64_inl(struct ims_mem *m, uint64_t pa)
{
    const uint64_t fn = pa >> IMS_PAGE_SHIFT;
    const size_t c = (size_t)fn & (IMS_MEM_FRAME_CACHE - 1);
    if (__builtin_expect(m->fc_fn[c] != fn, 0))
        return ims_mem_read64(m, pa);
    uint64_t v;
    memcpy(&v, m->fc_page[c] + (pa & (IMS_PAGE_SIZE - 8)), 8); /* host is little-endian (x86-64) */
    return v;
}

/* ims_mem_write64, with the frame-cache hit inlined (as above). */
static inline void ims_mem_write64_inl(struct ims_mem *m, uint64_t pa, uint64_t val)
{
    const uint64_t fn = pa >> IMS_PAGE_SHIFT;
    const size_t c = (size_t)fn & (IMS_MEM_FRAME_CACHE - 1);
    if (__builtin_expect(m->fc_fn[c] != fn, 0)) {
        ims_mem_write64(m, pa, val);
        return;
    }
    memcpy(m->fc_page[c] + (pa & (IMS_PAGE_SIZE - 8)), &val, 8);
}

#endif /* IMS_MEM_IMPL_H */
