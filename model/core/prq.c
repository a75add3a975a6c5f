/* The page request queue (iommusim/prq.h; VT-d 7.4-7.6, 11.4.11). */
#include "iommusim/prq.h"

#include <stdlib.h>

#include "iommu_impl.h"
#include "iommusim/vtd.h"

struct ims_prq {
    struct ims_iommu *mmu;
    uint64_t pqa;      /* PQA_REG as written */
    uint64_t head;     /* PQH_REG: byte offset */
    uint64_t tail;     /* PQT_REG: byte offset */
    uint32_t prs;      /* PRS_REG */
    struct ims_prq_stats st;
};

/* Descriptor fields (VT-d 7.4.1.1, Page Request Descriptor):
 * qw0: [7:0] type (1), [8] PP (PASID present), [31:16] RID, [51:32] PASID,
 *      [52] ER (execute requested), [53] PM (privileged mode requested);
 * qw1: [0] RR (read), [1] WR (write), [2] LPIG, [11:3] PRG index,
 *      [63:12] page address; qw2, qw3: private data (not modelled: 0). */
#define PRD_TYPE 1u
#define PRD_PP (UINT64_C(1) << 8)
#define PRD_ER (UINT64_C(1) << 52)
#define PRD_PM (UINT64_C(1) << 53)
#define PRD_QW0_RSVD (UINT64_C(0x7f) << 9 | ~UINT64_C(0) << 54)
#define PRD_RR UINT64_C(1)
#define PRD_WR (UINT64_C(1) << 1)
#define PRD_LPIG (UINT64_C(1) << 2)
#define PQA_PQS UINT64_C(7)
#define PQA_RSVD UINT64_C(0xff8) /* bits 11:3 */

struct ims_prq *ims_prq_create(struct ims_iommu *mmu)
{
    struct ims_prq *q = calloc(1, sizeof *q);
    if (q)
        q->mmu = mmu;
    return q;
}

void ims_prq_destroy(struct ims_prq *q) { free(q); }

static uint64_t queue_bytes(const struct ims_prq *q)
{
    return q->pqa ? (uint64_t)IMS_PRQ_DESC_BYTES << ((q->pqa & PQA_PQS) + 7) : 0;
}

uint32_t ims_prq_entries(const struct ims_prq *q) { return (uint32_t)(queue_bytes(q) / IMS_PRQ_DESC_BYTES); }

int ims_prq_set_pqa(struct ims_prq *q, uint64_t pqa)
{
    if (pqa & PQA_RSVD)
        return -1;
    q->pqa = pqa;
    q->head = q->tail = 0;
    return 0;
}

uint64_t ims_prq_pqa(const struct ims_prq *q) { return q->pqa; }

int ims_prq_set_head(struct ims_prq *q, uint64_t pqh)
{
    if (pqh % IMS_PRQ_DESC_BYTES || pqh >= queue_bytes(q))
        return -1;
    q->head = pqh;
    return 0;
}

uint64_t ims_prq_head(const struct ims_prq *q) { return q->head; }
uint64_t ims_prq_tail(const struct ims_prq *q) { return q->tail; }
uint32_t ims_prq_status(const struct ims_prq *q) { return q->prs; }
void ims_prq_clear_status(struct ims_prq *q, uint32_t w1c) { q->prs &= ~(w1c & (IMS_PRS_PPR | IMS_PRS_PRO)); }
const struct ims_prq_stats *ims_prq_stats(const struct ims_prq *q) { return &q->st; }

void ims_prq_encode(const struct ims_page_req *pr, uint64_t qw[4])
{
    qw[0] = PRD_TYPE | (uint64_t)pr->rid << 16 | (pr->exec ? PRD_ER : 0) | (pr->priv ? PRD_PM : 0);
    if (pr->pasid != IMS_NO_PASID)
        qw[0] |= PRD_PP | (uint64_t)(pr->pasid & 0xfffffu) << 32;
    qw[1] = (pr->read ? PRD_RR : 0) | (pr->write ? PRD_WR : 0) | (pr->lpig ? PRD_LPIG : 0) |
            (uint64_t)(pr->prg & 0x1ffu) << 3 | (pr->addr & ~(uint64_t)(IMS_PAGE_SIZE - 1));
    qw[2] = qw[3] = 0;
}

int ims_prq_decode(const uint64_t qw[4], struct ims_page_req *out)
{
    if ((qw[0] & 0xff) != PRD_TYPE || (qw[0] & PRD_QW0_RSVD))
        return -1;
    out->rid = (uint16_t)(qw[0] >> 16);
    out->pasid = (qw[0] & PRD_PP) ? (uint32_t)(qw[0] >> 32) & 0xfffffu : IMS_NO_PASID;
    out->exec = (qw[0] & PRD_ER) != 0;
    out->priv = (qw[0] & PRD_PM) != 0;
    out->read = (qw[1] & PRD_RR) != 0;
    out->write = (qw[1] & PRD_WR) != 0;
    out->lpig = (qw[1] & PRD_LPIG) != 0;
    out->prg = (uint16_t)(qw[1] >> 3) & 0x1ffu;
    out->addr = qw[1] & ~(uint64_t)(IMS_PAGE_SIZE - 1);
    return 0;
}

/* PRE of the requester's scalable-mode context entry (VT-d 9.4: w0 bit 4),
 * read from the tables in memory (functional reads, not logged for timing):
 * the root entry's LCTP (devfn 0..127) or UCTP (128..255), then the 256-bit
 * context entry. False when the IOMMU is not in scalable mode or an entry
 * on the way is not present. */
static bool context_pre(const struct ims_iommu *mmu, uint16_t rid)
{
    if (!mmu->sm || !mmu->rtaddr)
        return false;
    const unsigned bus = rid >> 8, devfn = rid & 0xff;
    const uint64_t re = mmu->read64(mmu->mem_ctx, mmu->rtaddr + bus * 16u + (devfn >= 128 ? 8u : 0u), IMS_MEM_ROOT);
    if (!(re & 1))
        return false;
    const uint64_t ctp = re & ~(uint64_t)(IMS_PAGE_SIZE - 1);
    const uint64_t c0 = mmu->read64(mmu->mem_ctx, ctp + (devfn & 0x7fu) * 32u, IMS_MEM_CONTEXT);
    return (c0 & IMS_SMCE_P) && (c0 & IMS_SMCE_PRE);
}

/* A request the IOMMU did not queue: it answers the device itself when the
 * request was the last of its group (a group without its last request
 * needs no response: PCIe PRI). */
static enum ims_prq_result not_queued(struct ims_prq *q, const struct ims_page_req *pr, struct ims_prq_outcome *out,
                                      enum ims_prq_result r, enum ims_prg_resp code)
{
    out->result = r;
    if (pr->lpig) {
        out->responded = true;
        out->resp = (uint8_t)code;
        q->st.auto_responses++;
    }
    return r;
}

enum ims_prq_result ims_prq_request(struct ims_prq *q, const struct ims_page_req *pr, struct ims_prq_outcome *out)
{
    *out = (struct ims_prq_outcome){.result = IMS_PRQ_QUEUED};
    q->st.requests++;
    if (!q->pqa || !context_pre(q->mmu, pr->rid)) {
        q->st.refused++;
        return not_queued(q, pr, out, IMS_PRQ_REFUSED, IMS_PRG_INVALID_REQUEST);
    }
    /* VT-d 7.5: with PRO set, requests are dropped until software clears it. */
    if (q->prs & IMS_PRS_PRO) {
        q->st.dropped++;
        return not_queued(q, pr, out, IMS_PRQ_DROPPED, IMS_PRG_SUCCESS);
    }
    const uint64_t size = queue_bytes(q), next = (q->tail + IMS_PRQ_DESC_BYTES) % size;
    if (next == q->head) { /* full: one slot stays free */
        q->prs |= IMS_PRS_PRO;
        q->st.overflows++;
        return not_queued(q, pr, out, IMS_PRQ_OVERFLOW, IMS_PRG_SUCCESS);
    }
    uint64_t qw[4];
    ims_prq_encode(pr, qw);
    const uint64_t pa = (q->pqa & ~(uint64_t)(IMS_PAGE_SIZE - 1)) + q->tail;
    for (unsigned i = 0; i < 4; i++)
        q->mmu->write64(q->mmu->mem_ctx, pa + 8u * i, qw[i], IMS_MEM_FAULT);
    q->tail = next;
    q->prs |= IMS_PRS_PPR;
    q->st.queued++;
    out->desc_pa = pa;
    return IMS_PRQ_QUEUED;
}
