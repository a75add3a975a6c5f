/* The IOTLB's invalidation (VT-d 6.5.1.2 page-selective, domain-selective
 * and global): which entries an invalidation removes. The lookup and fill
 * are inline in iotlb.h. */
#include "iotlb.h"

/* A page-selective invalidation of a small range need not scan the whole
 * IOTLB: an entry of page shift s overlapping [lo, hi] has a tag in
 * [lo >> s, hi >> s], so it can only live in those tags' sets (up to
 * IMS_INV_SET_LIMIT of them). */

static bool pred(const struct ims_cache_entry *e, void *arg)
{
    struct ims_leaf_scope *m = arg;
    if (!ims_leaf_in_scope(m, e))
        return false;
    if (e->valid) { /* not a copy the classifier's shadow asks about (cache.h) */
        m->mmu->iotlb_size_count[ims_iotlb_size_index(e->shift)]--;
        m->mmu->st.pf.useless += e->spare != 0; /* a prefetched entry never hit (iotlb.prefetch) */
    }
    return true;
}

/* ims_iotlb_invalidate's IOTLB part. */
static size_t invalidate(struct ims_iommu *mmu, bool by_did, uint16_t did, uint64_t lo, uint64_t hi)
{
    struct ims_cache *c = mmu->iotlb;
    struct ims_leaf_scope m = {mmu, by_did, did, lo, hi};
    if (c->ways == 0)
        return 0;
    /* Set-wise only for a domain's small range: count the tags per size held
     * (the classifier's shadow may hold any size). */
    const uint64_t tags = ims_leaf_scope_tags(&m, mmu->iotlb_size_count, c->cls != NULL);
    if (!by_did || tags > IMS_INV_SET_LIMIT || tags > (uint64_t)c->set_mask + 1)
        return ims_cache_invalidate_if(c, pred, &m);
    size_t removed = 0;
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++) {
        if (!mmu->iotlb_size_count[i] && !c->cls) /* the classifier's shadow may hold any size */
            continue;
        const unsigned s = ims_iotlb_shift(i);
        const uint64_t first = lo >> s;
        if (first == hi >> s) { /* inside one page of this size */
            removed += ims_iotlb_remove(mmu, did, first, s);
            continue;
        }
        for (uint64_t tag = first; tag <= hi >> s; tag++)
            removed += ims_cache_invalidate_set_inl(c, ims_iotlb_set(c, tag, did), pred, &m);
    }
    return removed;
}

size_t ims_iotlb_invalidate(struct ims_iommu *mmu, bool by_did, uint16_t did, uint64_t lo, uint64_t hi)
{
    const size_t n = invalidate(mmu, by_did, did, lo, hi);
    if (__builtin_expect(mmu->pf != NULL, 0)) /* the prefetch buffer's entries in the range go too */
        return n + ims_pf_buf_invalidate(mmu, by_did, did, lo, hi);
    return n;
}

/* ---- Miss classification per domain and requester id (cfg.miss_classes) ---- */

/* The row of `id` in rows (n used), entered at first sight; the shared last
 * row once every row is taken. */
static struct ims_id_stats *id_row(struct ims_id_stats *rows, uint32_t *n, uint16_t *row_of, uint16_t id)
{
    if (!row_of[id]) {
        if (*n >= IMS_STATS_IDS) {
            rows[IMS_STATS_IDS].used = 1;
            return &rows[IMS_STATS_IDS];
        }
        row_of[id] = (uint16_t)++ * n;
        rows[*n - 1].id = id;
        rows[*n - 1].used = 1;
    }
    return &rows[row_of[id] - 1];
}

void ims_iotlb_cls_ref(struct ims_iommu *mmu, uint16_t rid, uint16_t did, const struct ims_cache_entry *e)
{
    struct ims_id_stats *d = id_row(mmu->st.by_did, &mmu->st.n_did, mmu->did_row, did);
    struct ims_id_stats *r = id_row(mmu->st.by_rid, &mmu->st.n_rid, mmu->rid_row, rid);
    d->lookups++;
    r->lookups++;
    if (e) {
        d->hits++;
        r->hits++;
        ims_cache_cls_hit_(mmu->iotlb, e);
        return;
    }
    d->misses++;
    r->misses++;
    mmu->cls_pending = true;
    mmu->cls_drow = d;
    mmu->cls_rrow = r;
}

void ims_iotlb_cls_miss(struct ims_iommu *mmu, uint64_t tag, uint16_t did, unsigned shift)
{
    const unsigned m = ims_cache_cls_miss_(mmu->iotlb, tag, did, (uint8_t)shift);
    mmu->cls_drow->miss_class[m]++;
    mmu->cls_rrow->miss_class[m]++;
    mmu->cls_pending = false;
}
