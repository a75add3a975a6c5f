/* The context cache's invalidation (VT-d 6.5.1.1: global, domain-selective
 * and device-selective with a function mask). Lookup and fill are inline in
 * ctx_cache.h. */
#include "ctx_cache.h"

struct match {
    uint16_t did, sid, mask;
    bool by_sid;
};

static bool pred(const struct ims_cache_entry *e, void *arg)
{
    const struct match *m = arg;
    const struct ims_ctx_entry ce = ims_ctxc_entry(e);
    if (ims_ctx_did(&ce) != m->did)
        return false;
    return !m->by_sid || ((uint16_t)e->tag & m->mask) == (m->sid & m->mask);
}

size_t ims_ctxc_invalidate(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint16_t sid, uint8_t fm)
{
    if (gran == IMS_INV_GLOBAL)
        return ims_cache_invalidate_all(mmu->ctx);
    if (gran != IMS_INV_DOMAIN && gran != IMS_INV_DEVICE)
        return 0;
    /* Function mask (6.5.2.1 FM): 1 ignores function bit 2, 2 bits 2:1, 3 bits 2:0. */
    static const uint16_t fm_bits[4] = {0, 0x4, 0x6, 0x7};
    struct match m = {did, sid, (uint16_t)~fm_bits[fm & 3u], gran == IMS_INV_DEVICE};
    return ims_cache_invalidate_if(mmu->ctx, pred, &m);
}
