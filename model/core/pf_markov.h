/* Internal (included by pf.h only): Markov prefetching (Joseph & Grunwald,
 * ISCA'97; for TLBs, Kandiraju & Sivasubramaniam, ISCA'02; one of the
 * policies Amit et al., WIOSCA'10, evaluate for the IOTLB). A
 * direct-mapped table of 2^12 rows, one per missed page, holds the two
 * pages that most recently missed next after it on the same device (most
 * recent first). A miss on P records P as the successor of the device's
 * previous miss, then names P's successors (at most 2, whatever the degree). */
#ifndef IMS_PF_MARKOV_H
#define IMS_PF_MARKOV_H

#define IMS_PF_MARKOV_BITS 12

struct ims_pf_markov_row {
    uint64_t page;
    uint64_t succ[2];
    uint8_t n; /* successors held */
    uint8_t valid;
    uint16_t did;
};

struct ims_pf_markov_prev {
    uint32_t rid1; /* rid + 1; 0: unused */
    uint16_t did;
    uint64_t page;
};

struct ims_pf_markov {
    struct ims_pf_markov_prev prev[IMS_PF_SLOTS];
    struct ims_pf_markov_row row[1u << IMS_PF_MARKOV_BITS];
};

static inline struct ims_pf_markov_row *ims_pf_markov_row_(struct ims_pf_markov *s, uint16_t did, uint64_t page)
{
    return &s->row[ims_pf_hash(did, page, IMS_PF_MARKOV_BITS)];
}

static inline void ims_pf_markov_miss(struct ims_pf_markov *s, const struct ims_pf_miss *m, struct ims_pf_cand *c)
{
    struct ims_pf_markov_prev *pv = &s->prev[ims_pf_slot(m->rid)];
    if (pv->rid1 == (uint32_t)m->rid + 1u && pv->did == m->did && pv->page != m->page) {
        struct ims_pf_markov_row *r = ims_pf_markov_row_(s, m->did, pv->page);
        if (!r->valid || r->page != pv->page || r->did != m->did) /* claim the row */
            *r = (struct ims_pf_markov_row){.page = pv->page, .valid = 1, .did = m->did};
        if (r->n == 0 || r->succ[0] != m->page) {
            r->succ[1] = r->succ[0];
            r->succ[0] = m->page;
            r->n = r->n < 2 ? (uint8_t)(r->n + 1) : 2;
        }
    }
    pv->rid1 = (uint32_t)m->rid + 1u;
    pv->did = m->did;
    pv->page = m->page;
    const struct ims_pf_markov_row *r = ims_pf_markov_row_(s, m->did, m->page);
    if (r->valid && r->page == m->page && r->did == m->did)
        for (unsigned i = 0; i < r->n && ims_pf_add(c, r->succ[i]); i++) {
        }
}

static inline void ims_pf_markov_evict(struct ims_pf_markov *s, uint16_t did, uint64_t page)
{
    (void)s, (void)did, (void)page;
}

#endif /* IMS_PF_MARKOV_H */
