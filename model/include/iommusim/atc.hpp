// The device-side address translation cache (ATC, PCIe ATS) of the trace
// player's devices: one set-associative cache per device (the core's
// generic cache, iommusim/cache.h, gives sets, ways and replacement), for
// the devices whose context entry has TT = 01b (device TLB allowed, VT-d
// 9.3; in scalable mode, DTE). Off (atc.entries = 0) nothing here runs but
// for the devices attached `sm dte pre` (PCIe PRI): they get an ATC that
// holds nothing, so that each of their parts is a translation request.
//
// A device with an ATC, for each 4 KiB-bounded request of a DMA record:
//   hit:  sends the translated request (ReqExt.at = translated, the address
//         the ATC holds) on dma_in;
//   miss: sends a translation request on ats_in (VT-d 4.2.3), fills its ATC
//         from the completion, then sends the translated request; a
//         completion with R = W = 0 for the access (no translation) makes it
//         send the access untranslated, which the IOMMU faults as it would
//         without ATS; a translation request the IOMMU faults ends there.
// Device-TLB invalidations (legacy traces record none): each IOTLB
// invalidation of a domain invalidates the ATCs of the devices attached to
// it, as Linux follows every IOTLB flush with iommu_flush_dev_iotlb (global:
// every ATC; page-selective: the range); ATTACH and DETACH of a device empty
// its ATC. docs/timing.md "ATS" gives the costs, docs/stats.md the counters.
#ifndef IMS_ATC_HPP
#define IMS_ATC_HPP

#include <cstdint>
#include <vector>

#include "iommusim/cache.h"
#include "iommusim/tlm.hpp"
#include "iommusim/trace.h"

namespace ims {

// What the ATCs did in the measured phase (all devices together).
struct AtcStats {
    bool enabled = false;                  // atc.entries > 0
    std::uint64_t lookups = 0;             // requests of devices with an ATC
    std::uint64_t hits = 0;                // lookups answered by the ATC (translated request only)
    std::uint64_t misses = 0;              // lookups that needed a translation request
    std::uint64_t translation_requests = 0; // sent on ats_in
    std::uint64_t no_access = 0;           // completions with R = W = 0 for the access (sent untranslated)
    std::uint64_t translation_faults = 0;  // translation requests the IOMMU faulted (no access sent)
    std::uint64_t page_requests = 0;       // completions without the access that a PRI device (ATTACH sm dte pre) answered with a page request (no access sent)
    std::uint64_t translated_requests = 0; // sent on dma_in with AT = translated
    std::uint64_t fills = 0, evictions = 0;
    std::uint64_t invalidations = 0;       // device-TLB invalidation requests (one per device per IOTLB invalidation)
    std::uint64_t invalidated = 0;         // ATC entries they removed
    std::uint64_t devices = 0;             // devices with an ATC (whole run)
};

class Atc {
public:
    // dma, ats: the player's initiator sockets (bound to dma_in and ats_in).
    // iommu: the IOMMU the sockets reach (its timing counters tell whether an
    // access waited for a fill in flight).
    // scalable: the trace is in scalable mode (it records its device-TLB
    // invalidations; IOTLB invalidations then leave the ATCs alone).
    Atc(const ims_sim_cfg &cfg, const Iommu &iommu, tlm::tlm_initiator_socket<32> &dma,
        tlm::tlm_initiator_socket<32> &ats, bool scalable);
    ~Atc();
    Atc(const Atc &) = delete;
    Atc &operator=(const Atc &) = delete;

    // One request of a device (req.rid: the requester id the IOMMU sees),
    // arriving `delay` after now. False: the device has no ATC, nothing was
    // sent (the caller sends it as usual). True: sent as above; ext holds
    // the final answer (the translated or untranslated access, or the
    // translation request's fault) with ext.latency the whole cost from the
    // arrival and ext.queue_delay the walker waits of both requests.
    // how = kHold (the replay's page request path, replay.h): a completion
    // without the access ends there (ext: the completion, its latency; no
    // access sent), for the device to send a page request instead. Else
    // such a completion is followed by the access untranslated, and
    // *no_access (if given) is set.
    enum class Send { kNormal, kHold };
    bool request(tlm::tlm_generic_payload &trans, ReqExt &ext, const ims_req &req, const sc_core::sc_time &delay,
                 Send how = Send::kNormal, bool *no_access = nullptr);

    // A control record the player applied (INV_IOTLB, ATTACH, DETACH; others
    // are ignored): dispatches to the three below. alias: the requester id
    // the IOMMU sees for rec.rid. Out of line, so the player's record loop
    // stays as small as without an ATC.
    void on_record(const ims_rec &rec, std::uint16_t alias);
    // A record the replay applied: ATTACH (rid seen as `alias`) with TT =
    // device TLB gives the device an ATC (emptied); another ATTACH, or
    // DETACH, takes it away.
    void on_attach(std::uint16_t alias, std::uint16_t did, bool devtlb, bool pre = false);
    void on_detach(std::uint16_t alias);
    // An IOTLB invalidation the IOMMU carried out: the device-TLB
    // invalidations that follow it (global, domain did, or the 2^am pages
    // from addr in domain did).
    void on_iotlb_inv(ims_inv_gran gran, std::uint16_t did, std::uint64_t addr, std::uint8_t am);
    // A device-TLB invalidation the trace records (scalable mode, INV_PASID
    // devtlb / pasid-devtlb): device sid's entries overlapping [addr, addr +
    // size), of PASID pasid only unless it is IMS_NO_PASID.
    void on_devtlb_inv(std::uint16_t sid, std::uint32_t pasid, std::uint64_t addr, std::uint64_t size);

    const AtcStats &stats() const { return m_st; }
    void reset_stats();  // warm-up ended (devices is kept)

private:
    struct Dev {
        ims_cache *cache = nullptr;
        std::uint16_t did = 0;
        bool on = false;  // attached with TT = device TLB (with atc.entries = 0: and PRI, sm dte pre)
    };
    Dev *dev(std::uint16_t rid)
    {
        const std::int32_t ix = m_index[rid];
        return ix < 0 ? nullptr : &m_devs[static_cast<std::size_t>(ix)];
    }
    std::uint32_t set_of(std::uint64_t tag) const;
    std::uint64_t invalidate(Dev &d, ims_inv_gran gran, std::uint64_t addr, std::uint8_t am);

    bool m_scalable;
    ims_cache_cfg m_ccfg{};
    const Iommu &m_iommu;
    tlm::tlm_initiator_socket<32> &m_dma;
    tlm::tlm_initiator_socket<32> &m_ats;
    Cycles m_ctx_latency, m_iotlb_latency;
    std::vector<std::int32_t> m_index;  // requester id -> m_devs index, -1: no ATC
    std::vector<Dev> m_devs;
    AtcStats m_st;
};

}  // namespace ims

#endif  // IMS_ATC_HPP
