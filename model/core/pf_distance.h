/* Internal (included by pf.h only): distance prefetching (Kandiraju &
 * Sivasubramaniam, "Going the distance for TLB prefetching", ISCA'02; one
 * of the policies Amit et al., WIOSCA'10, evaluate for the IOTLB). The
 * distance of a miss is its page minus the same device's previous missed
 * page. A table of 2^8 rows, shared by all devices, keyed by a distance,
 * holds the two distances that most recently followed it (most recent
 * first). A miss at distance D records D as following the previous
 * distance, then names P + each distance that followed D (at most 2). */
#ifndef IMS_PF_DISTANCE_H
#define IMS_PF_DISTANCE_H

#define IMS_PF_DISTANCE_BITS 8

struct ims_pf_distance_row {
    int64_t dist;
    int64_t next[2];
    uint8_t n;
    uint8_t valid;
};

struct ims_pf_distance_prev {
    uint32_t rid1; /* rid + 1; 0: unused */
    uint16_t did;
    uint8_t has_dist;
    uint64_t page;
    int64_t dist;
};

struct ims_pf_distance {
    struct ims_pf_distance_prev prev[IMS_PF_SLOTS];
    struct ims_pf_distance_row row[1u << IMS_PF_DISTANCE_BITS];
};

static inline struct ims_pf_distance_row *ims_pf_distance_row_(struct ims_pf_distance *s, int64_t d)
{
    return &s->row[ims_pf_hash(0, (uint64_t)d, IMS_PF_DISTANCE_BITS)];
}

static inline void ims_pf_distance_miss(struct ims_pf_distance *s, const struct ims_pf_miss *m,
                                        struct ims_pf_cand *c)
{
    struct ims_pf_distance_prev *pv = &s->prev[ims_pf_slot(m->rid)];
    if (pv->rid1 != (uint32_t)m->rid + 1u || pv->did != m->did) { /* a new device here */
        *pv = (struct ims_pf_distance_prev){.rid1 = (uint32_t)m->rid + 1u, .did = m->did, .page = m->page};
        return;
    }
    const int64_t d = (int64_t)(m->page - pv->page);
    if (d == 0)
        return;
    if (pv->has_dist) {
        struct ims_pf_distance_row *r = ims_pf_distance_row_(s, pv->dist);
        if (!r->valid || r->dist != pv->dist)
            *r = (struct ims_pf_distance_row){.dist = pv->dist, .valid = 1};
        if (r->n == 0 || r->next[0] != d) {
            r->next[1] = r->next[0];
            r->next[0] = d;
            r->n = r->n < 2 ? (uint8_t)(r->n + 1) : 2;
        }
    }
    pv->page = m->page;
    pv->dist = d;
    pv->has_dist = 1;
    const struct ims_pf_distance_row *r = ims_pf_distance_row_(s, d);
    if (r->valid && r->dist == d)
        for (unsigned i = 0; i < r->n && ims_pf_add(c, m->page + (uint64_t)r->next[i]); i++) {
        }
}

static inline void ims_pf_distance_evict(struct ims_pf_distance *s, uint16_t did, uint64_t page)
{
    (void)s, (void)did, (void)page;
}

#endif /* IMS_PF_DISTANCE_H */
