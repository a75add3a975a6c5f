/* The page request queue (VT-d 7.4, 7.5, 7.6; registers 11.4.11): where the
 * IOMMU writes the page requests (PCIe PRI) devices send when an ATS
 * translation request found no translation, for software to resolve (map
 * the page) and answer with a page group response.
 *
 * Contract:
 * - One queue per IOMMU, in memory: PQA_REG gives its base (bits 63:12) and
 *   size (PQS, bits 2:0: 2^(PQS + 7) descriptors of 32 bytes); PQH_REG and
 *   PQT_REG hold byte offsets of the head (software's next read) and the
 *   tail (the IOMMU's next write), multiples of 32. The queue is full when
 *   the tail is one descriptor behind the head: one slot stays free.
 * - ims_prq_request() is the IOMMU receiving one page request: a device
 *   whose scalable-mode context entry is not present or has PRE clear is
 *   refused (the request is not queued; VT-d 7.5: the IOMMU answers it
 *   with a page group response, Invalid Request, when it is the last of
 *   its group); with PRS.PRO set the request is dropped; a full queue sets
 *   PRS.PRO, counts an overflow and drops it; otherwise the descriptor is
 *   written at the tail (four 64-bit writes through the IOMMU's memory
 *   ops, kind IMS_MEM_FAULT), PQT advances and PRS.PPR is set. A dropped
 *   request that was the last of its group (LPIG) is answered by the IOMMU
 *   itself (auto-response, Success: the device retries its translation and
 *   requests again; docs/vtd.md, "Page requests").
 * - Software reads descriptors at PQH (ims_prq_decode), writes PQH, and
 *   clears PRS bits by writing 1 to them (RW1C).
 * Not modelled: the page request event interrupt (PECTL/PEDATA/PEADDR),
 * private data (descriptor words 2 and 3 are written 0), Stop Markers. */
#ifndef IMS_PRQ_H
#define IMS_PRQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/iommu.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IMS_PRQ_DESC_BYTES 32u
#define IMS_PRS_PPR 1u /* PRS_REG bit 0: pending page request */
#define IMS_PRS_PRO 2u /* PRS_REG bit 1: page request overflow */

/* Page group response codes (VT-d 6.5.2.x page group response descriptor;
 * PCIe PRG Response Message). */
enum ims_prg_resp {
    IMS_PRG_SUCCESS = 0x0,
    IMS_PRG_INVALID_REQUEST = 0x1,
    IMS_PRG_FAILURE = 0xf,
};

/* One page request as the device sends it (VT-d 7.4.1.1). */
struct ims_page_req {
    uint16_t rid;   /* requester id as the IOMMU sees it */
    uint32_t pasid; /* IMS_NO_PASID: none (PP = 0) */
    uint64_t addr;  /* the page (bits 11:0 ignored) */
    bool read, write, exec, priv;
    uint16_t prg;   /* page request group index, 0..511 */
    bool lpig;      /* last page in group */
};

enum ims_prq_result {
    IMS_PRQ_QUEUED = 0,   /* written at the tail */
    IMS_PRQ_OVERFLOW = 1, /* the queue was full: PRO set, dropped */
    IMS_PRQ_DROPPED = 2,  /* PRO already set: dropped, nothing reported */
    IMS_PRQ_REFUSED = 3,  /* context not present or PRE clear, or no queue (PQA 0): not queued */
};

struct ims_prq_stats {
    uint64_t requests;       /* page requests received */
    uint64_t queued;         /* descriptors written */
    uint64_t overflows;      /* requests that found the queue full (each set PRO) */
    uint64_t dropped;        /* requests dropped while PRO was set */
    uint64_t refused;        /* IMS_PRQ_REFUSED */
    uint64_t auto_responses; /* page group responses the IOMMU sent itself (LPIG requests not queued) */
};

/* What the IOMMU did with one request. */
struct ims_prq_outcome {
    enum ims_prq_result result;
    uint64_t desc_pa;   /* IMS_PRQ_QUEUED: where the descriptor was written */
    bool responded;     /* the IOMMU answered the device itself ... */
    uint8_t resp;       /* ... with this enum ims_prg_resp */
};

struct ims_prq;
/* The queue of IOMMU `mmu` (its memory ops write the descriptors; its root
 * table and scalable-mode context entries give PRE). NULL on allocation
 * failure. The queue starts disabled (PQA 0, PQH = PQT = 0, PRS 0). */
struct ims_prq *ims_prq_create(struct ims_iommu *mmu);
void ims_prq_destroy(struct ims_prq *q);

/* Register writes and reads (VT-d 11.4.11). set_pqa: 0, or -1 for a base
 * with bits 11:3 set (reserved); software sets PQH = PQT = 0 before it. */
int ims_prq_set_pqa(struct ims_prq *q, uint64_t pqa);
uint64_t ims_prq_pqa(const struct ims_prq *q);
/* PQH: 0, or -1 for an offset not a multiple of 32 or beyond the queue. */
int ims_prq_set_head(struct ims_prq *q, uint64_t pqh);
uint64_t ims_prq_head(const struct ims_prq *q);
uint64_t ims_prq_tail(const struct ims_prq *q);
/* Descriptors in the queue: 2^(PQS + 7), 0 when disabled. */
uint32_t ims_prq_entries(const struct ims_prq *q);
uint32_t ims_prq_status(const struct ims_prq *q);
void ims_prq_clear_status(struct ims_prq *q, uint32_t w1c);

/* The IOMMU receives one page request. Returns out->result. */
enum ims_prq_result ims_prq_request(struct ims_prq *q, const struct ims_page_req *pr, struct ims_prq_outcome *out);

/* The descriptor's four words for a request, and back (0, or -1 if the
 * words are no page request descriptor: type not 1, reserved bits set). */
void ims_prq_encode(const struct ims_page_req *pr, uint64_t qw[4]);
int ims_prq_decode(const uint64_t qw[4], struct ims_page_req *out);

const struct ims_prq_stats *ims_prq_stats(const struct ims_prq *q);

#ifdef __cplusplus
}
#endif

#endif /* IMS_PRQ_H */
