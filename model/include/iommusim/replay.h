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
#include "iommusim/prq.h"
#include "iommusim/tb.h"
#include "iommusim/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ims_replay_cfg {
    struct ims_iommu_cfg iommu;
    struct ims_tb_cfg tb;       /* tb.caps is overwritten with iommu.caps */
    uint32_t fault_drain_every; /* software drains the fault queue after this many new records (>= 1) */
    /* Scalable mode: descriptors of the page request queue (a power of two,
     * IMS_REPLAY_PRQ_MIN..IMS_REPLAY_PRQ_MAX; 32 bytes each at
     * IMS_REPLAY_PRQ_BASE). Default 2048 (Linux 6.1 intel/svm.c PRQ_ORDER 4:
     * 64 KiB). The key pri.queue_entries. */
    uint32_t prq_entries;
};
void ims_replay_cfg_default(struct ims_replay_cfg *cfg);

/* Page requests (PCIe PRI, docs/vtd.md "Page requests"): where the replay's
 * page request queue lives (a region of the replay's memory no table
 * builder uses: below the fault queue, 4 KiB aligned), and its sizes. */
#define IMS_REPLAY_PRQ_BASE UINT64_C(0x00000000fe000000)
#define IMS_REPLAY_PRQ_MIN 128u
#define IMS_REPLAY_PRQ_MAX 16384u

/* What the page requests of the replay's `sm dte pre` devices came to
 * (whole run; zero without such a device). */
struct ims_replay_pri_stats {
    uint64_t page_requests;  /* page requests sent (one per held part) */
    uint64_t groups;         /* page request groups (one per DMA record with held parts) */
    uint64_t queued;         /* descriptors written to the queue */
    uint64_t overflows;      /* requests that found the queue full (PRO set) */
    uint64_t dropped;        /* requests dropped while PRO was set */
    uint64_t refused;        /* requests not queued: PRE clear or no queue */
    uint64_t auto_responses; /* groups the IOMMU answered itself (Success after an overflow or drop; Invalid after a
                                refusal) */
    uint64_t resp_success;   /* pgresp records answering an outstanding group, by code */
    uint64_t resp_invalid;
    uint64_t resp_failure;
    uint64_t stale_responses; /* pgresp records for a group the IOMMU had answered itself */
    uint64_t retries;         /* held parts sent again after a Success (translation request, then the access) */
    uint64_t retry_no_access; /* retries that again got no access (sent untranslated: the IOMMU faults them) */
    uint64_t untranslated;    /* held parts sent untranslated without a retry (refused, invalid, failure) */
    uint32_t queue_entries;   /* the queue's descriptors */
};

struct ims_replay_stats {
    uint64_t records;          /* records applied */
    uint64_t dma;              /* DMA records */
    uint64_t requests;         /* 4 KiB-split requests translated */
    uint64_t bytes;            /* DMA bytes */
    uint64_t checked;          /* requests with an expected PA or fault */
    uint64_t mismatches;       /* checked requests that disagreed */
    uint64_t unexpected_faults;/* faults where the trace expected none (also counted in mismatches if checked) */
    /* Scalable mode: device-TLB invalidations (INV_PASID devtlb,
     * pasid-devtlb), which the functional replay takes but has nothing to
     * apply to (the device-side ATC is the timing model player's). */
    uint64_t devtlb_noop;
    struct ims_replay_pri_stats pri;
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

/* The callbacks of ims_replay_dma_loop (below). */
typedef const struct ims_xlate *(*ims_replay_xlate_fn)(void *ctx, const struct ims_req *req, unsigned part);
typedef void (*ims_replay_seen_fn)(void *ctx, const struct ims_rec *rec, const struct ims_req *req,
                                   const struct ims_xlate *x, bool ok);

/* ---- Page requests (PCIe PRI; docs/vtd.md "Page requests") ----
 * A device attached `sm dte pre` sends each part of a DMA record with a
 * PASID first as an ATS translation request. A completion without the
 * access makes it send a page request instead of the access: the parts of
 * one record that did so form one page request group (LPIG on the last),
 * held until the OS's pgresp (or the IOMMU's own answer) tells the device
 * to retry them. The replay owns the queue, the groups and the OS; the
 * device's sends are the caller's (struct ims_replay_dev_ops): the
 * functional core by default, the timing model's ATC in `iommusim run`. */

/* One held part (the caller's callbacks see and time it). */
struct ims_replay_held {
    struct ims_req req; /* the part as the device first sent it (untranslated) */
    unsigned part;      /* its index in the DMA record */
    uint64_t record;    /* trace index of the DMA record */
    /* The caller's times, cycles (the timing model's player; 0 functionally). */
    uint64_t t_issue;  /* its first issue */
    uint64_t t_done;   /* the completion that had no access */
    uint64_t t_queued; /* its page request's descriptor written (Q) */
    bool no_access;    /* set by a RETRY send whose completion again had no access */
};

/* How the device sends a part. */
enum ims_replay_send {
    /* First send: a translation request, then the translated access if the
     * completion grants it; otherwise nothing more (the completion is
     * returned: fault 0, perm without the access). */
    IMS_REPLAY_SEND_ATS = 0,
    /* After a Success: the same, but a completion without the access is
     * followed by the access untranslated (set h->no_access); no second page
     * request. */
    IMS_REPLAY_SEND_RETRY = 1,
    /* The access untranslated, no translation request (the IOMMU faults it). */
    IMS_REPLAY_SEND_UNTRANSLATED = 2,
};

/* A group about to be sent again. */
struct ims_replay_answer {
    const struct ims_rec *rec;  /* its DMA record (the replay's copy) */
    const struct ims_rec *resp; /* the pgresp record; NULL: the IOMMU answered (overflow, drop, refusal) */
    uint64_t t_ready;           /* cycles: the latest t_queued (pgresp) or t_done (IOMMU) of its parts */
    unsigned parts;             /* held parts about to be sent */
};

struct ims_replay_dev_ops {
    /* Sends part `part` of a DMA record (h: its held-part slot; ATS sends
     * fill h->t_issue and h->t_done). Returns the final translation, valid
     * until the next call. */
    const struct ims_xlate *(*send)(void *ctx, const struct ims_req *req, unsigned part, enum ims_replay_send how,
                                    struct ims_replay_held *h);
    /* The page request of held part h got outcome o (NULL: nothing to do). */
    void (*page_request)(void *ctx, struct ims_replay_held *h, const struct ims_prq_outcome *o);
    /* Group a is about to be sent again (NULL: nothing to do). */
    void (*answer)(void *ctx, const struct ims_replay_answer *a);
    /* Each part's final result, as ims_replay_dma_loop's seen (NULL: none). */
    ims_replay_seen_fn seen;
};

/* The device sends of every PRI record (held parts retried from
 * ims_replay_control too). ops NULL: the functional core again, with the
 * seen callback ims_replay_dma_seen was last given. ops is not copied. */
void ims_replay_set_dev_ops(struct ims_replay *rp, const struct ims_replay_dev_ops *ops, void *ctx);
/* The trace index of the record about to be replayed, for messages (callers
 * that know it; otherwise the replay counts the records it applied). */
void ims_replay_set_index(struct ims_replay *rp, uint64_t index);
/* A DMA record of an `sm dte pre` device with a PASID and untranslated:
 * replayed here (true; *bad: its parts that disagreed so far), else false.
 * An impossible record (more than 512 groups outstanding) sets
 * ims_replay_error(). */
bool ims_replay_pri_dma(struct ims_replay *rp, const struct ims_rec *rec, unsigned *bad);
/* An `sm dte pre` device was attached (from then on, DMA records go to
 * ims_replay_pri_dma first). */
bool ims_replay_pri_active(const struct ims_replay *rp);
/* The first impossible DMA record's message (without its record index: the
 * caller adds it), or NULL. */
const char *ims_replay_error(const struct ims_replay *rp);
/* End of the trace: 0, or -1 with a message naming the DMA record of the
 * first group still outstanding (it includes "record N (dma): "). */
int ims_replay_finish(struct ims_replay *rp, char *err, size_t errlen);
/* The page request queue (scalable mode; NULL in legacy mode). */
struct ims_prq *ims_replay_prq(struct ims_replay *rp);

/* The one replay loop of a DMA record, shared by every replayer (the
 * functional path below, `trace validate`, the timing model's player):
 * splits the record at 4 KiB boundaries; has each part translated by
 * xlate(ctx, req, part) (the functional core, or a timing model's socket:
 * it returns the translation, valid until the next call); checks the result
 * against the recording (ims_replay_check); shows it to seen(ctx, rec, req,
 * x, ok) (may be NULL); and drains faults as software does. Inline, so that
 * a caller's callbacks inline into it. Returns the parts that disagreed.
 * Contract: once an `sm dte pre` device was attached (ims_replay_pri_active),
 * the caller offers each DMA record to ims_replay_pri_dma() first and runs
 * this loop only if it declined (the loop itself costs nothing for them). */
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
