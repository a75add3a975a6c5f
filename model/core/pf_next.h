/* Internal (included by pf.h only): next-page prefetching. A miss on page P
 * names P + 1 .. P + degree: sequential (one-block-lookahead) prefetching
 * as CPU TLB studies define it, and the "adjacent page" case of I/O buffers
 * that span consecutive IOVA pages. Stateless. */
#ifndef IMS_PF_NEXT_H
#define IMS_PF_NEXT_H

struct ims_pf_next {
    char unused;
};

static inline void ims_pf_next_miss(struct ims_pf_next *s, const struct ims_pf_miss *m, struct ims_pf_cand *c)
{
    (void)s;
    for (uint64_t k = 1; ims_pf_add(c, m->page + k); k++) {
    }
}

static inline void ims_pf_next_evict(struct ims_pf_next *s, uint16_t did, uint64_t page) { (void)s, (void)did, (void)page; }

#endif /* IMS_PF_NEXT_H */
