/* Internal: the context cache. Not architectural in its geometry: it caches
 * context entries (VT-d 6.2.1) so that a hit costs no root or context table
 * read.
 *
 * Tag: requester id in bits 15:0 and a PASID tag above (0 in legacy mode,
 * where context entries are per requester id; a scalable-mode PASID cache
 * puts PASID + 1 there). dom and shift are 0.
 * Payload: data = the context entry's low word (P, FPD, TT, SLPTPTR); aux =
 * bits 31:0 of its high word (AW, AVAIL, DID: every field legacy mode uses;
 * bits 63:24 are reserved-zero in a present entry). A cached not-present
 * entry (caching mode) keeps only FPD, with aux 0. */
#ifndef IMS_CTX_CACHE_H
#define IMS_CTX_CACHE_H

#include "iommu_impl.h"

static inline uint64_t ims_ctxc_tag(uint16_t rid, uint32_t pasid_tag) { return (uint64_t)pasid_tag << 16 | rid; }

static inline uint32_t ims_ctxc_set(const struct ims_cache *c, uint16_t rid)
{
    return (uint32_t)(rid ^ (rid >> 8)) & c->set_mask;
}

/* The cached entry of `rid` (legacy: no PASID), or NULL; counts a lookup.
 * A device sends runs of requests: the entry of the last hit is compared
 * first. If it still holds the key (valid, same tag) it is the hit the scan
 * of the set would find (a key lives in one way of its one set), so the
 * lookup counts and updates the policy as ims_cache_lookup_inl does, without
 * the scan. Only for narrow caches that classify nothing (c->slow clear). */
static inline const struct ims_cache_entry *ims_ctxc_lookup(struct ims_iommu *mmu, uint16_t rid, uint32_t cset)
{
    struct ims_cache *c = mmu->ctx;
    struct ims_cache_entry *last = mmu->ctx_last;
    if (last && ims_cache_same_(last, ims_ctxc_tag(rid, 0), 0, ims_cache_key_(0)) && !c->slow) {
        c->st.lookups++;
        c->st.hits++;
        ims_cache_touch_(c, cset, mmu->ctx_last_way);
        return last;
    }
    struct ims_cache_entry *e = ims_cache_lookup_inl(c, cset, ims_ctxc_tag(rid, 0), 0, 0);
    if (e && !c->slow) {
        mmu->ctx_last = e;
        mmu->ctx_last_way = (uint32_t)(e - (c->e + (size_t)cset * c->ways));
    }
    return e;
}

/* The entry as the payload holds it. */
static inline struct ims_ctx_entry ims_ctxc_entry(const struct ims_cache_entry *e)
{
    return (struct ims_ctx_entry){e->data, e->aux};
}

/* Caches `ce` for `rid` (set `cset`): a present entry whole, a not-present
 * one (caching mode) with only its FPD. */
static inline void ims_ctxc_fill(struct ims_iommu *mmu, uint16_t rid, uint32_t cset, const struct ims_ctx_entry *ce)
{
    struct ims_cache_entry *e = ims_cache_insert(mmu->ctx, cset, ims_ctxc_tag(rid, 0), 0, 0, NULL);
    if (!e)
        return;
    if (ims_ctx_present(ce)) {
        e->data = ce->lo;
        e->aux = (uint32_t)ce->hi;
    } else {
        struct ims_ctx_entry np = {0, 0};
        ims_ctx_set_fpd(&np, ims_ctx_fpd(ce));
        e->data = np.lo;
        e->aux = 0;
    }
}

/* Context-cache invalidation (VT-d 6.5.1.1): global; domain `did`; device
 * `sid` in domain `did` with function mask fm. Returns entries removed. */
size_t ims_ctxc_invalidate(struct ims_iommu *mmu, enum ims_inv_gran gran, uint16_t did, uint16_t sid, uint8_t fm);

#endif /* IMS_CTX_CACHE_H */
