/* Internal (included by pf.h only): ring-aware prefetching per device. A
 * device's DMA rings reuse their buffers in ring order, so its misses
 * repeat in the order they came last time round (Amit et al., WIOSCA'10,
 * and rIOMMU, Malka et al., ASPLOS'15, build on this order). Each device's
 * slot keeps its last IMS_PF_RING_HIST distinct missed pages in order; a
 * miss on page P that the history holds names the pages that followed P
 * there, up to the degree. A miss P not seen before names nothing. */
#ifndef IMS_PF_RING_H
#define IMS_PF_RING_H

#define IMS_PF_RING_HIST 1024u  /* pages of history per device slot (power of two) */
#define IMS_PF_RING_SLOTS 16u   /* device slots (a requester id hashes to one) */
#define IMS_PF_RING_IDX_BITS 13 /* where each page was last seen: a direct-mapped table of 2^13 */

struct ims_pf_ring_pos {
    uint64_t page;
    uint64_t seq1; /* its place in the slot's history + 1; 0: empty */
    uint16_t did;
    uint8_t slot;
};

struct ims_pf_ring_slot {
    uint32_t rid1; /* rid + 1; 0: unused */
    uint16_t did;
    uint64_t seq;  /* pages appended so far */
    uint64_t hist[IMS_PF_RING_HIST];
};

struct ims_pf_ring {
    struct ims_pf_ring_slot slot[IMS_PF_RING_SLOTS];
    struct ims_pf_ring_pos pos[1u << IMS_PF_RING_IDX_BITS];
};

static inline void ims_pf_ring_miss(struct ims_pf_ring *s, const struct ims_pf_miss *m, struct ims_pf_cand *c)
{
    const unsigned si = (m->rid ^ (m->rid >> 4) ^ (m->rid >> 8)) & (IMS_PF_RING_SLOTS - 1);
    struct ims_pf_ring_slot *t = &s->slot[si];
    if (t->rid1 != (uint32_t)m->rid + 1u || t->did != m->did) { /* a new device here: its history starts empty */
        t->rid1 = (uint32_t)m->rid + 1u;
        t->did = m->did;
        t->seq += IMS_PF_RING_HIST; /* every older position is now out of the window */
    }
    struct ims_pf_ring_pos *p = &s->pos[ims_pf_hash(m->did, m->page, IMS_PF_RING_IDX_BITS)];
    if (p->seq1 && p->page == m->page && p->did == m->did && p->slot == si && t->seq - (p->seq1 - 1) <= IMS_PF_RING_HIST)
        for (uint64_t q = p->seq1; q < t->seq; q++) /* the pages after P, oldest first */
            if (!ims_pf_add(c, t->hist[q & (IMS_PF_RING_HIST - 1)]))
                break;
    t->hist[t->seq & (IMS_PF_RING_HIST - 1)] = m->page;
    p->page = m->page;
    p->did = m->did;
    p->slot = (uint8_t)si;
    p->seq1 = ++t->seq;
}

static inline void ims_pf_ring_evict(struct ims_pf_ring *s, uint16_t did, uint64_t page)
{
    (void)s, (void)did, (void)page;
}

#endif /* IMS_PF_RING_H */
