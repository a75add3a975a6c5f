/* Internal (included by pf.h only): recency-based prefetching (Saulsbury,
 * Dahlgren & Stenstrom, ISCA'00; one of the policies Amit et al.,
 * WIOSCA'10, evaluate for the IOTLB). Pages the IOTLB evicts go on top of
 * a recency stack (in hardware, links kept beside the page-table entries;
 * here a doubly linked list over a direct-mapped table of 2^13 nodes: a
 * page whose node another page takes is forgotten). A miss on a page the
 * stack holds names its two neighbours there, the page evicted just after
 * it, then the one just before (at most 2), and takes it off the stack. */
#ifndef IMS_PF_RECENCY_H
#define IMS_PF_RECENCY_H

#define IMS_PF_RECENCY_BITS 13
#define IMS_PF_RECENCY_NODES (1u << IMS_PF_RECENCY_BITS)

struct ims_pf_recency_node {
    uint64_t page;
    uint32_t up1, down1; /* neighbour node + 1 toward the top (newer) and the bottom (older); 0: none */
    uint16_t did;
    uint8_t used;
};

struct ims_pf_recency {
    uint32_t top1; /* node + 1 on top; 0: empty */
    struct ims_pf_recency_node node[IMS_PF_RECENCY_NODES];
};

static inline void ims_pf_recency_unlink_(struct ims_pf_recency *s, uint32_t i)
{
    struct ims_pf_recency_node *n = &s->node[i];
    if (n->up1)
        s->node[n->up1 - 1].down1 = n->down1;
    else
        s->top1 = n->down1;
    if (n->down1)
        s->node[n->down1 - 1].up1 = n->up1;
    n->used = 0;
    n->up1 = n->down1 = 0;
}

static inline void ims_pf_recency_miss(struct ims_pf_recency *s, const struct ims_pf_miss *m, struct ims_pf_cand *c)
{
    const uint32_t i = ims_pf_hash(m->did, m->page, IMS_PF_RECENCY_BITS);
    struct ims_pf_recency_node *n = &s->node[i];
    if (!n->used || n->page != m->page || n->did != m->did)
        return;
    const uint32_t nb[2] = {n->up1, n->down1}; /* newer, then older; same domain only */
    for (unsigned k = 0; k < 2; k++)
        if (nb[k] && s->node[nb[k] - 1].did == m->did && !ims_pf_add(c, s->node[nb[k] - 1].page))
            break;
    ims_pf_recency_unlink_(s, i);
}

static inline void ims_pf_recency_evict(struct ims_pf_recency *s, uint16_t did, uint64_t page)
{
    const uint32_t i = ims_pf_hash(did, page, IMS_PF_RECENCY_BITS);
    struct ims_pf_recency_node *n = &s->node[i];
    if (n->used)
        ims_pf_recency_unlink_(s, i);
    n->page = page;
    n->did = did;
    n->used = 1;
    n->down1 = s->top1;
    n->up1 = 0;
    if (s->top1)
        s->node[s->top1 - 1].up1 = i + 1;
    s->top1 = i + 1;
}

#endif /* IMS_PF_RECENCY_H */
