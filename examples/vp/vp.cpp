// A small SystemC virtual platform around iommusim's drop-in VT-d unit
// (ims::VtdIommu): system memory with an interrupt controller, two DMA
// engines behind a root port, and a CPU whose driver programs the IOMMU
// over MMIO as Linux's intel-iommu does (vtd_driver.hpp). docs/vp.md walks
// through it.
//
// Usage: vp [--config FILE] [--set KEY=VALUE]... [--skip-unmap-flush]
//   --config, --set          the IOMMU's configuration (docs/config.md), as for `iommusim run`
//   --skip-unmap-flush       the driver "forgets" the IOTLB invalidation after unmapping: the
//                            stale translation lets the DMA through, and the run must fail
// Exit status: 0 every check passed; 1 a check failed; 2 bad arguments or configuration.
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "iommusim/vtd_iommu.hpp"
#include "platform.hpp"
#include "vtd_driver.hpp"

namespace vp
{
namespace
{

constexpr std::uint64_t kRamSize = 16u << 20;                      // system memory [0, 16 MiB)
constexpr std::uint64_t kPoolBase = 0x100000, kPoolEnd = 0x400000; // the driver's page-table pages
constexpr std::uint16_t kNicRid = 0x0018, kDiskRid = 0x0020;       // 00:03.0, 00:04.0
constexpr std::uint32_t kFaultVector = 0x61;                       // FEDATA: the vector of the fault interrupt
constexpr std::uint64_t kSrcIova = 0x10000, kDstIova = 0x20000, kBufLen = 0x2000; // two pages each
constexpr std::uint64_t kUnmappedIova = 0x40000;                                  // never mapped in either domain
// Each device has its own domain; both use the same IOVAs, which their own
// tables map to different pages.
struct DeviceBuffers {
    std::uint64_t src_pa, dst_pa;
    unsigned seed;
};
constexpr DeviceBuffers kNicBufs{0x800000, 0x810000, 1}, kDiskBufs{0x820000, 0x830000, 2};

const char *reason_name(unsigned r)
{
    static const char *const names[] = {"?",
                                        "root entry not present",
                                        "context entry not present",
                                        "context entry invalid",
                                        "address beyond the address width",
                                        "write not permitted / not present",
                                        "read not permitted / not present",
                                        "paging-entry read error",
                                        "root table invalid",
                                        "context-table read error",
                                        "root entry reserved bits",
                                        "context entry reserved bits",
                                        "paging entry reserved bits",
                                        "translation type blocks the request"};
    return r < sizeof names / sizeof names[0] ? names[r] : "?";
}

const char *response_name(tlm::tlm_response_status s)
{
    switch (s) {
    case tlm::TLM_OK_RESPONSE:
        return "OK";
    case tlm::TLM_ADDRESS_ERROR_RESPONSE:
        return "an address error";
    case tlm::TLM_BURST_ERROR_RESPONSE:
        return "a burst error";
    case tlm::TLM_COMMAND_ERROR_RESPONSE:
        return "a command error";
    case tlm::TLM_GENERIC_ERROR_RESPONSE:
        return "a generic error";
    default:
        return "another error";
    }
}

unsigned char pattern(std::uint64_t i, unsigned seed)
{
    return static_cast<unsigned char>(i * 31 + seed * 77 + (i >> 8));
}

// The CPU: runs the driver and the scenario in its thread, counting failed checks.
class Cpu : public sc_core::sc_module
{
  public:
    tlm_utils::simple_initiator_socket<Cpu> bus;
    int failures = 0;

    Cpu(sc_core::sc_module_name name, ims::VtdIommu &vtd, SystemMemory &mem, DmaEngine &nic, DmaEngine &disk,
        bool skip_unmap_flush)
        : sc_module(name), bus("bus"), m_vtd(vtd), m_mem(mem), m_nic(nic), m_disk(disk), m_skip(skip_unmap_flush)
    {
        SC_THREAD(run);
    }
    SC_HAS_PROCESS(Cpu);

  private:
    void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)))
    {
        if (ok)
            return;
        failures++;
        std::va_list ap;
        va_start(ap, fmt);
        std::fprintf(stderr, "vp: FAIL: ");
        std::vfprintf(stderr, fmt, ap);
        std::fprintf(stderr, "\n");
        va_end(ap);
    }

    void fill(VtdDriver &drv, std::uint64_t pa, unsigned seed)
    {
        std::vector<unsigned char> b(kBufLen);
        for (std::uint64_t i = 0; i < kBufLen; i++)
            b[i] = pattern(i, seed);
        drv.mem_write(pa, b.data(), kBufLen);
    }

    // Bytes of [pa, pa + kBufLen) that differ from pattern(seed).
    std::uint64_t differs(VtdDriver &drv, std::uint64_t pa, unsigned seed)
    {
        std::vector<unsigned char> b(kBufLen);
        drv.mem_read(pa, b.data(), kBufLen);
        std::uint64_t n = 0;
        for (std::uint64_t i = 0; i < kBufLen; i++)
            n += b[i] != pattern(i, seed);
        return n;
    }

    // Waits until neither device is busy (at most 1 ms of simulated time).
    void wait_devices()
    {
        const sc_core::sc_time limit = sc_core::sc_time_stamp() + sc_core::sc_time(1, sc_core::SC_MS);
        while ((m_nic.busy() || m_disk.busy()) && sc_core::sc_time_stamp() < limit)
            sc_core::wait(sc_core::sc_time(1, sc_core::SC_US), m_nic.done | m_disk.done);
        if (m_nic.busy() || m_disk.busy())
            throw DriverError("a DMA engine did not finish within 1 ms");
    }

    void run()
    {
        try {
            scenario();
        } catch (const DriverError &e) {
            check(false, "driver: %s", e.what());
        }
        sc_core::sc_stop();
        ims::park_thread();  // not return: iommusim/tlm.hpp says why
    }

    void scenario()
    {
        VtdDriver drv(bus, m_vtd.config().regs_base, PagePool{kPoolBase, kPoolEnd});

        // 1. Boot: what Linux does from intel_iommu_init, in its order: the
        // hardware's capabilities, root table, queued invalidation, root
        // pointer and the global invalidations after it, the fault interrupt.
        drv.probe();
        drv.alloc_root_table();
        drv.enable_qi();
        drv.set_root_entry();
        drv.set_fault_interrupt(kFaultVector, kMsiBase);

        // 2. Two domains, one device each; their buffers mapped as the DMA
        // API maps them: the source to-device (read), the destination
        // from-device (write).
        const Domain nic_dom = drv.alloc_domain(1), disk_dom = drv.alloc_domain(2);
        drv.attach(kNicRid, nic_dom);
        drv.attach(kDiskRid, disk_dom);
        for (const auto &[dom, b] : {std::pair{nic_dom, kNicBufs}, std::pair{disk_dom, kDiskBufs}}) {
            drv.map(dom, kSrcIova, b.src_pa, kBufLen, 1);
            drv.map(dom, kDstIova, b.dst_pa, kBufLen, 2);
            fill(drv, b.src_pa, b.seed);
        }
        drv.enable_translation();

        // 3. Both devices copy src -> dst at the same IOVAs at once.
        const ims_stats before = *ims_iommu_stats(m_vtd.core());
        m_nic.start({kSrcIova, kDstIova, kBufLen});
        m_disk.start({kSrcIova, kDstIova, kBufLen});
        wait_devices();
        const ims_stats &st = *ims_iommu_stats(m_vtd.core());
        std::printf("vp: [%s] DMA done: nic %llu bytes, disk %llu bytes; %llu translations, %llu IOTLB hits, "
                    "%llu faults\n",
                    sc_core::sc_time_stamp().to_string().c_str(), static_cast<unsigned long long>(m_nic.result().bytes),
                    static_cast<unsigned long long>(m_disk.result().bytes),
                    static_cast<unsigned long long>(st.translations - before.translations),
                    static_cast<unsigned long long>(st.iotlb.hits - before.iotlb.hits),
                    static_cast<unsigned long long>(st.faults - before.faults));
        check(m_nic.result().ok && m_nic.result().bytes == kBufLen, "nic copy: %llu of %llu bytes (response %d)",
              static_cast<unsigned long long>(m_nic.result().bytes), static_cast<unsigned long long>(kBufLen),
              m_nic.result().error);
        check(m_disk.result().ok && m_disk.result().bytes == kBufLen, "disk copy: %llu of %llu bytes (response %d)",
              static_cast<unsigned long long>(m_disk.result().bytes), static_cast<unsigned long long>(kBufLen),
              m_disk.result().error);
        // Every 64-byte read and write translated, none faulted.
        const std::uint64_t expect = 2 * 2 * (kBufLen / 64);
        check(st.translations - before.translations == expect && st.faults == before.faults,
              "translations %llu (expected %llu), faults %llu (expected 0)",
              static_cast<unsigned long long>(st.translations - before.translations),
              static_cast<unsigned long long>(expect), static_cast<unsigned long long>(st.faults - before.faults));
        for (const DeviceBuffers &b : {kNicBufs, kDiskBufs}) {
            const std::uint64_t bad = differs(drv, b.dst_pa, b.seed);
            check(bad == 0, "dst at PA 0x%llx: %llu bytes differ from the source",
                  static_cast<unsigned long long>(b.dst_pa), static_cast<unsigned long long>(bad));
        }

        // 4. The nic's destination is unmapped (page-selective IOTLB
        // invalidation + wait), its source refilled, and the nic told to
        // copy again: its first write faults.
        drv.unmap(nic_dom, kDstIova, kBufLen, !m_skip);
        fill(drv, kNicBufs.src_pa, kNicBufs.seed + 10);
        const std::size_t msis = m_mem.msis().size();
        m_nic.start({kSrcIova, kDstIova, kBufLen});
        wait_devices();
        const DmaEngine::Result &r = m_nic.result();
        std::printf("vp: [%s] nic copy to the unmapped IOVA: %s\n", sc_core::sc_time_stamp().to_string().c_str(),
                    r.ok ? "completed (stale translation)" : "refused");
        check(!r.ok && r.error_iova == kDstIova && r.error_write && r.error == tlm::TLM_ADDRESS_ERROR_RESPONSE &&
                  r.bytes == 0,
              "nic copy to the unmapped IOVA: expected its first write (0x%llx) refused with an address error, got "
              "%s after %llu bytes",
              static_cast<unsigned long long>(kDstIova), r.ok ? "success" : response_name(r.error),
              static_cast<unsigned long long>(r.bytes));
        check(differs(drv, kNicBufs.dst_pa, kNicBufs.seed) == 0, "the unmapped destination was written");

        // 5. The fault event: an interrupt message (FEDATA to FEADDR) at the
        // interrupt controller; its handler drains the fault records.
        if (m_mem.msis().size() == msis)
            sc_core::wait(sc_core::sc_time(10, sc_core::SC_US), m_mem.msi_event);
        check(m_mem.msis().size() == msis + 1, "interrupt messages: %zu, expected 1", m_mem.msis().size() - msis);
        if (m_mem.msis().size() > msis) {
            const SystemMemory::Msi &m = m_mem.msis()[msis];
            std::printf("vp: [%s] interrupt: data 0x%x at 0x%llx\n", m.at.to_string().c_str(), m.data,
                        static_cast<unsigned long long>(m.addr));
            check(m.data == kFaultVector && m.addr == kMsiBase,
                  "interrupt message 0x%x at 0x%llx, expected 0x%x at 0x%llx", m.data,
                  static_cast<unsigned long long>(m.addr), kFaultVector, static_cast<unsigned long long>(kMsiBase));
            const std::vector<FaultRecord> recs = drv.dmar_fault();
            for (const FaultRecord &f : recs)
                std::printf("vp: DMAR: [DMA %s] request device [%02x:%02x.%u] fault addr 0x%llx (record %u), "
                            "fault reason 0x%02x: %s\n",
                            f.read ? "Read" : "Write", f.sid >> 8, (f.sid >> 3) & 0x1f, f.sid & 7,
                            static_cast<unsigned long long>(f.addr), f.index, f.reason, reason_name(f.reason));
            check(recs.size() == 1, "fault records: %zu, expected 1", recs.size());
            if (!recs.empty())
                check(
                    recs[0].sid == kNicRid && recs[0].reason == 0x5 && !recs[0].read && recs[0].addr == kDstIova,
                    "fault record: sid 0x%x reason 0x%x %s addr 0x%llx, expected sid 0x%x reason 0x5 write addr 0x%llx",
                    recs[0].sid, recs[0].reason, recs[0].read ? "read" : "write",
                    static_cast<unsigned long long>(recs[0].addr), kNicRid, static_cast<unsigned long long>(kDstIova));
            const std::uint32_t fsts = drv.readl(vtd::kFsts);
            check(!(fsts & (vtd::kFstsPpf | vtd::kFstsPfo)), "FSTS 0x%x after the handler, expected PPF and PFO clear",
                  fsts);
        }

        // 6. Overflow, with the interrupt masked: the disk writes to an IOVA
        // its domain never mapped, NFR + 2 times. NFR faults fill the
        // records; the next finds the next record still full and sets PFO;
        // the last is not recorded because PFO is set (7.3.1). Nothing is
        // sent while FECTL.IM is set, only FECTL.IP; unmasking sends the
        // message, and the handler drains every record and clears PFO.
        const unsigned nfr = drv.nfr();
        drv.mask_fault_interrupt(true);
        const std::size_t msis2 = m_mem.msis().size();
        for (unsigned i = 0; i < nfr + 2; i++)
            m_disk.start({kSrcIova, kUnmappedIova, 64});
        wait_devices();
        const std::uint32_t fsts = drv.readl(vtd::kFsts), fectl = drv.readl(vtd::kFectl);
        std::printf("vp: [%s] %u faulting writes from the disk, interrupt masked: FSTS 0x%x, FECTL 0x%x\n",
                    sc_core::sc_time_stamp().to_string().c_str(), nfr + 2, fsts, fectl);
        check((fsts & (vtd::kFstsPpf | vtd::kFstsPfo)) == (vtd::kFstsPpf | vtd::kFstsPfo) && (fectl & vtd::kFectlIp) &&
                  m_mem.msis().size() == msis2,
              "masked overflow: FSTS 0x%x (expected PPF and PFO), FECTL 0x%x (expected IP), %zu messages (expected 0)",
              fsts, fectl, m_mem.msis().size() - msis2);
        drv.mask_fault_interrupt(false);
        if (m_mem.msis().size() == msis2)
            sc_core::wait(sc_core::sc_time(10, sc_core::SC_US), m_mem.msi_event);
        check(m_mem.msis().size() == msis2 + 1, "after unmasking: %zu interrupt messages, expected 1",
              m_mem.msis().size() - msis2);
        const std::vector<FaultRecord> recs = drv.dmar_fault();
        std::size_t good = 0;
        for (const FaultRecord &f : recs)
            good += f.sid == kDiskRid && f.reason == 0x5 && !f.read && f.addr == kUnmappedIova;
        std::printf("vp: DMAR: %zu records drained from record %u on, all [DMA Write] from [00:04.0] at 0x%llx: %s\n",
                    recs.size(), recs.empty() ? 0 : recs[0].index, static_cast<unsigned long long>(kUnmappedIova),
                    good == recs.size() ? "yes" : "no");
        check(recs.size() == nfr && good == nfr, "overflow: %zu records (%zu as expected), expected %u", recs.size(),
              good, nfr);
        const std::uint32_t fsts2 = drv.readl(vtd::kFsts);
        check(!(fsts2 & (vtd::kFstsPpf | vtd::kFstsPfo)), "FSTS 0x%x after draining the overflow, expected 0", fsts2);

        // 7. The register file's own account agrees with what the driver did.
        const ims::VtdRegs::Stats &vs = m_vtd.vtd.stats();
        check(vs.descriptors == drv.descriptors_submitted() && vs.queue_errors == 0,
              "invalidation descriptors: %llu run, %llu submitted, %llu refused",
              static_cast<unsigned long long>(vs.descriptors),
              static_cast<unsigned long long>(drv.descriptors_submitted()),
              static_cast<unsigned long long>(vs.queue_errors));
        check(vs.faults_recorded == 1 + nfr && vs.faults_lost == 2 && vs.interrupts == 2,
              "register file: %llu faults recorded, %llu lost, %llu interrupts; expected %u, 2, 2",
              static_cast<unsigned long long>(vs.faults_recorded), static_cast<unsigned long long>(vs.faults_lost),
              static_cast<unsigned long long>(vs.interrupts), 1 + nfr);
        std::printf(
            "vp: [%s] %llu invalidation descriptors run, %llu faults recorded, %llu lost, %llu interrupts sent\n",
            sc_core::sc_time_stamp().to_string().c_str(), static_cast<unsigned long long>(vs.descriptors),
            static_cast<unsigned long long>(vs.faults_recorded), static_cast<unsigned long long>(vs.faults_lost),
            static_cast<unsigned long long>(vs.interrupts));
    }

    ims::VtdIommu &m_vtd;
    SystemMemory &m_mem;
    DmaEngine &m_nic, &m_disk;
    const bool m_skip;
};

int usage(const char *msg)
{
    std::fprintf(stderr, "vp: %s\nusage: vp [--config FILE] [--set KEY=VALUE]... [--skip-unmap-flush]\n", msg);
    return 2;
}

} // namespace
} // namespace vp

int sc_main(int argc, char **argv)
{
    std::string config;
    std::vector<std::string> sets;
    bool skip = false;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (a == "--config" && i + 1 < argc)
            config = argv[++i];
        else if (a == "--set" && i + 1 < argc)
            sets.push_back(argv[++i]);
        else if (a == "--skip-unmap-flush")
            skip = true;
        else
            return vp::usage(("unknown or incomplete argument '" + a + "'").c_str());
    }

    // The IOMMU's clock is a whole number of time-resolution units, fixed
    // when the module is built: set the resolution first (1 ps is SystemC's
    // default; said here because it must precede any sc_time).
    sc_core::sc_set_time_resolution(1, sc_core::SC_PS);
    // (sc_stop() at the end of the scenario is not news.)
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    ims_sim_cfg cfg;
    try {
        cfg = ims::VtdIommu::load_config(config, sets);
    } catch (const ims::ConfigError &e) {
        std::fprintf(stderr, "vp: %s\n", e.what());
        return 2;
    }

    using namespace vp;
    ims::VtdIommu vtd("vtd", cfg);
    SystemMemory mem("memory", kRamSize, sc_core::sc_time(50, sc_core::SC_NS));
    CpuBus bus("bus", cfg.regs_base, vtd.vtd.size());
    RootPort port("root_port");
    DmaEngine nic("nic", kNicRid), disk("disk", kDiskRid);
    Cpu cpu("cpu", vtd, mem, nic, disk, skip);

    cpu.bus.bind(bus.cpu);
    bus.mem.bind(mem.tsock);
    bus.regs.bind(vtd.regs);
    nic.dma.bind(port.down);
    disk.dma.bind(port.down);
    port.up.bind(vtd.dma_in);
    port.ats.bind(vtd.ats_in);
    vtd.dma_out.bind(mem.tsock);
    vtd.mem.bind(mem.tsock);

    std::printf("vp: iommusim VT-d at 0x%llx (%llu KiB window), clock %u MHz; memory [0, %llu MiB), interrupts at "
                "0x%llx\n",
                static_cast<unsigned long long>(cfg.regs_base), static_cast<unsigned long long>(vtd.vtd.size() / 1024),
                cfg.clock_mhz, static_cast<unsigned long long>(kRamSize >> 20),
                static_cast<unsigned long long>(kMsiBase));
    if (const std::vector<std::string> ended = ims::run_kernel(); !ended.empty()) {
        for (const std::string &n : ended)
            std::fprintf(stderr, "vp: the SystemC thread %s returned instead of parking (ims::park_thread)\n", n.c_str());
        return 1;
    }
    if (cpu.failures) {
        std::fprintf(stderr, "vp: %d check%s failed\n", cpu.failures, cpu.failures == 1 ? "" : "s");
        return 1;
    }
    std::printf("vp: ok\n");
    return 0;
}
