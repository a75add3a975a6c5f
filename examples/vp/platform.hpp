// The platform around the IOMMU: system memory with the interrupt window,
// the CPU's bus, a root port in front of the IOMMU's DMA input, and a DMA
// copy engine. Everything here is the platform's own code; only
// iommusim/vtd_iommu.hpp is the library. docs/vp.md walks through it.
#ifndef VP_PLATFORM_HPP
#define VP_PLATFORM_HPP

#include <cstdint>
#include <deque>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "iommusim/tlm.hpp" // ims::ReqExt: the requester id a device's DMA carries

namespace vp
{

// The x86 interrupt window: a 32-bit write here is an interrupt message
// (MSI); FEADDR/FEUADDR of the IOMMU point into it.
constexpr std::uint64_t kMsiBase = 0xfee00000, kMsiSize = 0x100000;

// System memory [0, size) and the interrupt controller at the MSI window,
// one target for every initiator (the CPU's bus, the IOMMU's translated DMA
// and its own accesses: table reads, queue fetches, status and interrupt
// writes). What the IOMMU needs of it (docs/vp.md, "Requirements"):
// b_transport with TLM_IGNORE_COMMAND answered without moving data (the
// IOMMU's timed replays of accesses whose data moved by debug transport),
// debug transport reads and writes, and an interrupt controller that sees
// debug writes too. DMI over the whole memory is offered (optional: the
// IOMMU reads tables through it when granted).
class SystemMemory : public sc_core::sc_module
{
  public:
    tlm_utils::multi_passthrough_target_socket<SystemMemory> tsock;

    struct Msi {
        std::uint64_t addr;
        std::uint32_t data;
        sc_core::sc_time at;
    };

    SystemMemory(sc_core::sc_module_name name, std::uint64_t size, sc_core::sc_time latency);

    // Interrupt messages received, oldest first; `msi_event` fires on each.
    const std::vector<Msi> &msis() const { return m_msis; }
    sc_core::sc_event msi_event;

    struct Stats {
        std::uint64_t reads = 0, writes = 0, ignores = 0, dbg_reads = 0, dbg_writes = 0, errors = 0;
    };
    const Stats &stats() const { return m_st; }

  private:
    void b_transport(int id, tlm::tlm_generic_payload &t, sc_core::sc_time &delay);
    unsigned transport_dbg(int id, tlm::tlm_generic_payload &t);
    bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload &t, tlm::tlm_dmi &dmi);
    bool in_ram(std::uint64_t a, unsigned len) const { return a < m_ram.size() && len <= m_ram.size() - a; }
    static bool in_msi(std::uint64_t a) { return a >= kMsiBase && a < kMsiBase + kMsiSize; }
    void msi(std::uint64_t a, const tlm::tlm_generic_payload &t, const sc_core::sc_time &at);

    std::vector<unsigned char> m_ram;
    sc_core::sc_time m_latency;
    std::vector<Msi> m_msis;
    Stats m_st;
};

// The CPU's bus: the IOMMU's register window [regs_base, regs_base +
// regs_size) to `regs`, everything else to `mem`. Addresses pass unchanged
// (the register file decodes its absolute base, regs.base).
class CpuBus : public sc_core::sc_module
{
  public:
    tlm_utils::simple_target_socket<CpuBus> cpu;
    tlm_utils::simple_initiator_socket<CpuBus> mem, regs;

    CpuBus(sc_core::sc_module_name name, std::uint64_t regs_base, std::uint64_t regs_size);

  private:
    void b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &delay);
    unsigned transport_dbg(tlm::tlm_generic_payload &t);
    bool is_regs(std::uint64_t a) const { return a >= m_base && a - m_base < m_size; }
    std::uint64_t m_base, m_size;
};

// The root port the devices sit behind: one input per device, one output to
// the IOMMU's DMA input (which, on this version of the library, takes a
// single initiator; the requester id travels in ims::ReqExt, which each
// device attaches). It refuses DMA without that extension instead of
// letting it reach the IOMMU. `ats` binds the IOMMU's ATS input, which
// SystemC requires to be bound; no device here makes ATS requests.
class RootPort : public sc_core::sc_module
{
  public:
    tlm_utils::multi_passthrough_target_socket<RootPort> down;
    tlm_utils::simple_initiator_socket<RootPort> up, ats;

    explicit RootPort(sc_core::sc_module_name name);

  private:
    void b_transport(int id, tlm::tlm_generic_payload &t, sc_core::sc_time &delay);
};

// A DMA copy engine: copies `len` bytes from IOVA `src` to IOVA `dst` in
// 64-byte reads and writes (never crossing a 4 KiB page, as PCIe requires),
// each one blocking transport followed by wait(delay): no temporal
// decoupling, so its requests reach the IOMMU in time order with the other
// device's. It stops at the first transaction not answered OK (the error
// response a device gets for a faulting DMA).
class DmaEngine : public sc_core::sc_module
{
  public:
    tlm_utils::simple_initiator_socket<DmaEngine> dma;

    struct Job {
        std::uint64_t src, dst, len;
    };
    struct Result {
        bool ok = true;
        std::uint64_t bytes = 0;      // copied before it stopped
        std::uint64_t error_iova = 0; // the transaction refused
        bool error_write = false;
        tlm::tlm_response_status error = tlm::TLM_OK_RESPONSE;
    };

    DmaEngine(sc_core::sc_module_name name, std::uint16_t rid);
    SC_HAS_PROCESS(DmaEngine);

    std::uint16_t rid() const { return m_rid; }
    void start(const Job &job);
    bool busy() const { return m_busy; }
    const Result &result() const { return m_result; }
    sc_core::sc_event done;

  private:
    void run();
    bool transfer(tlm::tlm_command cmd, std::uint64_t iova, unsigned char *buf, unsigned len);

    const std::uint16_t m_rid;
    std::deque<Job> m_jobs;
    bool m_busy = false;
    Result m_result;
    sc_core::sc_event m_kick;
};

} // namespace vp

#endif // VP_PLATFORM_HPP
