// Invalidation timing: an invalidation occupies the lookup pipeline for
// `inv.latency` cycles and, with inv.policy = drain, completes only after
// the fills in flight that it covers (inflight.hpp). Which fills those are
// is the core's answer (ims_inv_*_scope); this file only times them.
#include <algorithm>

#include "inflight.hpp"
#include "iommusim/tlm.hpp"

namespace ims {

namespace {
// A narrow scope's keys are looked up one by one; a wider one (more keys
// than this) is matched against every fill in flight.
constexpr std::size_t kScopeKeys = 600;
}  // namespace

// The cycle the fills in `scope` in flight after tin have all completed (tin if none).
Cycles Iommu::drain(Cycles tin, const ims_inv_scope &scope)
{
    if (m_cfg.inv_policy != IMS_INV_DRAIN || !m_fills->busy_after(tin))
        return tin;
    if (!scope.any_dom && scope.lo >> IMS_PAGE_SHIFT == scope.hi >> IMS_PAGE_SHIFT &&
        !(scope.kinds & (1u << IMS_KEY_CTX))) {
        // Inside one 4 KiB page (what a strict-mode driver sends per
        // unmapped page): one key per class.
        Cycles drained = tin;
        for (const ims_key_size &ks : ims_key_sizes)
            if (scope.kinds & (1u << ks.kind))
                drained = m_fills->wait_for(ims_key{scope.lo >> ks.shift, scope.dom, ks.kind, ks.shift}, drained);
        return drained;
    }
    if (ims_inv_scope_nkeys(&scope, kScopeKeys) == 0)
        return std::max(tin, m_fills->latest(scope, tin));
    Cycles drained = tin;
    for (const ims_key_size &ks : ims_key_sizes) {
        if (!(scope.kinds & (1u << ks.kind)))
            continue;
        ims_key k{0, scope.dom, ks.kind, ks.shift};
        for (k.tag = scope.lo >> ks.shift; k.tag <= scope.hi >> ks.shift; k.tag++)
            drained = m_fills->wait_for(k, drained);
    }
    return drained;
}

namespace {
// Every key of the kinds in `kinds` (one domain: dom; any: any_dom).
ims_inv_scope whole(std::uint32_t kinds, bool any_dom, std::uint32_t dom)
{
    return ims_inv_scope{kinds, any_dom, dom, 0, UINT64_MAX};
}
constexpr std::uint32_t kPscKinds = ((1u << (IMS_KEY_PSC + IMS_MAX_LEVELS + 1)) - 1) & ~((1u << (IMS_KEY_PSC + 2)) - 1);
}  // namespace

// A core in scalable mode tags its fills with the same keys as in legacy
// mode (iommu.h: IOTLB and paging-structure keys by domain id and input
// address, context keys by requester id and domain id) but removes more
// for two legacy commands (iommu.h, "Scalable mode"; VT-d 6.5.2.1,
// 6.5.2.3): a page-selective IOTLB invalidation removes every nested entry
// of the domain whatever its address, and a domain-selective context one
// every context entry. Their scopes widen to match.
Cycles Iommu::invalidate_iotlb(Cycles t, ims_inv_gran gran, std::uint16_t did, std::uint64_t addr, std::uint8_t am,
                               bool ih)
{
    // rIOMMU rings (riommu.rings): a command that covers ring slots only is
    // elided (the core counts it, riommu.inv_elided): no wait, no pipeline
    // time, not in inv_iotlb. The layout it asks about never changes.
    if (__builtin_expect(m_cfg.iommu.riommu.n_rings != 0, 0) && ims_riommu_covers(m_core, gran, did, addr, am)) {
        if (!m_pre_on)  // (precomputed mode: the caller applied it to the core)
            ims_inv_iotlb(m_core, gran, did, addr, am, ih);
        return t;
    }
    const Cycles tin = std::max(t, m_input_ready);
    ims_inv_scope scope;
    ims_inv_iotlb_scope(gran, did, addr, am, ih, &scope);
    if (gran == IMS_INV_PAGE && core_scalable())
        scope.lo = 0, scope.hi = UINT64_MAX;
    const Cycles drained = drain(tin, scope);
    if (!m_pre_on)  // (precomputed mode: the caller applied it to the core)
        ims_inv_iotlb(m_core, gran, did, addr, am, ih);
    const Cycles done = drained + m_cfg.inv_latency;
    m_input_ready = std::max(m_input_ready, tin + m_cfg.inv_latency);
    m_st.inv_iotlb++;
    m_st.inv_cycles += done - t;
    return done;
}

Cycles Iommu::invalidate_context(Cycles t, ims_inv_gran gran, std::uint16_t did, std::uint16_t sid, std::uint8_t fm)
{
    const Cycles tin = std::max(t, m_input_ready);
    ims_inv_scope scope;
    ims_inv_context_scope(gran, did, sid, fm, &scope);
    if (gran == IMS_INV_DOMAIN && core_scalable())
        scope = whole(1u << IMS_KEY_CTX, true, 0);
    const Cycles drained = drain(tin, scope);
    if (!m_pre_on)  // (precomputed mode: the caller applied it to the core)
        ims_inv_context(m_core, gran, did, sid, fm);
    const Cycles done = drained + m_cfg.inv_latency;
    m_input_ready = std::max(m_input_ready, tin + m_cfg.inv_latency);
    m_st.inv_ctx++;
    m_st.inv_cycles += done - t;
    return done;
}

// PASID-based IOTLB invalidation (6.5.2.4): first-level and nested entries
// of (did, pasid). Fill keys carry no PASID, so the scope is the domain's
// keys in the range (every address for PASID-selective): it may wait for a
// fill of another PASID of the same domain, never miss one it removes.
// With ih, page-selective leaves the paging-structure caches, and their
// fills are out of scope.
Cycles Iommu::invalidate_piotlb(Cycles t, ims_pinv_gran gran, std::uint16_t did, std::uint32_t pasid,
                                std::uint64_t addr, std::uint8_t am, bool ih)
{
    const Cycles tin = std::max(t, m_input_ready);
    ims_inv_scope scope = whole(1u << IMS_KEY_IOTLB, false, did);
    if (!(gran == IMS_PINV_PAGE && ih))
        scope.kinds |= kPscKinds;
    if (gran == IMS_PINV_PAGE) {
        const unsigned bits = IMS_PAGE_SHIFT + am;
        if (bits < 64) {
            scope.lo = addr & ~((std::uint64_t{1} << bits) - 1);
            scope.hi = scope.lo + ((std::uint64_t{1} << bits) - 1);
        }
    }
    const bool applies = core_scalable() && (gran == IMS_PINV_PAGE || gran == IMS_PINV_PASID);
    const Cycles drained = applies ? drain(tin, scope) : tin;
    if (!m_pre_on)  // (precomputed mode: the caller applied it to the core)
        ims_inv_piotlb(m_core, gran, did, pasid, addr, am, ih);
    const Cycles done = drained + m_cfg.inv_latency;
    m_st.inv_iotlb++;
    m_input_ready = std::max(m_input_ready, tin + m_cfg.inv_latency);
    m_st.inv_cycles += done - t;
    return done;
}

// PASID-cache invalidation (6.5.2.5). A PASID-cache fill is part of the
// context fill of its translation (the PASID-directory and PASID-table
// reads come before the first paging-entry read: context keys, tag = the
// PASID entry's domain id, dom = requester id): the scope is every
// requester's context keys of domain did (any domain for global).
Cycles Iommu::invalidate_pasid_cache(Cycles t, ims_pinv_gran gran, std::uint16_t did, std::uint32_t pasid)
{
    const Cycles tin = std::max(t, m_input_ready);
    ims_inv_scope scope = whole(1u << IMS_KEY_CTX, true, 0);
    if (gran != IMS_PINV_GLOBAL)
        scope.lo = scope.hi = did;
    const bool applies = core_scalable() &&
                         (gran == IMS_PINV_GLOBAL || gran == IMS_PINV_DOMAIN || gran == IMS_PINV_PASID);
    const Cycles drained = applies ? drain(tin, scope) : tin;
    if (!m_pre_on)  // (precomputed mode: the caller applied it to the core)
        ims_inv_pasid_cache(m_core, gran, did, pasid);
    const Cycles done = drained + m_cfg.inv_latency;
    m_st.inv_ctx++;
    m_input_ready = std::max(m_input_ready, tin + m_cfg.inv_latency);
    m_st.inv_cycles += done - t;
    return done;
}

}  // namespace ims
