/* Internal: the IOTLB. Not architectural in its geometry: one
 * set-associative cache holding leaf translations of every page size.
 *
 * Tag: page number (IOVA >> page shift); dom: domain id (PASID bits above
 * bit 16 are 0 in legacy mode); shift: the page size (12, 21 or 30).
 * Payload: data = output page address; aux = permissions (IMS_PERM_*).
 * Faults are never cached. The instance counts valid entries per page size,
 * so a lookup probes only the sizes the IOTLB holds. */
#ifndef IMS_IOTLB_H
#define IMS_IOTLB_H

#include "iommu_impl.h"

/* Index of a page shift in iotlb_size_count. */
static inline unsigned ims_iotlb_size_index(unsigned shift) { return (shift - IMS_PAGE_SHIFT) / 9; }

static inline uint32_t ims_iotlb_set(const struct ims_cache *c, uint64_t tag, uint64_t did)
{
    uint64_t h = tag ^ (tag >> 7) ^ (did * 0x9e5u);
    return (uint32_t)h & c->set_mask;
}

/* An invalidation's scope over leaf entries (the IOTLB's, iotlb.c, and the
 * prefetch buffer's, prefetch.c): domain did (any if !by_did) and the bytes
 * [lo, hi], inclusive. */
struct ims_leaf_scope {
    struct ims_iommu *mmu;
    bool by_did;
    uint16_t did;
    uint64_t lo, hi;
};

/* Is entry e (tag = page number at its shift) in scope m? */
static inline bool ims_leaf_in_scope(const struct ims_leaf_scope *m, const struct ims_cache_entry *e)
{
    const uint64_t first = e->tag << e->shift, last = first + ((UINT64_C(1) << e->shift) - 1);
    return (!m->by_did || e->dom == m->did) && last >= m->lo && first <= m->hi;
}

/* Tags that removing scope m tag by tag would probe: over each page size
 * whose count[] is not 0, or over every size if all. */
static inline uint64_t ims_leaf_scope_tags(const struct ims_leaf_scope *m, const uint32_t count[IMS_IOTLB_NSIZES],
                                           bool all)
{
    uint64_t tags = 0;
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++)
        if (count[i] || all)
            tags += (m->hi >> ims_iotlb_shift(i)) - (m->lo >> ims_iotlb_shift(i)) + 1;
    return tags;
}

/* Prefetching (iotlb.prefetch; prefetch.c, out of line). A prefetched
 * entry carries spare = 1 until its first hit: ims_pf_hit counts it useful
 * and clears the mark; one that leaves marked (evicted, invalidated) counts
 * useless. ims_pf_filled runs on every fill while mmu->pf is set: it clears
 * the mark of the new entry and tells the policy of the victim, if any. */
void ims_pf_hit(struct ims_iommu *mmu, struct ims_cache_entry *e);
void ims_pf_filled(struct ims_iommu *mmu, struct ims_cache_entry *e, const struct ims_cache_entry *victim);
void ims_pf_removing(struct ims_iommu *mmu, uint16_t did, uint64_t tag, unsigned shift);
/* The prefetch buffer (iotlb.prefetch_buffer; prefetch.c), while mmu->pf is
 * set (each returns at once without a buffer). ims_pf_buf_take: an IOTLB
 * lookup that missed every size the IOTLB holds asks the buffer; on a hit
 * the entry leaves the buffer and is filled into the IOTLB (a fill like a
 * walk's, victim and all), and that IOTLB entry is returned with its size
 * in *shift. ims_pf_buf_fill: a prefetch walk's fill (mmu->pf_buffering).
 * ims_pf_buf_invalidate: every buffer entry of domain did (any if !by_did)
 * overlapping [lo, hi] (bytes, inclusive) goes, as ims_iotlb_invalidate
 * removes IOTLB entries; returns the count. */
struct ims_cache_entry *ims_pf_buf_take(struct ims_iommu *mmu, uint64_t iova, uint16_t did, unsigned *shift);
void ims_pf_buf_fill(struct ims_iommu *mmu, uint64_t iova, uint16_t did, unsigned shift, uint64_t base, unsigned perm);
size_t ims_pf_buf_invalidate(struct ims_iommu *mmu, bool by_did, uint16_t did, uint64_t lo, uint64_t hi);

/* One probe for one page size; updates replacement state, counts nothing. */
static inline struct ims_cache_entry *ims_iotlb_probe(struct ims_cache *tlb, uint64_t iova, uint16_t did,
                                                      unsigned shift)
{
    uint64_t tag = iova >> shift;
    return ims_cache_find_touch_inl(tlb, ims_iotlb_set(tlb, tag, did), tag, did, (uint8_t)shift);
}

/* One logical lookup (counted once), probing only the page sizes the IOTLB
 * holds, 4 KiB first. Returns the entry or NULL; *shift_out gets its size.
 * Always inline: ims_translate's hit path and its cold ATS path both use it. */
static inline __attribute__((always_inline)) struct ims_cache_entry *
ims_iotlb_lookup(struct ims_iommu *mmu, uint64_t iova, uint16_t did, unsigned *shift_out)
{
    struct ims_cache *tlb = mmu->iotlb;
    struct ims_cache_entry *e = NULL;
    unsigned shift = 12;
    if (__builtin_expect(mmu->iotlb_size_count[0] != 0, 1))
        e = ims_iotlb_probe(tlb, iova, did, 12);
    if (!e && mmu->iotlb_size_count[1]) {
        shift = 21;
        e = ims_iotlb_probe(tlb, iova, did, 21);
    }
    if (!e && mmu->iotlb_size_count[2]) {
        shift = 30;
        e = ims_iotlb_probe(tlb, iova, did, 30);
    }
    if (__builtin_expect(e == NULL && mmu->pf != NULL, 0)) /* the prefetch buffer, if any (iotlb.prefetch_buffer) */
        e = ims_pf_buf_take(mmu, iova, did, &shift);
    if (tlb->ways)
        ims_cache_count_inl(tlb, e != NULL);
    if (__builtin_expect(e != NULL && e->spare != 0, 0)) /* a prefetched entry's first hit (iotlb.prefetch) */
        ims_pf_hit(mmu, e);
    *shift_out = shift;
    return e;
}

/* Miss classification (cfg.miss_classes; iotlb.c, out of line): a logical
 * lookup by requester id rid in domain did that hit e, or missed (e NULL).
 * A miss stays pending (mmu->cls_pending) until ims_iotlb_cls_miss
 * classifies it by its key: the entry the walk fills (ims_iotlb_fill), or,
 * when the walk faults and fills nothing, the 4 KiB page's (translate.c). */
void ims_iotlb_cls_ref(struct ims_iommu *mmu, uint16_t rid, uint16_t did, const struct ims_cache_entry *e);
void ims_iotlb_cls_miss(struct ims_iommu *mmu, uint64_t tag, uint16_t did, unsigned shift);

/* Fills the translation of a walk. Contract: the IOTLB holds no entry for
 * this page: the lookup missed for every page size it holds (an absent size
 * has no entry to find), and nothing has changed the IOTLB since (the walk's
 * memory reads do not re-enter the IOMMU). */
static inline __attribute__((always_inline)) void ims_iotlb_fill(struct ims_iommu *mmu, uint64_t iova, uint16_t did,
                                                                 unsigned shift, uint64_t base, unsigned perm)
{
    struct ims_cache *c = mmu->iotlb;
    if (!c->ways)
        return;
    if (__builtin_expect(mmu->pf_buffering, 0)) { /* a prefetch walk, with a prefetch buffer: the buffer's */
        ims_pf_buf_fill(mmu, iova, did, shift, base, perm);
        return;
    }
    uint64_t tag = iova >> shift;
    if (__builtin_expect(mmu->cls_pending, 0))
        ims_iotlb_cls_miss(mmu, tag, did, shift);
    struct ims_cache_entry victim;
    victim.valid = 0;
    struct ims_cache_entry *e =
        ims_cache_fill_missed_inl(c, ims_iotlb_set(c, tag, did), tag, did, (uint8_t)shift, &victim);
    e->data = base;
    e->aux = perm;
    mmu->iotlb_size_count[ims_iotlb_size_index(shift)]++;
    if (victim.valid)
        mmu->iotlb_size_count[ims_iotlb_size_index(victim.shift)]--;
    if (__builtin_expect(mmu->pf != NULL, 0))
        ims_pf_filled(mmu, e, &victim);
}

/* Invalidation (VT-d 6.5.1.2): every entry of domain `did` (any domain if
 * !by_did) overlapping [lo, hi] (bytes, inclusive), in the IOTLB and in the
 * prefetch buffer (iotlb.prefetch_buffer). Returns entries removed. */
size_t ims_iotlb_invalidate(struct ims_iommu *mmu, bool by_did, uint16_t did, uint64_t lo, uint64_t hi);

/* Removes the entry (did, tag, shift) if present, keeping the size counts. */
static inline size_t ims_iotlb_remove(struct ims_iommu *mmu, uint16_t did, uint64_t tag, unsigned shift)
{
    struct ims_cache *c = mmu->iotlb;
    if (c->n_valid == 0 && !c->cls) /* also true of a disabled IOTLB; skips the hashing (the shadow may hold it) */
        return 0;
    if (__builtin_expect(mmu->pf != NULL, 0)) /* a prefetched entry leaving unused counts useless */
        ims_pf_removing(mmu, did, tag, shift);
    if (!ims_cache_remove_inl(c, ims_iotlb_set(c, tag, did), tag, did, (uint8_t)shift))
        return 0;
    mmu->iotlb_size_count[ims_iotlb_size_index(shift)]--;
    return 1;
}

/* The one 4 KiB page at addr in domain `did` (what a strict-mode driver
 * invalidates per unmapped page): one exact removal per size held, in the
 * IOTLB and in the prefetch buffer. */
static inline size_t ims_iotlb_invalidate_page(struct ims_iommu *mmu, uint16_t did, uint64_t addr)
{
    const struct ims_cache *c = mmu->iotlb;
    if (__builtin_expect(!c->cls && !mmu->pf, 1)) { /* the loop below, without its per-size tests of both */
        if (c->n_valid == 0) /* also true of a disabled IOTLB */
            return 0;
        size_t n = 0;
        for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++) {
            const unsigned s = ims_iotlb_shift(i);
            const uint64_t tag = addr >> s;
            if (mmu->iotlb_size_count[i] &&
                ims_cache_remove_inl(mmu->iotlb, ims_iotlb_set(c, tag, did), tag, did, (uint8_t)s)) {
                mmu->iotlb_size_count[i]--;
                n++;
            }
        }
        return n;
    }
    size_t n = 0;
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++)
        if (mmu->iotlb_size_count[i] || mmu->iotlb->cls) /* the classifier's shadow may hold any size */
            n += ims_iotlb_remove(mmu, did, addr >> ims_iotlb_shift(i), ims_iotlb_shift(i));
    if (mmu->pf) /* the prefetch buffer's entries of the page go too */
        n += ims_pf_buf_invalidate(mmu, true, did, addr & ~(IMS_PAGE_SIZE - 1), addr | (IMS_PAGE_SIZE - 1));
    return n;
}

#endif /* IMS_IOTLB_H */
