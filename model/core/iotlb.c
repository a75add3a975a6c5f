/* The IOTLB's invalidation (VT-d 6.5.1.2 page-selective, domain-selective
 * and global): which entries an invalidation removes. The lookup and fill
 * are inline in iotlb.h. */
#include "iotlb.h"

/* A page-selective invalidation of a small range need not scan the whole
 * IOTLB: an entry of page shift s overlapping [lo, hi] has a tag in
 * [lo >> s, hi >> s], so it can only live in those tags' sets (up to
 * IMS_INV_SET_LIMIT of them). */

struct match {
    struct ims_iommu *mmu;
    bool by_did;
    uint16_t did;
    uint64_t lo, hi; /* bytes, inclusive */
};

static bool pred(const struct ims_cache_entry *e, void *arg)
{
    struct match *m = arg;
    if (m->by_did && e->dom != m->did)
        return false;
    uint64_t first = e->tag << e->shift;
    uint64_t last = first + ((UINT64_C(1) << e->shift) - 1);
    if (last < m->lo || first > m->hi)
        return false;
    m->mmu->iotlb_size_count[ims_iotlb_size_index(e->shift)]--;
    return true;
}

size_t ims_iotlb_invalidate(struct ims_iommu *mmu, bool by_did, uint16_t did, uint64_t lo, uint64_t hi)
{
    struct ims_cache *c = mmu->iotlb;
    struct match m = {mmu, by_did, did, lo, hi};
    if (c->ways == 0)
        return 0;
    /* Set-wise only for a domain's small range: count the tags per size held. */
    uint64_t tags = 0;
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++)
        if (mmu->iotlb_size_count[i])
            tags += (hi >> ims_iotlb_shift(i)) - (lo >> ims_iotlb_shift(i)) + 1;
    if (!by_did || tags > IMS_INV_SET_LIMIT || tags > (uint64_t)c->set_mask + 1)
        return ims_cache_invalidate_if(c, pred, &m);
    size_t removed = 0;
    for (unsigned i = 0; i < IMS_IOTLB_NSIZES; i++) {
        if (!mmu->iotlb_size_count[i])
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
