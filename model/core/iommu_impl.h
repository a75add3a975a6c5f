/* Internal: the IOMMU instance, shared by iommu.c (setup, invalidation,
 * stats), walk.c (translation) and fault.c (fault queue). */
#ifndef IMS_IOMMU_IMPL_H
#define IMS_IOMMU_IMPL_H

#include "cache_impl.h"
#include "iommusim/iommu.h"

/* Page sizes the IOTLB can hold, in probe order. */
#define IMS_NSIZES 3
static const uint8_t ims_size_shift[IMS_NSIZES] = {12, 21, 30};

struct ims_iommu {
    struct ims_iommu_cfg cfg;
    uint64_t (*read64)(void *ctx, uint64_t pa, enum ims_mem_kind kind);
    void (*write64)(void *ctx, uint64_t pa, uint64_t val, enum ims_mem_kind kind);
    void *mem_ctx;
    uint64_t rtaddr;
    uint64_t haw_rsvd;   /* bits [51:HAW] (reserved address bits in entries) */
    unsigned mgaw;
    struct ims_cache *ctx;
    struct ims_cache *iotlb;
    struct ims_cache *psc[IMS_MAX_LEVELS + 1];
    uint32_t iotlb_size_count[IMS_NSIZES]; /* valid IOTLB entries per page size */
    struct ims_fq_state fq;
    struct ims_stats st;
};

/* Context-cache payload: data = context entry lo word (P, FPD, TT, SLPTPTR)
 * with AW packed into bits 6:4 (reserved-zero in a valid entry); aux = DID;
 * dom = 0, shift = 0, tag = requester id. */
#define IMS_CC_AW_SHIFT 4

static inline uint32_t ims_iotlb_set(const struct ims_cache *c, uint64_t tag, uint32_t did)
{
    uint64_t h = tag ^ (tag >> 7) ^ ((uint64_t)did * 0x9e5u);
    return (uint32_t)h & c->set_mask;
}
static inline uint32_t ims_psc_set(const struct ims_cache *c, uint64_t tag, uint32_t did)
{
    return (uint32_t)(tag ^ (tag >> 9) ^ did) & c->set_mask;
}
static inline uint32_t ims_ctx_set(const struct ims_cache *c, uint16_t rid)
{
    return (uint32_t)(rid ^ (rid >> 8)) & c->set_mask;
}

/* fault.c: records (or drops, or suppresses) a fault; sets out->flags. */
void ims_fault_report(struct ims_iommu *mmu, const struct ims_req *req, unsigned reason, bool fpd,
                      struct ims_xlate *out);

#endif /* IMS_IOMMU_IMPL_H */
