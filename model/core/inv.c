/* Invalidation commands (VT-d 6.5: context-cache and IOTLB invalidation
 * granularities): each command is turned into the removals of the blocks it
 * covers, and into a scope over cache keys for a timing layer that must wait
 * for fills in flight (iommu.h, "Cache keys and invalidation scopes"). */
#include "ctx_cache.h"
#include "iotlb.h"
#include "psc.h"
#include "riommu.h"
#include "sm_impl.h"

size_t ims_inv_context(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint16_t sid, uint8_t fm)
{
    mmu->st.inv_ctx++;
    if (mmu->sm)
        return ims_sm_inv_context(mmu, gran, sid, fm);
    return ims_ctxc_invalidate(mmu, gran, did, sid, fm);
}

/* [lo, hi]: the bytes a page-selective invalidation names. */
static void page_range(uint64_t addr, uint8_t am, uint64_t *lo, uint64_t *hi)
{
    unsigned bits = IMS_PAGE_SHIFT + am;
    if (bits >= 64) {
        *lo = 0;
        *hi = UINT64_MAX;
    } else {
        *lo = addr & ~((UINT64_C(1) << bits) - 1);
        *hi = *lo + ((UINT64_C(1) << bits) - 1);
    }
}

size_t ims_inv_iotlb(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am, bool ih)
{
    /* rIOMMU rings (cfg.riommu): ring slots are never in the IOTLB or the
     * paging-structure caches, and their unmaps change no radix table, so
     * a command that covers ring slots only has nothing to do (rIOMMU
     * needs none per buffer): elided, and counted apart. */
    if (__builtin_expect(mmu->rio != NULL, 0) && ims_riommu_covers(mmu, gran, did, addr, am)) {
        mmu->st.riommu.inv_elided++;
        return 0;
    }
    mmu->st.inv_iotlb++;
    if (mmu->sm)
        return ims_sm_inv_iotlb(mmu, gran, did, addr, am, ih);
    if (gran == IMS_INV_PAGE && am == 0) {
        /* One 4 KiB page (what a strict-mode driver sends for every unmapped
         * page): for each page size, and for each paging-structure level,
         * only the entry whose tag is this address's can overlap it. */
        size_t n = ims_iotlb_invalidate_page(mmu, did, addr);
        if (!ih) /* the hint: only leaves changed; paging-structure caches stay */
            n += ims_psc_invalidate_page(mmu, did, addr);
        return n;
    }
    uint64_t lo = 0, hi = UINT64_MAX;
    bool by_did;
    if (gran == IMS_INV_GLOBAL)
        by_did = false;
    else if (gran == IMS_INV_DOMAIN || gran == IMS_INV_PAGE)
        by_did = true;
    else
        return 0;
    if (gran == IMS_INV_PAGE)
        page_range(addr, am, &lo, &hi);
    size_t n = ims_iotlb_invalidate(mmu, by_did, did, lo, hi);
    if (gran == IMS_INV_PAGE && ih)
        return n;
    return n + ims_psc_invalidate(mmu, by_did, did, lo, hi);
}

/* Scalable mode's PASID-based commands (VT-d 6.5.2.4, 6.5.2.5; sm.c). */
size_t ims_inv_pasid_cache(struct ims_iommu *mmu, enum ims_pinv_gran gran, uint16_t did, uint32_t pasid)
{
    if (!mmu->sm)
        return 0;
    mmu->st.sm.inv_pasid_cache++;
    return ims_sm_inv_pasid_cache(mmu, gran, did, pasid);
}

size_t ims_inv_piotlb(struct ims_iommu *mmu, enum ims_pinv_gran gran, uint16_t did, uint32_t pasid, uint64_t addr,
                      uint8_t am, bool ih)
{
    if (!mmu->sm)
        return 0;
    mmu->st.sm.inv_piotlb++;
    return ims_sm_inv_piotlb(mmu, gran, did, pasid, addr, am, ih);
}

/* ---- Scopes for a timing layer ---- */

void ims_inv_context_scope(enum ims_inv_gran gran, uint16_t did, uint16_t sid, uint8_t fm, struct ims_inv_scope *s)
{
    /* Context keys are (dom = requester id, tag = domain id): see ims_xlate_ctx_key. */
    *s = (struct ims_inv_scope){.kinds = 1u << IMS_KEY_CTX, .any_dom = true, .lo = 0, .hi = UINT64_MAX};
    if (gran == IMS_INV_DOMAIN) {
        s->lo = s->hi = did;
    } else if (gran == IMS_INV_DEVICE && fm == 0) {
        s->any_dom = false;
        s->dom = sid;
    }
    /* Global, or a function mask: every context key (conservative). */
}

void ims_inv_iotlb_scope(enum ims_inv_gran gran, uint16_t did, uint64_t addr, uint8_t am, bool ih,
                         struct ims_inv_scope *s)
{
    *s = (struct ims_inv_scope){.kinds = 1u << IMS_KEY_IOTLB, .any_dom = gran == IMS_INV_GLOBAL, .dom = did,
                                .lo = 0, .hi = UINT64_MAX};
    /* With the hint only leaves change: paging-structure fills are out of scope. */
    if (!ih || gran != IMS_INV_PAGE)
        for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
            s->kinds |= 1u << (IMS_KEY_PSC + l);
    if (gran == IMS_INV_PAGE)
        page_range(addr, am, &s->lo, &s->hi);
}

