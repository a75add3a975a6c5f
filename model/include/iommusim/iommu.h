/* The functional IOMMU: context lookup, IOTLB, paging-structure caches, the
 * second-level walker, permission checks and fault recording.
 *
 * Contract:
 * - Functional only: no notion of time. Every memory access the IOMMU makes
 *   goes through the struct ims_mem_ops given at creation, in program order,
 *   so a timing layer can time each one. ims_translate() also returns a
 *   description of what happened (which caches hit, which table reads were
 *   made) so a timing layer can charge latency without repeating any logic.
 * - One request translates one page: the result covers the bytes from the
 *   request's IOVA up to the end of the translated page (xlate.len). A request
 *   that crosses the page is translated for its first part only; the caller
 *   issues the rest as a new request, as a root port splits requests at 4 KiB
 *   boundaries (PCIe forbids a request to cross one).
 * - Faults are never cached in the IOTLB. A fault is recorded in the fault
 *   queue unless the context entry's FPD suppresses it (qualified faults only).
 * - Caches are updated by translate() immediately (fill on miss) and are made
 *   coherent only by the explicit invalidation calls, as in hardware: changing
 *   tables without invalidating leaves stale entries in use.
 */
#ifndef IMS_IOMMU_H
#define IMS_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/cache.h"
#include "iommusim/mem.h"
#include "iommusim/prefetch.h"
#include "iommusim/vtd.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IMS_NO_PASID UINT32_MAX

/* Access bits of a request and permission bits of a mapping. */
#define IMS_PERM_R 1u
#define IMS_PERM_W 2u
#define IMS_PERM_RW (IMS_PERM_R | IMS_PERM_W)
IMS_STATIC_ASSERT(IMS_PERM_R == IMS_SLPTE_R && IMS_PERM_W == IMS_SLPTE_W, "permissions are the entry's R/W bits");

/* PCIe address type of a request (TLP AT field). */
enum ims_at {
    IMS_AT_UNTRANSLATED = 0, /* ordinary DMA */
    IMS_AT_TRANSLATION = 1,  /* ATS translation request: translate, do not access */
    IMS_AT_TRANSLATED = 2,   /* already translated by a device TLB */
};

/* rIOMMU (Malka et al., ASPLOS'15) as an option: DMA rings whose slots are
 * translated by a flat table per ring and an rIOTLB entry per ring instead of
 * the radix tables and the IOTLB (model/core/riommu.c). Not architectural
 * for VT-d. A ring is named by its domain (the records that map, unmap and
 * invalidate name a domain, not a device) and its slots' IOVAs: slot s
 * covers [first + s * slot_size, + slot_size) (down: first - s * slot_size). */
#define IMS_RIOMMU_MAX_RINGS 8
#define IMS_RIOMMU_MAX_SLOTS 65536u
#define IMS_RIOMMU_TABLE_BASE UINT64_C(0x00000000fd000000) /* default flat tables' PA (below the PRQ, fault queue) */
struct ims_riommu_ring_cfg {
    uint64_t first;     /* IOVA of slot 0 (bytes; 4 KiB aligned) */
    uint32_t slots;     /* 1..IMS_RIOMMU_MAX_SLOTS */
    uint32_t slot_size; /* bytes, a multiple of 4 KiB, at most 1 GiB */
    uint16_t did;       /* domain id */
    bool down;          /* slot s + 1 sits below slot s */
};
struct ims_riommu_cfg {
    uint32_t n_rings; /* 0: off */
    struct ims_riommu_ring_cfg ring[IMS_RIOMMU_MAX_RINGS];
    uint64_t table_base; /* PA of ring 0's flat table; each ring's table is 8 bytes a slot, 4 KiB aligned, in order */
};
struct ims_riommu_stats {
    uint64_t hits;          /* ring DMA requests the rIOTLB served (current or prefetched next slot) */
    uint64_t misses;        /* ring DMA requests that read the slot's flat entry (demand) */
    uint64_t table_reads;   /* flat-table reads: demand and next-slot prefetch (not in ptw_reads) */
    uint64_t prefetches;    /* of those: next-slot prefetch reads */
    uint64_t faults;        /* ring requests that faulted (slot not mapped, or no permission) */
    uint64_t inv_elided;    /* IOTLB invalidations that covered ring slots only: not applied (not in inv_iotlb) */
    uint64_t slot_writes;   /* flat entries software wrote (map) or cleared (unmap) */
};

struct ims_iommu_cfg {
    struct ims_caps caps;
    struct ims_cache_cfg ctx_cache;            /* tag: requester id */
    struct ims_cache_cfg iotlb;                /* tag: domain, page number, page size */
    struct ims_cache_cfg psc[IMS_MAX_LEVELS + 1]; /* index = level 2..5; [0], [1] unused */
    uint64_t fq_base;                          /* fault queue base PA (16-byte records) */
    uint32_t fq_records;                       /* fault queue size; 0 = caps.nfr */
    bool miss_classes; /* classify every miss of every cache, count IOTLB lookups per domain and requester id */
    /* IOTLB prefetching (iotlb.prefetch; model/core/prefetch.c): the policy,
     * enum ims_pf (IMS_PF_NONE, the default: none), and the most pages one
     * miss may prefetch (1..IMS_PF_MAX_DEGREE; 0 means 1). Legacy mode only. */
    uint8_t iotlb_prefetch;
    uint8_t iotlb_prefetch_degree;
    /* A prefetch buffer beside the IOTLB (iotlb.prefetch_buffer; prefetch.c):
     * 0 (the default) puts prefetched translations into the IOTLB itself;
     * N (1..IMS_PF_MAX_BUFFER) puts them into a fully associative LRU buffer
     * of N entries, which an IOTLB miss checks before walking. Only with a
     * prefetch policy (or iotlb_prefetch_on_map). Not architectural. */
    uint16_t iotlb_prefetch_buffer;
    /* Map-time prefetch (iotlb.prefetch_on_map; prefetch.c, ims_iommu_map_hint):
     * off (the default), or on: software's map hints are walked and
     * inserted. Legacy mode only. Not architectural. */
    bool iotlb_prefetch_on_map;
    /* Scalable mode (VT-d 3.4.3): what RTADDR_REG.TTM = 01b selects on
     * hardware; here the mode an instance starts in (docs/vtd.md, "Scalable
     * mode"), which ims_iommu_set_scalable() switches. Off: legacy mode,
     * exactly as without these fields, and no switch to scalable mode. */
    struct ims_sm_cfg {
        bool enabled;
        bool fl5lp;                     /* CAP.FL5LP: 5-level first-level paging (FLPM = 1) */
        bool fl1gp;                     /* CAP.FL1GP: 1 GiB first-level pages */
        struct ims_cache_cfg pasid_cache; /* tag: requester id + PASID; entry: the PASID-table entry */
    } sm;
    /* rIOMMU rings (model/core/riommu.c; docs/config.md "rIOMMU rings"):
     * n_rings 0 (the default) is off, exactly as without these fields. */
    struct ims_riommu_cfg riommu;
};
/* Defaults: ims_caps_default(), LRU caches, a fault queue of caps.nfr
 * records; the sizes are in the body, their one source (the timing model's
 * configuration takes them from it; docs/config.md lists them). */
void ims_iommu_cfg_default(struct ims_iommu_cfg *cfg);

struct ims_req {
    uint16_t rid;     /* requester id as seen by the IOMMU (already aliased) */
    uint32_t pasid;   /* IMS_NO_PASID for none (legacy mode ignores PASIDs) */
    uint64_t iova;    /* input address, bytes */
    uint32_t size;    /* bytes, >= 1 */
    uint8_t access;   /* IMS_PERM_R or IMS_PERM_W */
    uint8_t at;       /* enum ims_at */
    /* Scalable mode, requests with a PASID (PCIe PASID prefix): privileged
     * (1 = supervisor) and execute-requested (a read that fetches
     * instructions). 0, 0: a user data access. Legacy mode ignores both;
     * a request without PASID takes its privilege from the context entry's
     * RID_PRIV and never executes. */
    uint8_t priv;
    uint8_t exec;
};

/* What happened, for the caller and for a timing layer. */
#define IMS_XLATE_CTX_HIT   (1u << 0) /* context cache hit */
#define IMS_XLATE_IOTLB_HIT (1u << 1) /* IOTLB hit: no walk */
#define IMS_XLATE_WALKED    (1u << 2) /* second-level walk performed */
#define IMS_XLATE_PASSTHRU  (1u << 3) /* TT = pass-through */
#define IMS_XLATE_FAULT_RECORDED (1u << 4) /* a record was written to the fault queue */
#define IMS_XLATE_FAULT_DROPPED  (1u << 5) /* fault queue full: dropped, counted */
#define IMS_XLATE_FAULT_SUPPRESSED (1u << 6) /* FPD set: not recorded */

#define IMS_XLATE_READS_LOST (1u << 7) /* more table reads than reads[] holds: the rest were made, not logged */

/* Table reads one translation may log. The longest walk to come is a nested
 * 5-level first-level walk over 5-level second-level tables: each of the 5
 * first-level entries and the final output address is translated by a
 * 5-level second-level walk (6 x 5 reads) besides the 5 first-level reads,
 * plus root (2 words), context (4), PASID directory (1) and PASID-table
 * entry (8 words) reads: 50. Legacy mode needs at most 9 (root 2,
 * context 2, 5 levels). */
#define IMS_XLATE_MAX_READS 64
#define IMS_XLATE_READS_NESTED_WORST (6 * 5 + 5 + 2 + 4 + 1 + 8) /* scalable-mode context entry: 4 words */
IMS_STATIC_ASSERT(IMS_XLATE_MAX_READS >= IMS_XLATE_READS_NESTED_WORST, "reads[] holds the longest nested walk");

struct ims_mem_read_rec {
    uint64_t pa;      /* address read */
    uint64_t val;     /* value read */
    uint8_t kind;     /* enum ims_mem_kind */
    uint8_t level;    /* paging level for IMS_MEM_PTE, else 0 */
    uint8_t cont;     /* 1: another word of the entry the previous read began (one memory access) */
    uint8_t stage;    /* enum ims_read_stage: what the read was for (always 0 in legacy mode) */
};
/* Scalable mode: what a table read was for (root and context reads: 0). */
enum ims_read_stage {
    IMS_RS_CTX = 0,        /* root or context entry (legacy: every read) */
    IMS_RS_PASID_DIR = 1,  /* PASID-directory entry (kind IMS_MEM_CONTEXT) */
    IMS_RS_PASID = 2,      /* PASID-table entry, 8 words (kind IMS_MEM_CONTEXT) */
    IMS_RS_FL = 3,         /* first-level paging entry (kind IMS_MEM_PTE, level = first-level level) */
    IMS_RS_SL = 4,         /* second-level paging entry of a second-level-only walk */
    IMS_RS_NESTED_SL = 5,  /* second-level entry read to translate a nested walk's address */
};

struct ims_xlate {
    uint64_t pa;          /* output address of xlate.iova (valid if fault == 0) */
    uint32_t len;         /* bytes of the request covered by this translation */
    uint8_t page_shift;   /* 12, 21 or 30 (pass-through: 12) */
    uint8_t perm;         /* IMS_PERM_* granted by the leaf (cumulative); 0 with fault 0: an ATS
                           * translation request found no translation (completion with R = W = 0) */
    uint8_t fault;        /* enum ims_fault_reason; 0 = success */
    uint8_t flags;        /* IMS_XLATE_* */
    uint16_t did;         /* domain id used (valid once the context entry is known) */
    uint8_t psc_level;    /* walk started below a paging-structure-cache hit at this level; 0 = none */
    uint8_t n_reads;      /* table reads made, in order */
    uint8_t ad_writes;    /* scalable mode: accessed/dirty updates written (first-level entries) */
    /* Where the second-level walk began (valid with IMS_XLATE_WALKED), so
     * that another walker (the RTL one) can make the same walk: the table
     * read first (the root, or the table a paging-structure-cache hit points
     * to), its level, the table's level count, the permissions accumulated
     * above it, and the access the walk checks (an ATS translation request
     * walks as read-write). Legacy mode, and scalable mode's second-level-
     * only walks (PGTT 010b: the same 9.8 entries and checks; their fault
     * reasons are scalable mode's, SSL.1-3 and SGN.6/7). First-level,
     * nested and pass-through translations leave walk.levels 0, as does a
     * second-level-only walk whose cached permissions (a PSC hit) already
     * deny the access (flwalk.c reads one more entry there than walk.c). */
    struct ims_walk_start {
        uint64_t table;
        uint8_t levels, level, perm, access;
    } walk;
    struct ims_mem_read_rec reads[IMS_XLATE_MAX_READS];
};

/* IOTLB lookups of one domain id or one requester id (cfg.miss_classes). */
#define IMS_STATS_IDS 256 /* rows per table; more ids share the last row (row IMS_STATS_IDS) */
struct ims_id_stats {
    uint32_t id;   /* domain id, or requester id as the IOMMU sees it (after bridge aliasing) */
    uint32_t used; /* 1 once looked up */
    uint64_t lookups, hits, misses;
    uint64_t miss_class[IMS_MISS_CLASSES]; /* misses by enum ims_miss_class; they sum to misses */
};

struct ims_stats {
    uint64_t translations;      /* ims_translate() calls */
    uint64_t faults;            /* translations that faulted */
    uint64_t fault_reason[256]; /* per enum ims_fault_reason (the architecture's 8-bit code) */
    uint64_t fault_records;     /* records written to the fault queue */
    uint64_t fault_dropped;     /* faults lost to a full queue */
    uint64_t fault_suppressed;  /* faults not recorded because of FPD */
    uint64_t ats_no_access;     /* ATS translation requests completed with R = W = 0 (no translation; not faults) */
    uint64_t walks;             /* second-level walks started */
    uint64_t ctx_reads;         /* root + context entry reads */
    uint64_t ptw_reads;         /* paging-entry reads */
    uint64_t reads_per_xlate[IMS_XLATE_MAX_READS + 1]; /* histogram of n_reads */
    struct ims_cache_stats ctx_cache;
    struct ims_cache_stats iotlb;
    struct ims_cache_stats psc[IMS_MAX_LEVELS + 1];
    uint64_t inv_ctx;           /* context-cache invalidation commands */
    uint64_t inv_iotlb;         /* IOTLB invalidation commands */
    /* cfg.miss_classes: IOTLB lookups per domain id and per requester id,
     * a row per id in the order first looked up (a row keeps its place for
     * the instance's life, so stats subtract row by row); ids beyond
     * IMS_STATS_IDS share row IMS_STATS_IDS (its id is not meaningful). The
     * core's view: a lookup the timing layer merges into a fill in flight is
     * a hit here. */
    uint32_t n_did, n_rid; /* rows used, the shared one not counted */
    struct ims_id_stats by_did[IMS_STATS_IDS + 1];
    struct ims_id_stats by_rid[IMS_STATS_IDS + 1];
    /* Scalable mode (all 0 in legacy mode). Reads count memory accesses of
     * that stage (an entry read as several words counts once). */
    struct ims_sm_stats {
        uint64_t pasid_dir_reads, pasid_entry_reads;
        uint64_t fl_reads, sl_reads, nested_sl_reads; /* paging-entry reads by enum ims_read_stage */
        uint64_t ad_writes;                           /* accessed/dirty updates written */
        uint64_t walks_fl, walks_sl, walks_nested;    /* walks by PGTT */
        uint64_t passthru;                            /* PGTT = pass-through translations */
        uint64_t inv_pasid_cache, inv_piotlb;         /* PASID-cache and PASID-based IOTLB commands */
        struct ims_cache_stats pasid_cache;
    } sm;
    struct ims_pf_stats pf; /* IOTLB prefetching (iotlb.prefetch): all 0 with none */
    struct ims_riommu_stats riommu; /* rIOMMU rings (cfg.riommu): all 0 with none */
};
/* out = a - b, field by field (e.g. end minus end-of-warm-up). */
void ims_stats_sub(struct ims_stats *out, const struct ims_stats *a, const struct ims_stats *b);

struct ims_iommu;

/* Returns NULL with a message naming the bad parameter in err. */
struct ims_iommu *ims_iommu_create(const struct ims_iommu_cfg *cfg, const struct ims_mem_ops *ops, void *mem_ctx,
                                   char *err, size_t errlen);
void ims_iommu_destroy(struct ims_iommu *mmu);
const struct ims_iommu_cfg *ims_iommu_cfg(const struct ims_iommu *mmu);
/* The bits reserved in every second-level paging entry at every level
 * (51:HAW, SNP, and TM without ECAP.DT; walk.c adds the per-level ones). */
uint64_t ims_iommu_pte_rsvd(const struct ims_iommu *mmu);

/* RTADDR_REG + SRTP: sets the root table (4 KiB aligned PA); 0 disables
 * translation (every request faults with IMS_FR_ROOT_TABLE_INV). Does not
 * invalidate caches (software does, as on hardware). */
void ims_iommu_set_root(struct ims_iommu *mmu, uint64_t rtaddr);

/* RTADDR_REG.TTM as SRTP latches it (VT-d 11.4.6): the translation-table
 * mode, legacy (false) or scalable (true). Scalable needs cfg.sm.enabled
 * (what ECAP.SMTS reports): without it returns -1 and changes nothing. A
 * change of mode empties every cache (context, PASID, IOTLB and
 * paging-structure caches; counted as invalidated), since entries of one
 * mode mean nothing in the other; setting the mode the instance is in
 * changes nothing (as SRTP, it does not invalidate). Returns 0. An instance
 * starts in the mode cfg.sm.enabled names. */
int ims_iommu_set_scalable(struct ims_iommu *mmu, bool scalable);
bool ims_iommu_scalable(const struct ims_iommu *mmu);

/* Translates one request. Returns 0 on success, else the fault reason (also in
 * out->fault). Never fails for any other reason. An ATS translation request
 * (IMS_AT_TRANSLATION) returns the permissions the mapping grants (any of R,
 * W); one that finds no translation (address beyond the width, entry not
 * present, neither permission) succeeds with out->perm 0 and records no
 * fault (VT-d 4.2.3); its other faults are recorded as for any request. */
int ims_translate(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out);

/* Invalidation granularities, as VT-d's context-cache and IOTLB invalidate
 * descriptors define them. */
enum ims_inv_gran {
    IMS_INV_GLOBAL = 1,
    IMS_INV_DOMAIN = 2,
    IMS_INV_DEVICE = 3, /* context cache only: one source id (with function mask) */
    IMS_INV_PAGE = 4,   /* IOTLB only: page-selective within a domain */
};
/* Context cache: global; domain `did`; or device `sid` in domain `did` with
 * function mask fm (0: none, 1: ignore bit 2 of the function, 2: bits 2:1,
 * 3: bits 2:0). Per VT-d, software must also invalidate the IOTLB.
 * Returns the number of entries removed. */
size_t ims_inv_context(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint16_t sid, uint8_t fm);
/* IOTLB and paging-structure caches: global; domain `did`; or page-selective:
 * 2^am 4 KiB pages from addr (aligned down to 2^(12+am)) in domain `did`.
 * Removes every IOTLB entry overlapping the range; paging-structure-cache
 * entries covering the range are removed too unless ih (invalidation hint:
 * only leaves changed) is set. Returns IOTLB + PSC entries removed. */
size_t ims_inv_iotlb(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am, bool ih);

/* ---- rIOMMU rings (cfg.riommu; riommu.c, docs/config.md "rIOMMU rings") ----
 * Checks cfg->riommu as ims_iommu_create does: 0, or -1 with a message
 * that names riommu.rings and the ring. */
int ims_riommu_cfg_check(const struct ims_iommu_cfg *cfg, char *err, size_t errlen);
/* Whether the instance has rings. */
bool ims_riommu_on(const struct ims_iommu *mmu);
/* Whether an IOTLB invalidation command covers ring slots only (one ring of
 * domain did), so that ims_inv_iotlb elides it. Reads the rings' layout
 * only, which never changes after creation: a timing layer may ask while
 * another thread runs the core. */
bool ims_riommu_covers(const struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am);
/* Software's map and unmap of [iova, iova + size) in domain did (the
 * replay's MAP and UNMAP records), written into memory directly (as the
 * table builder does): 1 when the range is whole slots of one ring (their
 * flat entries were written: pa + offset | perm, or cleared), 0 when no
 * byte of it is a ring slot (the radix tables' business), -1 with a message
 * when it is partly one, not whole slots, a slot already mapped (map) or
 * not mapped (unmap), or pa or perm is unusable; then nothing was written.
 * The rIOTLB drops its copy of every slot written. */
int ims_riommu_map(struct ims_iommu *mmu, struct ims_mem *mem, uint16_t did, uint64_t iova, uint64_t size,
                   uint64_t pa, unsigned perm, char *err, size_t errlen);
int ims_riommu_unmap(struct ims_iommu *mmu, struct ims_mem *mem, uint16_t did, uint64_t iova, uint64_t size,
                     char *err, size_t errlen);

/* Scalable mode (VT-d 6.5.2.3 IOTLB, 6.5.2.4 PASID-based IOTLB, 6.5.2.5
 * PASID cache). In scalable mode ims_inv_iotlb covers second-level-only,
 * pass-through and nested entries (a nested entry depends on the second
 * level): global: all; domain: every entry of domain `did`, any PASID;
 * page: second-level-only entries of `did` in the range, and every nested
 * entry of `did` (tagged by first-level address, not by the second-level
 * address the command names). ims_inv_context in scalable mode: global and
 * domain-selective remove every context entry (the entry has no domain id),
 * device-selective the entries of `sid` (function mask fm). */
enum ims_pinv_gran {
    IMS_PINV_DOMAIN = 1, /* PASID cache only: every entry of domain `did` */
    IMS_PINV_PASID = 2,  /* every entry of (did, pasid) */
    IMS_PINV_PAGE = 3,   /* PASID-based IOTLB only: 2^am pages from addr in (did, pasid) */
    IMS_PINV_GLOBAL = 4, /* PASID cache only */
};
/* PASID cache: global, domain-selective, or PASID-selective (did, pasid).
 * Returns entries removed. No effect (0) in legacy mode. */
size_t ims_inv_pasid_cache(struct ims_iommu *mmu, enum ims_pinv_gran gran, uint16_t did, uint32_t pasid);
/* PASID-based IOTLB invalidation: first-level and nested entries of (did,
 * pasid), all of them (IMS_PINV_PASID) or those overlapping 2^am 4 KiB pages
 * from addr, aligned down (IMS_PINV_PAGE; ih: paging-structure-cache entries
 * stay). Second-level-only and pass-through entries are untouched (6.5.2.4).
 * Returns IOTLB + PSC entries removed. No effect (0) in legacy mode. */
size_t ims_inv_piotlb(struct ims_iommu *mmu, enum ims_pinv_gran gran, uint16_t did, uint32_t pasid, uint64_t addr,
                      uint8_t am, bool ih);

/* ---- Cache keys and invalidation scopes, for a timing layer ----
 * A timing layer tracks the cache fills that walks still have in flight (an
 * entry is usable only when its fill completes; an invalidation waits for
 * the fills it covers) without knowing how the architecture tags its caches:
 * the core names each cache entry by an opaque key, and each invalidation by
 * a scope over keys. A key covers the input bytes [tag << shift,
 * (tag + 1) << shift); kind says which structure holds it. A second
 * architecture provides the same functions for its own structures. */
enum ims_key_kind {
    IMS_KEY_CTX = 0,   /* device context (dom = requester id, tag = domain id, shift 0) */
    IMS_KEY_IOTLB = 1, /* leaf translation */
    IMS_KEY_PSC = 2,   /* + level: paging-structure cache of that level */
    IMS_KEY_KINDS = IMS_KEY_PSC + IMS_MAX_LEVELS + 1
};
struct ims_key {
    uint64_t tag;
    uint32_t dom;
    uint8_t kind;  /* enum ims_key_kind */
    uint8_t shift; /* bytes covered: 2^shift */
};

/* The context entry a translation used (valid once x->did is known). */
static inline void ims_xlate_ctx_key(const struct ims_req *req, const struct ims_xlate *x, struct ims_key *k)
{
    *k = (struct ims_key){.tag = x->did, .dom = req->rid, .kind = IMS_KEY_CTX, .shift = 0};
}
/* The IOTLB entry a successful translation hit or filled. */
static inline void ims_xlate_leaf_key(const struct ims_req *req, const struct ims_xlate *x, struct ims_key *k)
{
    *k = (struct ims_key){
        .tag = req->iova >> x->page_shift, .dom = x->did, .kind = IMS_KEY_IOTLB, .shift = x->page_shift};
}
/* The paging-structure-cache entry whose hit started the walk (x->psc_level != 0). */
/* The paging-structure-cache entry of `level` covering the request's IOVA. */
static inline void ims_xlate_psc_level_key(const struct ims_req *req, const struct ims_xlate *x, unsigned level,
                                           struct ims_key *k)
{
    const unsigned s = ims_level_shift(level);
    *k = (struct ims_key){
        .tag = req->iova >> s, .dom = x->did, .kind = (uint8_t)(IMS_KEY_PSC + level), .shift = (uint8_t)s};
}
static inline void ims_xlate_psc_key(const struct ims_req *req, const struct ims_xlate *x, struct ims_key *k)
{
    ims_xlate_psc_level_key(req, x, x->psc_level, k);
}
/* Whether table read i of a walk yields a paging-structure-cache entry (a
 * read above the leaf level), and its key. */
static inline bool ims_xlate_read_key(const struct ims_req *req, const struct ims_xlate *x, unsigned i,
                                      struct ims_key *k)
{
    const unsigned l = x->reads[i].level;
    if (x->reads[i].kind != IMS_MEM_PTE || l < 2)
        return false;
    ims_xlate_psc_level_key(req, x, l, k);
    return true;
}

/* The keys an invalidation covers: kinds (bit per enum ims_key_kind), in
 * domain dom (any if any_dom), overlapping the input bytes [lo, hi]. */
struct ims_inv_scope {
    uint32_t kinds;
    bool any_dom;
    uint32_t dom;
    uint64_t lo, hi;
};
void ims_inv_context_scope(enum ims_inv_gran gran, uint16_t did, uint16_t sid, uint8_t fm, struct ims_inv_scope *s);
void ims_inv_iotlb_scope(enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am, bool ih,
                         struct ims_inv_scope *s);
/* The entry sizes each key kind comes in (VT-d: the IOTLB holds 4 KiB,
 * 2 MiB and 1 GiB pages; the paging-structure cache of level L entries of
 * 2^(12 + 9L - 9) bytes): the classes a scope's keys fall into. Inline: a
 * timing layer walks them per invalidation. */
#define IMS_KEY_NSIZES 7
static const struct ims_key_size {
    uint8_t kind, shift;
} ims_key_sizes[IMS_KEY_NSIZES] = {
    {IMS_KEY_IOTLB, 12},   {IMS_KEY_IOTLB, 21},   {IMS_KEY_IOTLB, 30},   {IMS_KEY_PSC + 2, 21},
    {IMS_KEY_PSC + 3, 30}, {IMS_KEY_PSC + 4, 39}, {IMS_KEY_PSC + 5, 48},
};

/* How many keys a narrow scope covers: for each class i of ims_key_sizes
 * whose kind is in s->kinds, the tags [s->lo >> shift, s->hi >> shift] in
 * domain s->dom. Returns 0 when the scope is not narrow (any domain, a
 * context scope, or more than max keys): then match keys against the
 * scope's range instead. */
static inline size_t ims_inv_scope_nkeys(const struct ims_inv_scope *s, size_t max)
{
    if (s->any_dom || (s->kinds & (1u << IMS_KEY_CTX)))
        return 0;
    size_t n = 0;
    for (unsigned i = 0; i < IMS_KEY_NSIZES; i++) {
        const unsigned shift = ims_key_sizes[i].shift;
        if (!(s->kinds & (1u << ims_key_sizes[i].kind)))
            continue;
        const uint64_t span = (s->hi >> shift) - (s->lo >> shift);
        if (span >= max - n)
            return 0;
        n += span + 1;
    }
    return n;
}

/* ---- Fault queue: a circular buffer of 16-byte VT-d fault records in memory.
 * The IOMMU writes at tail; software reads at head. Full when
 * (tail + 1) % records == head: the fault is dropped, counted, and the overflow
 * flag (like VT-d's PFO) is set until software clears it. */
struct ims_fq_state {
    uint64_t base;
    uint32_t records;
    uint32_t head;      /* next record software reads */
    uint32_t tail;      /* next record the IOMMU writes */
    bool overflow;
    uint64_t dropped;   /* faults lost since creation */
};
void ims_fq_get(const struct ims_iommu *mmu, struct ims_fq_state *st);
/* Software side: reads up to max records from memory (through mem, directly,
 * not through the IOMMU's ops), clears their F bits, advances head.
 * Returns the number read. */
size_t ims_fq_drain(struct ims_iommu *mmu, struct ims_mem *mem, struct ims_fault_record *out, size_t max);
void ims_fq_clear_overflow(struct ims_iommu *mmu);

/* The prefetch walks of the last demand walk (iotlb.prefetch), in order,
 * for a timing layer (docs/timing.md, "IOTLB prefetch"): valid until the
 * next translation. NULL when the IOMMU prefetches nothing. With rIOMMU
 * rings (cfg.riommu), a ring miss leaves its next-slot read here too (one
 * read, pa[0] the flat entry; filled: the slot is mapped). */
struct ims_pf_walk {
    uint64_t iova;   /* the page walked (4 KiB aligned) */
    uint16_t did;
    uint8_t shift;   /* page size filled (filled only) */
    uint8_t filled;  /* 1: a translation was inserted; 0: none found */
    uint8_t n_reads; /* paging-entry reads, addresses in pa[] */
    uint64_t pa[IMS_MAX_LEVELS];
};
struct ims_pf_log {
    unsigned n;
    struct ims_pf_walk w[IMS_PF_MAX_DEGREE];
};
const struct ims_pf_log *ims_iommu_pf_log(const struct ims_iommu *mmu);

/* Map-time prefetch (cfg.iotlb_prefetch_on_map; docs/config.md, "Map-time
 * prefetch"): a what-if, no VT-d descriptor does this. Software tells the
 * IOMMU that [iova, iova + size) of domain `did` has just been mapped; the
 * IOMMU walks its first pages, up to iotlb_prefetch_degree 4 KiB pages, as
 * prefetch walks (same tables, caches and counts: iotlb_prefetch.*), from
 * the second-level table of a context-cache entry of that domain (none
 * cached: the hint is dropped), and inserts what the tables map into the
 * prefetch buffer if there is one, else the IOTLB. Returns the walks made;
 * they are in ims_iommu_pf_log until the next translation or hint. Does
 * nothing (0) when the option is off or in scalable mode. */
unsigned ims_iommu_map_hint(struct ims_iommu *mmu, uint16_t did, uint64_t iova, uint64_t size);
const struct ims_stats *ims_iommu_stats(struct ims_iommu *mmu);
void ims_iommu_stats_reset(struct ims_iommu *mmu);

#ifdef __cplusplus
}
#endif

#endif /* IMS_IOMMU_H */
