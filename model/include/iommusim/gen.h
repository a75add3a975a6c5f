/* Synthetic trace generators: seeded, deterministic, streaming.
 *
 * Contract:
 * - The same configuration (kind, seed and every option) gives a
 *   byte-identical trace; generators use their own PRNG (splitmix64), never
 *   rand().
 * - Output is written through ims_trace_create() (form by suffix) whole or
 *   not at all. Memory is bounded by the options (ring sizes, queue depth,
 *   footprint / 2 MiB), never by --count.
 * - Every trace is self-consistent: ATTACH before use, MAP before a DMA
 *   touches a page (svm --pri on: the first touch of a page comes first,
 *   then the OS's PMAP and PGRESP: docs/tools.md, "svm"), every DMA
 *   carries its expected output address, UNMAP is followed by the
 *   invalidation a driver issues (strict: page-selective per unmap;
 *   deferred: a batch of unmaps then one domain-selective flush), so
 *   `iommusim trace validate` passes on it.
 * - --count is the number of DMA records (calib: 0 = the recording's page
 *   accesses); MARK warmup-end follows the first
 *   warmup * count of them (no mark if warmup is 0).
 * docs/tools.md documents every option and its default.
 */
#ifndef IMS_GEN_H
#define IMS_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ims_gen_kind {
    IMS_GEN_NIC = 0,    /* rx/tx descriptor rings + packet buffers */
    IMS_GEN_NVME = 1,   /* submission/completion queues, PRP lists, data pages */
    IMS_GEN_GPU = 2,    /* bulk streaming over a large footprint of 2 MiB pages */
    IMS_GEN_RANDOM = 3, /* uniform over a footprint of 4 KiB pages (worst case) */
    IMS_GEN_MULTI = 4,  /* many devices and domains, one bridge with aliasing */
    IMS_GEN_CALIB = 5,  /* footprint, reuse distances and unmap shape measured from a recording */
    IMS_GEN_SVM = 6,     /* scalable mode: processes' heaps handed to an accelerator by PASID (shared virtual memory) */
    IMS_GEN_KIND_COUNT
};
/* "nic", ...; NULL if out of range. */
const char *ims_gen_kind_name(unsigned kind);
/* -1 if unknown. */
int ims_gen_kind_from_name(const char *name);

struct ims_gen_cfg {
    unsigned kind;         /* enum ims_gen_kind */
    uint64_t count;        /* DMA records (required, >= 1) */
    uint64_t seed;         /* PRNG seed (default 1) */
    double warmup;         /* fraction of count before MARK warmup-end, [0, 1) (default 0.1) */
    unsigned levels;       /* page-table levels of every domain, 3..5 (default 4) */
    uint64_t gap;          /* mean nanoseconds between DMA records (default 100) */
    bool strict;           /* nic/nvme/multi: strict unmap (default) or deferred */
    uint32_t flush_batch;  /* deferred: unmaps per domain flush (default 256) */
    bool recycle;          /* nic/nvme/multi: reuse freed IOVAs first, LIFO (default on) */
    unsigned iova_alloc;   /* nic/nvme/multi: 0: as recycle says; else 1 + the --iova-alloc strategy (model/trace/ia.h) */
    uint32_t ring_size;    /* nic: descriptors per ring (default 256) */
    uint32_t buf_size;     /* nic: bytes per packet buffer (default 2048) */
    uint64_t pool;         /* nic: bytes of a buffer pool mapped once, 0 = per-packet map/unmap (default 0) */
    bool hugepages;        /* nic: the pool mapped with 2 MiB pages (default off) */
    uint32_t queue_depth;  /* nvme: commands in flight (default 64) */
    uint32_t block_size;   /* nvme: bytes per data DMA record, divides 4096 (default 4096) */
    uint32_t io_size;      /* nvme: bytes per command, multiple of 4096 (default 16384) */
    uint64_t footprint;    /* gpu: bytes mapped (default 1 GiB); random: (default 256 MiB) */
    uint32_t chunk;        /* gpu: bytes per DMA record (default 65536) */
    uint32_t streams;      /* gpu: concurrent sequential streams (default 4) */
    uint32_t devices;      /* multi: devices (default 8) */
    uint32_t domains;      /* multi: domains (default 4) */
    const char *from;      /* calib: the recording to measure (required; not copied: must outlive the cfg) */
    uint32_t processes;    /* svm: processes, one PASID each (default 4) */
    bool nested;           /* svm: the processes live in a VM, PASIDs bound nested (default off) */
    bool pri;              /* svm: first touches resolved through page requests (PRI), not pre-faulted (default off) */
    uint64_t pri_service;  /* svm --pri on: ns from a first touch to the OS's pmap and pgresp (default 10000) */
    bool pri_service_set;  /* svm: --pri-service was given (refused without --pri on) */
};
void ims_gen_cfg_default(struct ims_gen_cfg *cfg, unsigned kind);

/* Sets option `key` (the command-line name without "--", e.g. "ring-size")
 * from text. Sizes accept k/m/g suffixes (powers of 1024). 0, or -1 with a
 * message naming the option (unknown, not used by this kind, out of range). */
int ims_gen_set(struct ims_gen_cfg *cfg, const char *key, const char *val, char *err, size_t errlen);
/* Cross-option checks (count set, io-size a multiple of block-size, ...). */
int ims_gen_check(const struct ims_gen_cfg *cfg, char *err, size_t errlen);
/* Writes the option reference (for --help) to a FILE *. */
void ims_gen_help(void *file);

struct ims_gen_stats {
    uint64_t records;        /* all records written */
    uint64_t dma;            /* DMA records */
    uint64_t dma_bytes;      /* bytes moved by them */
    uint64_t maps, unmaps;
    uint64_t invalidations;  /* INV_IOTLB + INV_CTX records */
    uint64_t attaches;
};

/* Generates the trace into `path` (form by suffix). 0, or -1 with err. */
int ims_gen_write(const struct ims_gen_cfg *cfg, const char *path, struct ims_gen_stats *stats, char *err,
                  size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* IMS_GEN_H */
