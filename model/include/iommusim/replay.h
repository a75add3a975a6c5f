/* Functional replay of a trace: one IOMMU, its memory and a table builder,
 * driven record by record. Used by `trace validate`, by the converter's
 * self-check, and by the SystemC timing model for everything that is not
 * timing (it applies MAP/UNMAP/ATTACH/invalidation records and checks each
 * translation against what the recording saw).
 *
 * Contract: records are applied in trace order. A DMA record is split at
 * 4 KiB boundaries into requests (PCIe requests never cross one); the caller
 * translates each request (ims_replay_dma_req + ims_translate, or
 * ims_replay_dma for the purely functional path) and checks each result with
 * ims_replay_check.
 */
#ifndef IMS_REPLAY_H
#define IMS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/iommu.h"
#include "iommusim/tb.h"
#include "iommusim/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ims_replay_cfg {
    struct ims_iommu_cfg iommu;
    struct ims_tb_cfg tb;       /* tb.caps is overwritten with iommu.caps */
    uint32_t fault_drain_every; /* software drains the fault queue after this many new records (>= 1) */
};
void ims_replay_cfg_default(struct ims_replay_cfg *cfg);

struct ims_replay_stats {
    uint64_t records;          /* records applied */
    uint64_t dma;              /* DMA records */
    uint64_t requests;         /* 4 KiB-split requests translated */
    uint64_t bytes;            /* DMA bytes */
    uint64_t checked;          /* requests with an expected PA or fault */
    uint64_t mismatches;       /* checked requests that disagreed */
    uint64_t unexpected_faults;/* faults where the trace expected none (also counted in mismatches if checked) */
    /* Scalable mode: records the functional replay takes but has nothing to
     * apply to: device-TLB invalidations (INV_PASID devtlb, pasid-devtlb:
     * the device-side ATC is the timing model player's) and page group
     * responses (PGRESP: no page request queue here). */
    uint64_t devtlb_noop;
    uint64_t pgresp_noop;
};

struct ims_replay;

/* ops/mem_ctx: how the IOMMU reaches memory (NULL: directly). */
struct ims_replay *ims_replay_create(const struct ims_trace_hdr *hdr, const struct ims_replay_cfg *cfg,
                                     const struct ims_mem_ops *ops, void *mem_ctx, char *err, size_t errlen);
void ims_replay_destroy(struct ims_replay *rp);
struct ims_iommu *ims_replay_iommu(struct ims_replay *rp);
struct ims_mem *ims_replay_mem(struct ims_replay *rp);
struct ims_tb *ims_replay_tb(struct ims_replay *rp);
/* Scalable mode (the trace header says): the scalable-mode builder (NULL in
 * legacy mode; ims_replay_tb() then holds only the domains' second-level
 * tables), and whether the replay is in scalable mode. */
struct ims_tb_sm *ims_replay_tb_sm(struct ims_replay *rp);
bool ims_replay_scalable(const struct ims_replay *rp);
const struct ims_replay_stats *ims_replay_stats(const struct ims_replay *rp);

/* The requester id the IOMMU sees for a device's own requester id (aliasing
 * from the header's topology; ids not in the topology pass unchanged). */
uint16_t ims_replay_alias(const struct ims_replay *rp, uint16_t rid);

/* Applies a non-DMA record. 0, or -1 with a message (naming the problem, not
 * the record position: the caller adds that) for an impossible record:
 * mapping over a mapping, unmapping nothing, unknown domain, ... */
int ims_replay_control(struct ims_replay *rp, const struct ims_rec *rec, char *err, size_t errlen);

/* Number of 4 KiB-bounded requests a DMA record splits into, and the i-th. */
unsigned ims_replay_dma_parts(const struct ims_rec *rec);
void ims_replay_dma_req(const struct ims_replay *rp, const struct ims_rec *rec, unsigned i, struct ims_req *req);
/* Compares a translation with the record's expectations; counts it. Returns
 * true if it agrees (or nothing was expected). */
bool ims_replay_check(struct ims_replay *rp, const struct ims_rec *rec, const struct ims_req *req,
                      const struct ims_xlate *x);
/* Counts a recorded fault and, every `fault_drain_every` of them (see
 * struct ims_replay_cfg), drains the fault queue as software would. */
void ims_replay_fault_recorded(struct ims_replay *rp);

/* The one replay loop of a DMA record, shared by every replayer (the
 * functional path below, `trace validate`, the timing model's player):
 * splits the record at 4 KiB boundaries; has each part translated by
 * xlate(ctx, req, part) (the functional core, or a timing model's socket:
 * it returns the translation, valid until the next call); checks the result
 * against the recording (ims_replay_check); shows it to seen(ctx, rec, req,
 * x, ok) (may be NULL); and drains faults as software does. Inline, so that
 * a caller's callbacks inline into it. Returns the parts that disagreed. */
typedef const struct ims_xlate *(*ims_replay_xlate_fn)(void *ctx, const struct ims_req *req, unsigned part);
typedef void (*ims_replay_seen_fn)(void *ctx, const struct ims_rec *rec, const struct ims_req *req,
                                   const struct ims_xlate *x, bool ok);
static inline unsigned ims_replay_dma_loop(struct ims_replay *rp, const struct ims_rec *rec,
                                           ims_replay_xlate_fn xlate, ims_replay_seen_fn seen, void *ctx)
{
    const unsigned parts = ims_replay_dma_parts(rec);
    unsigned bad = 0;
    for (unsigned i = 0; i < parts; i++) {
        struct ims_req req;
        ims_replay_dma_req(rp, rec, i, &req);
        const struct ims_xlate *x = xlate(ctx, &req, i);
        const bool ok = ims_replay_check(rp, rec, &req, x);
        bad += !ok;
        if (seen)
            seen(ctx, rec, &req, x, ok);
        if (x->flags & IMS_XLATE_FAULT_RECORDED)
            ims_replay_fault_recorded(rp);
    }
    return bad;
}

/* Translates and checks every part of a DMA record through the functional
 * core (ims_replay_dma_loop with ims_translate). Returns the number of
 * parts that disagreed with the recording. */
unsigned ims_replay_dma(struct ims_replay *rp, const struct ims_rec *rec);
/* The same, showing each part's result to seen(ctx, ...) (for reports). */
unsigned ims_replay_dma_seen(struct ims_replay *rp, const struct ims_rec *rec, ims_replay_seen_fn seen, void *ctx);

/* Drains the fault queue (as software does); returns records drained. */
size_t ims_replay_drain_faults(struct ims_replay *rp);

#ifdef __cplusplus
}
#endif

#endif /* IMS_REPLAY_H */
