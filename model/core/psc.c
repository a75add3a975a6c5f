/* The paging-structure caches' invalidation: which entries an IOTLB
 * invalidation without the hint removes (VT-d 6.5.1.2: paging-structure
 * caches are invalidated with the IOTLB unless IH says only leaves changed).
 * The lookup and fill are inline in psc.h. */
#include "psc.h"

struct match {
    bool by_did;
    uint16_t did;
    uint64_t lo, hi; /* bytes, inclusive */
    unsigned shift;  /* the level's shift */
};

static bool pred(const struct ims_cache_entry *e, void *arg)
{
    const struct match *m = arg;
    if (m->by_did && e->dom != m->did)
        return false;
    uint64_t first = e->tag << m->shift;
    uint64_t last = first + ((UINT64_C(1) << m->shift) - 1);
    return !(last < m->lo || first > m->hi);
}

size_t ims_psc_invalidate(struct ims_iommu *mmu, bool by_did, uint16_t did, uint64_t lo, uint64_t hi)
{
    size_t n = 0;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
        struct ims_cache *c = mmu->psc[l];
        const unsigned s = ims_level_shift(l);
        struct match m = {by_did, did, lo, hi, s};
        const uint64_t first = lo >> s, last = hi >> s;
        if (c->ways == 0)
            continue;
        if (!by_did || last - first + 1 > IMS_INV_SET_LIMIT || last - first + 1 > (uint64_t)c->set_mask + 1) {
            n += ims_cache_invalidate_if(c, pred, &m);
        } else if (first == last) { /* inside one entry's range */
            n += ims_psc_remove(mmu, l, did, first);
        } else {
            for (uint64_t tag = first; tag <= last; tag++)
                n += ims_cache_invalidate_set_inl(c, ims_psc_set(c, tag, did), pred, &m);
        }
    }
    return n;
}
