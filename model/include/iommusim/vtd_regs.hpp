// The VT-d remapping-hardware register file of an Iommu, on a TLM-2.0 target
// socket: what a driver (Linux's intel-iommu) programs over MMIO. VT-d
// specific; it drives the generic Iommu only through its public API
// (set_translation_enabled, invalidate_*, set_fault_sink, mem_read/mem_write)
// and the core's (ims_iommu_set_root). docs/vtd.md, "Registers", lists every
// register, its bits and what is not modelled.
//
// Contract:
// - The window is [base, base + size()) on `regs`; an access is 4 or 8
//   bytes, naturally aligned, streaming width = length, no byte enables
//   (VT-d 11.2: 32-bit registers take 32-bit accesses, 64-bit registers one
//   64-bit or two 32-bit accesses). Other sizes and misaligned accesses are
//   answered TLM_BURST_ERROR_RESPONSE, byte enables
//   TLM_BYTE_ENABLE_ERROR_RESPONSE, addresses outside the window
//   TLM_ADDRESS_ERROR_RESPONSE; nothing changes. Registers not modelled read
//   as 0 and ignore writes. Register accesses take no time (the annotation
//   is returned unchanged); what they start is timed in IOMMU cycles from the
//   arrival cycle (sc_time_stamp() + delay).
// - Debug transport reads registers without side effects; debug writes are
//   refused (TLM_COMMAND_ERROR_RESPONSE).
// - Constructing it puts the Iommu in the reset state of the registers:
//   translation disabled (GSTS.TES 0: DMA passes untranslated) and fault
//   records kept in the fault-recording registers instead of the core's
//   in-memory ring (whose writes are no longer sent to memory). The
//   translation-table mode is legacy (RTADDR.TTM 00) until software sets
//   SRTP with TTM 01: then the core is switched to scalable mode
//   (ims_iommu_set_scalable, which empties its caches). Scalable mode is
//   offered (ECAP.SMTS) when the configuration's iommu.sm.enabled is set.
#ifndef IMS_VTD_REGS_HPP
#define IMS_VTD_REGS_HPP

#include <cstdint>
#include <map>
#include <vector>

#include "iommusim/tlm.hpp"

namespace ims {

// A device-TLB invalidation (VT-d 6.5.2.6 device-TLB and 6.5.2.7
// PASID-based device-TLB invalidate descriptors) as the queue forwards it
// to the device side.
struct DevTlbInv {
    std::uint16_t sid = 0;             // the device (requester id)
    std::uint16_t pfsid = 0;           // physical function's source id (PFSID)
    std::uint8_t mip = 0;              // max invalidations pending (MIP)
    std::uint32_t pasid = IMS_NO_PASID; // type 8: the PASID (none for type 3 or with global)
    bool global = false;               // type 8 G: every PASID of the device, and global pages
    std::uint64_t addr = 0;            // ADDR [63:12], with S: the range its low bits encode (PCIe ATS 10.3.8)
    bool size = false;                 // S
};
// The device side of device-TLB invalidations: what a platform attaches
// (an ATC model) to see them. Returns the cycle the device completes the
// invalidation (its Invalidation Completion), at or after t, or kTimedOut
// when it never does (FSTS.ITE, 6.5.2.10).
class DevTlbSink {
public:
    static constexpr Cycles kTimedOut = ~Cycles{0};
    virtual ~DevTlbSink() = default;
    virtual Cycles on_devtlb_inv(const DevTlbInv &inv, Cycles t) = 0;
};

class VtdRegs : public sc_core::sc_module, private FaultSink {
    // (Declared first: the socket type names them.)
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    unsigned transport_dbg(tlm::tlm_generic_payload &trans);

public:
    // Where platforms commonly put the first remapping unit (bytes).
    static constexpr std::uint64_t kDefaultBase = 0xfed90000;

    TargetSocket<VtdRegs, &VtdRegs::b_transport, &VtdRegs::transport_dbg> regs;
    // High while a fault event or an invalidation event interrupt is pending
    // and masked (FECTL.IP | IECTL.IP); optional to observe.
    sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS> irq_pending;

    // base: the window's first byte address as it arrives on `regs` (0 when a
    // router strips the base). cfg: the Iommu's configuration (caps.*,
    // timing); the Iommu must outlive this module.
    VtdRegs(sc_core::sc_module_name name, Iommu &iommu, const ims_sim_cfg &cfg, std::uint64_t base = kDefaultBase);
    ~VtdRegs() override;
    SC_HAS_PROCESS(VtdRegs);

    std::uint64_t base() const { return m_base; }
    // Window size in bytes: the fault-recording registers (caps.nfr of them
    // from CAP.FRO) rounded up to 4 KiB pages.
    std::uint64_t size() const { return m_size; }

    struct Stats {
        std::uint64_t descriptors = 0;     // invalidation descriptors processed
        std::uint64_t queue_errors = 0;    // descriptors refused (FSTS.IQE)
        std::uint64_t faults_recorded = 0; // written to a fault-recording register
        std::uint64_t faults_lost = 0;     // not recorded: PFO set, or the register at the index held a fault
        std::uint64_t interrupts = 0;      // interrupt message writes sent (fault and invalidation events)
        std::uint64_t srtp_refused = 0;    // SRTP with a TTM the unit does not support (no RTPS)
        std::uint64_t devtlb = 0;          // device-TLB invalidations accepted (forwarded if a sink is attached)
        std::uint64_t devtlb_timeouts = 0; // of which the device side never completed (FSTS.ITE)
    };
    const Stats &stats() const { return m_st; }

    // The device side of device-TLB invalidations; not owned; nullptr (the
    // default): they complete when fetched. Descriptors fetched after the
    // call use the new one.
    void set_devtlb_sink(DevTlbSink *s) { m_devtlb = s; }
    // The translation-table mode SRTP last latched: true for scalable.
    bool scalable() const { return m_sm; }

private:
    std::uint32_t read32(unsigned off, Cycles t) const;
    void write32(unsigned off, std::uint32_t v, Cycles t);
    void gcmd(std::uint32_t v, Cycles t);
    void ccmd_issue(Cycles t);
    void iotlb_issue(Cycles t);
    void start_of_simulation() override;
    void process_queue(Cycles t);
    enum class Desc : std::uint8_t { ok, iqe, ite };
    Desc descriptor(const std::uint64_t d[4], Cycles fetched, Cycles *last);
    Desc devtlb(const std::uint64_t d[4], Cycles fetched, Cycles *last);
    void wait_done(Cycles at, bool sw, bool intr, std::uint64_t pa, std::uint32_t data);
    void on_fault(const ims_req &req, const ims_xlate &x, Cycles t) override;
    std::uint32_t fsts() const;
    void fault_event(std::uint32_t before, Cycles t);
    void send_msi(std::uint32_t data, std::uint32_t addr, std::uint32_t uaddr, Cycles t);
    void update_irq();
    void deferred();  // SC_THREAD: actions due at a later cycle (wait-descriptor completion)

    Iommu &m_iommu;
    const Clock &m_clk;
    const std::uint64_t m_base, m_size;
    const std::uint64_t m_cap, m_ecap;
    const unsigned m_nfr;
    const bool m_smts;  // ECAP.SMTS: scalable mode offered (cfg.iommu.sm.enabled)
    bool m_sm = false;  // the mode SRTP latched (TTM 01)
    DevTlbSink *m_devtlb = nullptr;

    std::uint32_t m_gsts = 0;
    std::uint64_t m_rtaddr = 0;
    std::uint64_t m_ccmd = 0;
    Cycles m_ccmd_done = 0;  // CCMD.ICC reads 1 until this cycle
    std::uint64_t m_iva = 0, m_iotlb = 0;
    Cycles m_iotlb_done = 0;  // IOTLB.IVT reads 1 until this cycle
    std::uint32_t m_fsts_w1c = 0;  // PFO, IQE, ITE (PPF and FRI are derived)
    unsigned m_fri = 0;            // FSTS.FRI: first pending record when PPF was set
    unsigned m_next = 0;           // the record hardware writes next
    std::uint32_t m_fectl = IMS_VTD_ECTL_IM, m_fedata = 0, m_feaddr = 0, m_feuaddr = 0;
    std::uint64_t m_iqh = 0, m_iqt = 0, m_iqa = 0;
    std::uint32_t m_ics = 0;
    std::uint32_t m_iectl = IMS_VTD_ECTL_IM, m_iedata = 0, m_ieaddr = 0, m_ieuaddr = 0;
    std::vector<std::uint64_t> m_frcd;  // 2 words per record

    struct Pending {
        bool sw, intr;
        std::uint64_t pa;
        std::uint32_t data;
    };
    std::multimap<Cycles, Pending> m_pending;  // by completion cycle, then issue order
    sc_core::sc_event m_wake;
    Stats m_st;
};

}  // namespace ims

#endif  // IMS_VTD_REGS_HPP
