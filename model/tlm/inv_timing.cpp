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

Cycles Iommu::invalidate_iotlb(Cycles t, ims_inv_gran gran, std::uint16_t did, std::uint64_t addr, std::uint8_t am,
                               bool ih)
{
    const Cycles tin = std::max(t, m_input_ready);
    ims_inv_scope scope;
    ims_inv_iotlb_scope(gran, did, addr, am, ih, &scope);
    const Cycles drained = drain(tin, scope);
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
    const Cycles drained = drain(tin, scope);
    ims_inv_context(m_core, gran, did, sid, fm);
    const Cycles done = drained + m_cfg.inv_latency;
    m_input_ready = std::max(m_input_ready, tin + m_cfg.inv_latency);
    m_st.inv_ctx++;
    m_st.inv_cycles += done - t;
    return done;
}

}  // namespace ims
