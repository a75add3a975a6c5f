/* Internal: the paging-structure caches, one set-associative cache per
 * level 2..5 (VT-d 6.2.4: second-level PDE, PDPE, PML4E, PML5E caches). Not
 * architectural in their geometry.
 *
 * Tag: IOVA >> level shift (the IOVA bits the entry translates); dom:
 * domain id; shift: the level. Payload: data = the next table's address (the
 * entry's output); aux = permissions accumulated down to and including the
 * entry. A hit at level L lets the walk start at level L - 1. */
#ifndef IMS_PSC_H
#define IMS_PSC_H

#include "iommu_impl.h"

static inline uint32_t ims_psc_set(const struct ims_cache *c, uint64_t tag, uint64_t did)
{
    return (uint32_t)(tag ^ (tag >> 9) ^ did) & c->set_mask;
}

/* The deepest hit among levels 2..levels (each looked up and counted until
 * one hits), or 0. On a hit *table and *perm get the entry's payload. */
static inline unsigned ims_psc_lookup(struct ims_iommu *mmu, uint64_t iova, uint16_t did, unsigned levels,
                                      uint64_t *table, unsigned *perm)
{
    for (unsigned l = 2; l <= levels; l++) {
        struct ims_cache *pc = mmu->psc[l];
        if (!pc->ways)
            continue;
        uint64_t tag = iova >> ims_level_shift(l);
        struct ims_cache_entry *e = ims_cache_lookup_inl(pc, ims_psc_set(pc, tag, did), tag, did, (uint8_t)l);
        if (e) {
            *table = e->data;
            *perm = e->aux;
            return l;
        }
    }
    return 0;
}

/* Fills level `level`'s entry for iova. Contract: ims_psc_lookup missed at
 * this level (the walk starts below the deepest hit, so every level it
 * fills is one that missed) and nothing has changed the cache since. */
static inline void ims_psc_fill(struct ims_iommu *mmu, unsigned level, uint64_t iova, uint16_t did, uint64_t next,
                                unsigned perm)
{
    struct ims_cache *pc = mmu->psc[level];
    if (!pc->ways)
        return;
    uint64_t tag = iova >> ims_level_shift(level);
    struct ims_cache_entry *pe =
        ims_cache_fill_missed_inl(pc, ims_psc_set(pc, tag, did), tag, did, (uint8_t)level, NULL);
    pe->data = next;
    pe->aux = perm;
}

/* Invalidation: every entry of domain `did` (any if !by_did) whose range
 * overlaps [lo, hi] (bytes, inclusive), at every level. Returns entries removed. */
size_t ims_psc_invalidate(struct ims_iommu *mmu, bool by_did, uint16_t did, uint64_t lo, uint64_t hi);

/* Removes level `level`'s entry (did, tag) if present. */
static inline size_t ims_psc_remove(struct ims_iommu *mmu, unsigned level, uint16_t did, uint64_t tag)
{
    struct ims_cache *c = mmu->psc[level];
    if (c->n_valid == 0 && !c->cls) /* also true of a disabled cache; skips the hashing (the shadow may hold it) */
        return 0;
    return ims_cache_remove_inl(c, ims_psc_set(c, tag, did), tag, did, (uint8_t)level);
}

/* The entries covering the one 4 KiB page at addr: one exact removal per level. */
static inline size_t ims_psc_invalidate_page(struct ims_iommu *mmu, uint16_t did, uint64_t addr)
{
    size_t n = 0;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        n += ims_psc_remove(mmu, l, did, addr >> ims_level_shift(l));
    return n;
}

#endif /* IMS_PSC_H */
