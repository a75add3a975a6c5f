/* Internal (included by pf.h only): stride prefetching per device
 * (arbitrary-stride prefetching as Kandiraju & Sivasubramaniam, ISCA'02,
 * apply it to TLBs, with the device in place of the instruction). Each
 * device's slot keeps its last missed page and the stride to the one
 * before; when a miss repeats that stride (S twice in a row, S != 0), it
 * names P + S, P + 2S, .. up to the degree. */
#ifndef IMS_PF_STRIDE_H
#define IMS_PF_STRIDE_H

struct ims_pf_stride_slot {
    uint32_t rid1; /* rid + 1; 0: unused */
    uint16_t did;
    uint64_t last;
    int64_t stride;
};

struct ims_pf_stride {
    struct ims_pf_stride_slot slot[IMS_PF_SLOTS];
};

static inline void ims_pf_stride_miss(struct ims_pf_stride *s, const struct ims_pf_miss *m, struct ims_pf_cand *c)
{
    struct ims_pf_stride_slot *t = &s->slot[ims_pf_slot(m->rid)];
    if (t->rid1 != (uint32_t)m->rid + 1u || t->did != m->did) { /* a new device (or domain) here: start over */
        t->rid1 = (uint32_t)m->rid + 1u;
        t->did = m->did;
        t->last = m->page;
        t->stride = 0;
        return;
    }
    const int64_t d = (int64_t)(m->page - t->last);
    if (d != 0 && d == t->stride)
        for (uint64_t k = 1; ims_pf_add(c, m->page + k * (uint64_t)d); k++) {
        }
    if (d != 0)
        t->stride = d;
    t->last = m->page;
}

static inline void ims_pf_stride_evict(struct ims_pf_stride *s, uint16_t did, uint64_t page)
{
    (void)s, (void)did, (void)page;
}

#endif /* IMS_PF_STRIDE_H */
