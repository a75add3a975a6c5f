/* Internal: rIOMMU rings (cfg.riommu; riommu.c). Not architectural for
 * VT-d: the ring-structured translation of Malka et al., "rIOMMU: Efficient
 * IOMMU for I/O Devices that Employ Ring Buffers" (ASPLOS'15), as an option
 * beside the radix tables.
 *
 * Each ring has a flat table in memory, one 8-byte entry per slot:
 *   [1:0]   R, W (IMS_PERM_*; 0 = the slot is not mapped)
 *   [11:2]  0
 *   [63:12] output address of the slot's first byte (4 KiB aligned)
 * and one rIOTLB entry: the current slot's flat entry, plus the next
 * slot's, read ahead when the ring moves on (the device uses its slots in
 * ring order). The rIOTLB holds nothing else; the IOTLB never holds a ring
 * slot's translation. */
#ifndef IMS_RIOMMU_H
#define IMS_RIOMMU_H

#include "iommu_impl.h"

#define IMS_RIO_R_W UINT64_C(0x3)
#define IMS_RIO_ADDR (~UINT64_C(0xfff))
IMS_STATIC_ASSERT(IMS_PERM_RW == IMS_RIO_R_W, "a flat entry's permission bits are IMS_PERM_*");

struct ims_rio_ring {
    uint64_t lo, hi; /* the ring's IOVAs [lo, hi) (bytes) */
    uint64_t size;   /* slot size, bytes */
    uint64_t table;  /* PA of slot 0's flat entry */
    uint32_t slots;
    uint16_t did;
    bool down;
    /* rIOTLB: the current slot and the prefetched next one (valid: read,
     * whatever it held; a held not-present entry is read again on use). */
    bool cur_valid, next_valid;
    uint32_t cur_slot, next_slot;
    uint64_t cur_val, next_val;
};

struct ims_riommu {
    unsigned n;
    struct ims_rio_ring r[IMS_RIOMMU_MAX_RINGS];
    /* The next-slot read after a miss, for the timing layer (as IOTLB
     * prefetch walks are: ims_iommu_pf_log) when mmu->pf is NULL. */
    struct ims_pf_log log;
};

/* The ring of domain did holding iova, or NULL. Setup keeps rings apart. */
static inline struct ims_rio_ring *ims_rio_find(struct ims_riommu *rio, uint16_t did, uint64_t iova)
{
    for (unsigned i = 0; i < rio->n; i++) {
        struct ims_rio_ring *g = &rio->r[i];
        if (g->did == did && iova >= g->lo && iova < g->hi)
            return g;
    }
    return NULL;
}

/* riommu.c: step 4a of ims_translate (legacy mode, untranslated request,
 * context known). -1: iova is no ring slot of domain did (the IOTLB and the
 * walk translate it); else 0 (out finished) or the fault reason. */
int ims_riommu_translate(struct ims_iommu *mmu, const struct ims_req *req, struct ims_xlate *out, uint16_t did);
/* riommu.c: creation from cfg->riommu (*out NULL when off; -1 with a message) and destruction. */
int ims_riommu_create(const struct ims_iommu_cfg *cfg, struct ims_riommu **out, char *err, size_t errlen);
void ims_riommu_destroy(struct ims_riommu *rio);
/* prefetch.c: the prefetcher's log (the next-slot read goes into it when both are on). */
struct ims_pf_log *ims_pf_log_mut(struct ims_prefetcher *pf);

#endif /* IMS_RIOMMU_H */
