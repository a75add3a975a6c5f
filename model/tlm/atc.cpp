// The devices' address translation caches (iommusim/atc.hpp).
#include "iommusim/atc.hpp"

#include <algorithm>

#include "iommusim/vtd.h"

namespace ims {

namespace {
// Page sizes a translation completion can give (VT-d 4.2.3: the size the
// IOMMU's translation covers; second level maps 4 KiB, 2 MiB, 1 GiB).
constexpr std::uint8_t kShifts[] = {IMS_PAGE_SHIFT, 21, 30};

// An entry's dom: the PASID + 1, 0 for requests without one (VT-d 4.2.3:
// a device caches translations per PASID).
std::uint64_t dom_of(std::uint32_t pasid) { return pasid == IMS_NO_PASID ? 0 : std::uint64_t{pasid} + 1; }

struct Range {
    std::uint64_t lo, hi;  // [lo, hi)
};
bool overlaps(const ims_cache_entry *e, void *arg)
{
    const Range &r = *static_cast<const Range *>(arg);
    const std::uint64_t lo = e->tag << e->shift, hi = lo + (std::uint64_t{1} << e->shift);
    return lo < r.hi && r.lo < hi;
}
}  // namespace

Atc::Atc(const ims_sim_cfg &cfg, const Iommu &iommu, tlm::tlm_initiator_socket<32> &dma,
         tlm::tlm_initiator_socket<32> &ats, bool scalable)
    : m_scalable(scalable), m_iommu(iommu), m_dma(dma), m_ats(ats), m_ctx_latency(cfg.ctx_latency),
      m_iotlb_latency(cfg.iotlb_latency),
      m_index(65536, -1)
{
    m_ccfg.ways = cfg.atc_ways;
    m_ccfg.sets = cfg.atc_ways ? cfg.atc_entries / cfg.atc_ways : 0;
    m_ccfg.repl = cfg.atc_repl;
    m_ccfg.seed = cfg.seed;
    m_st.enabled = cfg.atc_entries > 0;
}

Atc::~Atc()
{
    for (Dev &d : m_devs)
        ims_cache_destroy(d.cache);
}

std::uint32_t Atc::set_of(std::uint64_t tag) const
{
    return static_cast<std::uint32_t>((tag ^ (tag >> 11)) & (m_ccfg.sets - 1));
}

void Atc::reset_stats()
{
    const std::uint64_t devices = m_st.devices;
    const bool enabled = m_st.enabled;
    m_st = AtcStats{};
    m_st.devices = devices;
    m_st.enabled = enabled;
}

bool Atc::request(tlm::tlm_generic_payload &trans, ReqExt &ext, const ims_req &req, const sc_core::sc_time &delay,
                  Send how, bool *no_access)
{
    Dev *d = dev(req.rid);
    if (!d || !d->on || req.at != IMS_AT_UNTRANSLATED)  // a recorded translated request goes by
        return false;
    m_st.lookups++;
    const std::uint64_t dom = dom_of(req.pasid);
    ims_cache_entry *e = nullptr;
    for (const std::uint8_t sh : kShifts) {
        if (!m_ccfg.sets)  // atc.entries = 0: a PRI device's ATC holds nothing
            break;
        const std::uint64_t tag = req.iova >> sh;
        if (ims_cache_probe(d->cache, set_of(tag), tag, dom, sh)) {
            e = ims_cache_lookup(d->cache, set_of(tag), tag, dom, sh);  // (the replacement state moves)
            break;
        }
    }
    Cycles before = 0, queued = 0;
    std::uint64_t base = 0;
    std::uint8_t at = IMS_AT_TRANSLATED;
    if (e && (e->aux & req.access)) {
        m_st.hits++;
        base = e->data;
        base += req.iova & ((std::uint64_t{1} << e->shift) - 1);
    } else {
        // Miss (or the entry lacks the access's permission): a translation
        // request on ats_in, its completion timed by the IOMMU as any request.
        m_st.misses++;
        m_st.translation_requests++;
        sc_core::sc_time d1 = delay;
        trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        m_ats->b_transport(trans, d1);
        before = ext.latency;
        queued = ext.queue_delay;
        if (trans.get_response_status() != tlm::TLM_OK_RESPONSE) {
            m_st.translation_faults++;  // ext.xlate holds the fault; no access is made
            return true;
        }
        const ims_xlate &x = ext.xlate;
        if (x.perm & req.access) {
            const std::uint8_t sh = x.page_shift;
            const std::uint64_t tag = req.iova >> sh, mask = (std::uint64_t{1} << sh) - 1;
            ims_cache_entry victim{};
            ims_cache_entry *f = m_ccfg.sets ? ims_cache_insert(d->cache, set_of(tag), tag, dom, sh, &victim) : nullptr;
            if (f) {
                f->data = (x.pa - (req.iova & mask)) & ~mask;
                f->aux = x.perm;
                m_st.fills++;
                m_st.evictions += victim.valid != 0;
            }
            base = x.pa;
        } else if (how == Send::kHold) {
            // PCIe PRI (the replay's page request path, replay.h): no access
            // is sent; ext holds the completion (fault 0, perm without the
            // access) and its latency: the device sends a page request.
            m_st.page_requests++;
            ext.latency = before;
            ext.queue_delay = queued;
            return true;
        } else {
            m_st.no_access++;  // R = W = 0 for this access: sent untranslated, the IOMMU decides
            if (no_access)
                *no_access = true;
            base = req.iova;
            at = IMS_AT_UNTRANSLATED;
        }
    }
    // The access itself: timed as arriving with the translation request
    // (docs/timing.md, "ATS"), its latency after the translation request's.
    // Where it waited for a fill that request started (the context entry,
    // the IOTLB entry of its walk), it would have found the entry ready at
    // its true arrival: then it costs the lookups alone after the round trip.
    const IommuTimingStats &ts = m_iommu.timing_stats();
    const std::uint64_t ctx_merged0 = ts.ctx_merged, merged0 = ts.merged;
    m_st.translated_requests += at == IMS_AT_TRANSLATED;
    ext.at = at;
    trans.set_address(base);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time d2 = delay;
    m_dma->b_transport(trans, d2);
    trans.set_address(req.iova);
    if (before && (ts.ctx_merged != ctx_merged0 || ts.merged != merged0)) {
        const bool tlb = at == IMS_AT_UNTRANSLATED && (ext.xlate.flags & IMS_XLATE_IOTLB_HIT);
        const Cycles lookups = m_ctx_latency + (tlb ? m_iotlb_latency : 0);
        ext.latency = std::max(ext.latency, before + lookups);
        ext.merged = false;
    } else {
        ext.latency += before;
    }
    ext.queue_delay += queued;
    return true;
}

void Atc::on_record(const ims_rec &rec, std::uint16_t alias)
{
    switch (rec.kind) {
    case IMS_REC_INV_IOTLB:
        if (!m_scalable)  // a scalable-mode trace records its device-TLB invalidations
            on_iotlb_inv(static_cast<ims_inv_gran>(rec.gran), rec.did, rec.iova, rec.am);
        break;
    case IMS_REC_ATTACH:
        // Legacy: TT = 01b; scalable mode: the context entry's DTE (VT-d 9.4).
        on_attach(alias, rec.did,
                  (rec.flags & IMS_RECF_SM) ? (rec.flags & IMS_RECF_DTE) != 0 : rec.tt == IMS_TT_DEVTLB,
                  (rec.flags & IMS_RECF_SM) && (rec.flags & IMS_RECF_PRE));
        break;
    case IMS_REC_INV_PASID:
        if (rec.target == IMS_PINV_T_DEVTLB || rec.target == IMS_PINV_T_PASID_DEVTLB)
            on_devtlb_inv(rec.rid, rec.target == IMS_PINV_T_PASID_DEVTLB ? rec.pasid : IMS_NO_PASID, rec.iova,
                          rec.size);
        break;
    case IMS_REC_DETACH:
        on_detach(alias);
        break;
    default:
        break;
    }
}

void Atc::on_attach(std::uint16_t alias, std::uint16_t did, bool devtlb, bool pre)
{
    std::int32_t &ix = m_index[alias];
    if (ix < 0) {
        // atc.entries = 0: only a PRI device (sm dte pre) has one, holding
        // nothing (its every part is a translation request first).
        if (!devtlb || (!m_st.enabled && !pre))
            return;
        ix = static_cast<std::int32_t>(m_devs.size());
        m_devs.emplace_back();
        m_devs.back().cache = ims_cache_create(&m_ccfg);
        m_st.devices++;
    }
    Dev &d = m_devs[static_cast<std::size_t>(ix)];
    ims_cache_invalidate_all(d.cache);  // a new context: nothing cached before it holds
    d.did = did;
    d.on = devtlb && (m_st.enabled || pre);
}

void Atc::on_detach(std::uint16_t alias)
{
    if (Dev *d = dev(alias)) {
        ims_cache_invalidate_all(d->cache);
        d->on = false;
    }
}

std::uint64_t Atc::invalidate(Dev &d, ims_inv_gran gran, std::uint64_t addr, std::uint8_t am)
{
    if (gran != IMS_INV_PAGE)
        return ims_cache_invalidate_all(d.cache);
    // Page-selective: the 2^am pages from addr aligned down (VT-d 6.5.2.3),
    // every PASID (a legacy-mode IOTLB invalidation names none).
    const std::uint64_t size = std::uint64_t{IMS_PAGE_SIZE} << am;
    Range r{addr & ~(size - 1), (addr & ~(size - 1)) + size};
    return ims_cache_invalidate_if(d.cache, overlaps, &r);
}

namespace {
struct DevtlbRange {
    Range r;
    std::uint64_t dom;  // 0: every PASID
};
bool devtlb_match(const ims_cache_entry *e, void *arg)
{
    const DevtlbRange &d = *static_cast<const DevtlbRange *>(arg);
    return (d.dom == 0 || e->dom == d.dom) && overlaps(e, const_cast<Range *>(&d.r));
}
}  // namespace

// A device-TLB invalidation request (VT-d 6.5.2.6, 6.5.2.7: the ATS
// invalidation's range, size a power of two, address aligned to it).
void Atc::on_devtlb_inv(std::uint16_t sid, std::uint32_t pasid, std::uint64_t addr, std::uint64_t size)
{
    Dev *d = dev(sid);
    if (!d || !d->on)
        return;
    DevtlbRange m{{addr, addr + size}, pasid == IMS_NO_PASID ? 0 : dom_of(pasid)};
    m_st.invalidations++;
    m_st.invalidated += ims_cache_invalidate_if(d->cache, devtlb_match, &m);
}

void Atc::on_iotlb_inv(ims_inv_gran gran, std::uint16_t did, std::uint64_t addr, std::uint8_t am)
{
    for (Dev &d : m_devs) {
        if (!d.on || (gran != IMS_INV_GLOBAL && d.did != did))
            continue;
        m_st.invalidations++;
        m_st.invalidated += invalidate(d, gran, addr, am);
    }
}

}  // namespace ims
