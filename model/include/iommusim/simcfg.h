/* Configuration of the cycle-approximate model: every key, its default, unit
 * and range, in one table (simcfg.c; the C core's fields take the core's
 * defaults). Files are `key = value` lines; `#` starts a comment. Unknown
 * keys and out-of-range values are errors naming the key and the file:line
 * (or "--set"). docs/config.md is the reference;
 * `iommusim run --print-config` prints the same table.
 */
#ifndef IMS_SIMCFG_H
#define IMS_SIMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/iommu.h"
#include "iommusim/tb.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ims_player_mode {
    IMS_PLAYER_OPEN = 0,   /* issue at recorded timestamps */
    IMS_PLAYER_CLOSED = 1, /* per-device outstanding window, as fast as accepted */
};
enum ims_inv_policy {
    IMS_INV_DRAIN = 0,   /* invalidation completes after in-flight walks in scope finish */
    IMS_INV_DISCARD = 1, /* in-flight walks in scope are discarded: no wait */
};

enum ims_walker_impl {
    IMS_WALKER_TLM = 0,      /* the transaction-level walker times every walk */
    IMS_WALKER_RTL = 1,      /* the verilated RTL walker makes and times every walk */
    IMS_WALKER_LOCKSTEP = 2, /* TLM timing; the RTL makes every walk too and is checked against the core */
};

/* All latencies are in IOMMU clock cycles. */

struct ims_sim_cfg {
    struct ims_iommu_cfg iommu; /* caps, cache geometries, fault queue */
    struct ims_tb_cfg tb;       /* where replayed page tables live */
    /* The IOTLB geometry's keys as set (iommu.iotlb holds the geometry they
     * give, resolved after each of them): iotlb.sets, iotlb.entries (0: not
     * set), and iotlb.ways = full (iommu.iotlb.ways then holds the entries). */
    uint32_t iotlb_sets_key;    /* sets */
    uint32_t iotlb_entries;     /* entries; 0 = sets x ways */
    bool iotlb_ways_full;       /* one set of iotlb_entries ways */
    uint32_t clock_mhz;         /* IOMMU clock, MHz */

    uint32_t ctx_latency;       /* context-cache lookup, cycles */
    uint32_t iotlb_latency;     /* IOTLB lookup, cycles */
    uint32_t iotlb_ports;       /* IOTLB lookups accepted per cycle */
    uint32_t psc_latency;       /* paging-structure-cache lookup (all levels in parallel), cycles */
    uint32_t walkers;           /* concurrent page walks */
    uint32_t walk_queue;        /* misses waiting for a walker before the input stalls */
    uint32_t walk_step;         /* walker cycles per level besides the memory read */
    uint32_t fill_latency;      /* cycles from the leaf read to the response */
    uint8_t walker_impl;        /* enum ims_walker_impl */
    bool rtl_skip_idle;         /* RTL: skip cycles in which it provably cannot change state */
    bool walk_rtl_timing;       /* TLM walker: time walks as the RTL walker does (walker.hpp) */
    uint32_t cosim_report_limit; /* RTL walks whose mismatch is reported in full */

    uint32_t mem_latency;       /* page-table read latency, cycles */
    uint32_t mem_bytes_per_cycle; /* memory bandwidth for IOMMU accesses, bytes/cycle */
    uint32_t mem_access_bytes;  /* bytes moved per table read (a cache line) */
    uint32_t mem_outstanding;   /* table reads in flight at once */
    double ptw_cache_hit;       /* probability a table read hits a cache on the way, 0..1 */
    uint32_t ptw_cache_latency; /* latency of such a hit, cycles */

    uint32_t inv_latency;       /* cycles an invalidation occupies the lookup pipeline */
    uint8_t inv_policy;         /* enum ims_inv_policy */

    uint8_t player_mode;        /* enum ims_player_mode */
    uint32_t window;            /* closed loop: outstanding requests per device */
    double time_scale;          /* open loop: recorded inter-arrival times are divided by it (1: as recorded) */
    uint64_t warmup;            /* DMA records excluded from stats (besides a MARK warmup-end) */
    uint8_t iova_remap;         /* player.iova_remap: 0 none, else 1 + the strategy's index (model/trace/iova_remap.h) */
    bool pipeline;              /* player.pipeline: open loop, the functional core on the reader's thread (same results) */

    uint32_t fault_drain_every; /* software drains the fault queue after this many new records */
    uint64_t seed;              /* for random replacement and the table-read cache */
    uint64_t regs_base;         /* VT-d register file base (ims::VtdIommu; unused by the replayer) */

    /* Device-side ATC of the trace player's devices with TT = device TLB
     * (iommusim/atc.hpp): entries = sets x ways, 0 = no ATC. */
    uint32_t atc_entries;
    uint32_t atc_ways;
    uint8_t atc_repl;           /* enum ims_repl */

    /* Page requests (PCIe PRI) of `sm dte pre` devices (docs/vtd.md "Page
     * requests"): the page request queue's descriptors (power of two,
     * 128..16384), and the OS's service time before its page group
     * response, cycles. */
    uint32_t pri_queue_entries;
    uint64_t pri_response_latency;
};

/* The built-in design point: the C core's defaults (ims_iommu_cfg_default,
 * ims_tb_cfg_default) for its fields, the key table's for the rest. An empty
 * file and configs/default.cfg both leave exactly this. */
void ims_sim_cfg_default(struct ims_sim_cfg *cfg);
/* Sets one key from text; 0, or -1 with "key: message" in err. */
int ims_sim_cfg_set(struct ims_sim_cfg *cfg, const char *key, const char *value, char *err, size_t errlen);
/* Applies "key=value" (as given to --set); where = "--set" or similar for messages. */
int ims_sim_cfg_set_kv(struct ims_sim_cfg *cfg, const char *kv, const char *where, char *err, size_t errlen);
/* Reads a key = value file over cfg; errors name path:line and the key. */
int ims_sim_cfg_load(struct ims_sim_cfg *cfg, const char *path, char *err, size_t errlen);
/* Every value in its key's range (for a configuration filled in as a struct,
 * not through ims_sim_cfg_set), then the cross-key checks (e.g. PLRU needs
 * power-of-two ways; cache geometry; alignments). 0, or -1 with a message
 * naming the key: what the timing model and ims::VtdIommu cannot serve. */
int ims_sim_cfg_check(const struct ims_sim_cfg *cfg, char *err, size_t errlen);
/* Writes every key with its current value, unit and description as a config
 * file; a value that differs from the built-in default also names the default. */
void ims_sim_cfg_print(const struct ims_sim_cfg *cfg, void *file);
/* Number of keys and the i-th key's name (for docs checks). */
size_t ims_sim_cfg_keys(void);
const char *ims_sim_cfg_key(size_t i);
/* Writes key's value in cfg as a file would set it (e.g. "39,48", "lru",
 * "0xfee00000"); 0, or -1 for an unknown key. */
int ims_sim_cfg_get(const struct ims_sim_cfg *cfg, const char *key, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* IMS_SIMCFG_H */
