/* Internal (included by pf.h only): no prefetching. The IOMMU creates no
 * prefetch state for it (prefetch.c); the hooks exist for the dispatch. */
#ifndef IMS_PF_NONE_H
#define IMS_PF_NONE_H

struct ims_pf_none {
    char unused;
};

static inline void ims_pf_none_miss(struct ims_pf_none *s, const struct ims_pf_miss *m, struct ims_pf_cand *c)
{
    (void)s, (void)m, (void)c;
}

static inline void ims_pf_none_evict(struct ims_pf_none *s, uint16_t did, uint64_t page) { (void)s, (void)did, (void)page; }

#endif /* IMS_PF_NONE_H */
