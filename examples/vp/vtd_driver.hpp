// A VT-d driver that programs the remapping hardware over MMIO the way
// Linux's intel-iommu does (drivers/iommu/intel/: iommu.c, dmar.c), running
// in the CPU's thread. It knows the hardware only from the VT-d
// specification (rev. 3.x): the register layout and bits below are the
// spec's (chapter 11), not the library's headers, so the example checks the
// model against the spec rather than against itself. Names follow Linux's
// where it has one (DMA_GCMD_TE, QI_IWD_STATUS_WRITE, ...).
#ifndef VP_VTD_DRIVER_HPP
#define VP_VTD_DRIVER_HPP

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>

namespace vp
{

namespace vtd
{
// Register offsets (11.4, "Address Mapping for Remapping Hardware Registers").
constexpr unsigned kVer = 0x00, kCap = 0x08, kEcap = 0x10, kGcmd = 0x18, kGsts = 0x1c, kRtaddr = 0x20, kFsts = 0x34,
                   kFectl = 0x38, kFedata = 0x3c, kFeaddr = 0x40, kFeuaddr = 0x44, kIqh = 0x80, kIqt = 0x88,
                   kIqa = 0x90;
// GCMD / GSTS (11.4.4, 11.4.5): the same bit positions.
constexpr std::uint32_t kGcmdTe = 1u << 31, kGcmdSrtp = 1u << 30, kGcmdQie = 1u << 26;
// FSTS (11.4.9): PFO, PPF, IQE, FRI [15:8].
constexpr std::uint32_t kFstsPfo = 1u << 0, kFstsPpf = 1u << 1, kFstsIqe = 1u << 4;
// FECTL (11.4.10): IM.
constexpr std::uint32_t kFectlIm = 1u << 31, kFectlIp = 1u << 30;
// CAP (11.4.2): CM [7], SAGAW [12:8], FRO [33:24] (x16 bytes), NFR [47:40] (+1).
inline bool cap_caching_mode(std::uint64_t c)
{
    return (c >> 7) & 1;
}
inline unsigned cap_sagaw(std::uint64_t c)
{
    return (c >> 8) & 0x1f;
}
inline unsigned cap_fault_reg_offset(std::uint64_t c)
{
    return ((c >> 24) & 0x3ff) * 16;
}
inline unsigned cap_num_fault_regs(std::uint64_t c)
{
    return ((c >> 40) & 0xff) + 1;
}
// ECAP (11.4.3): QI [1], IRO [17:8] (x16 bytes).
inline bool ecap_qis(std::uint64_t e)
{
    return (e >> 1) & 1;
}
inline unsigned ecap_iotlb_offset(std::uint64_t e)
{
    return ((e >> 8) & 0x3ff) * 16;
}
// Fault-recording register, upper 64 bits (11.4.14): F [127], T [126], FR
// [103:96], SID [79:64]; lower 64 bits: FI [63:12].
constexpr std::uint32_t kFrcdF = 1u << 31; // in the dword at +12
} // namespace vtd

// One fault-recording register as the driver read it.
struct FaultRecord {
    unsigned index;
    std::uint16_t sid;
    std::uint8_t reason;
    bool read; // T: 1 read, 0 write
    std::uint64_t addr;
};

// Where the driver's page-table pages, queue and status words come from: a
// bump allocator over a region of system memory (4 KiB pages).
struct PagePool {
    std::uint64_t next, end;
};

// A domain: its id and its second-level (4-level, 48-bit) page table.
struct Domain {
    std::uint16_t did;
    std::uint64_t pgd;
};

// Thrown when the hardware does not answer as the specification says (a
// poll timing out, a queue error, a refused access); the example's checks
// report it and exit non-zero.
struct DriverError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class VtdDriver
{
  public:
    // bus: the CPU's initiator socket (registers at regs_base, memory
    // elsewhere). The driver's memory comes from pool.
    VtdDriver(tlm::tlm_initiator_socket<32> &bus, std::uint64_t regs_base, PagePool pool);

    // Reads VER, CAP, ECAP and derives the register offsets (FRO, NFR, IRO);
    // refuses hardware without queued invalidation or 48-bit tables.
    void probe();
    std::uint64_t cap() const { return m_cap; }
    std::uint64_t ecap() const { return m_ecap; }
    unsigned nfr() const { return m_nfr; }

    // Root table (iommu.c iommu_alloc_root_entry), queued invalidation
    // (dmar.c dmar_enable_qi), root pointer (iommu_set_root_entry) with the
    // global context-cache and IOTLB invalidations it is followed by,
    // translation (iommu_enable_translation).
    void alloc_root_table();
    void enable_qi();
    void set_root_entry();
    void enable_translation();
    // FEDATA/FEADDR/FEUADDR, then FECTL.IM cleared (dmar.c dmar_msi_write,
    // dmar_msi_unmask).
    void set_fault_interrupt(std::uint32_t data, std::uint64_t addr);
    // FECTL.IM set or cleared (dmar.c dmar_msi_mask / dmar_msi_unmask).
    void mask_fault_interrupt(bool masked);

    // A domain with an empty 4-level table; a device attached to it (context
    // entry in the context table of its bus, iommu.c domain_context_mapping_one).
    Domain alloc_domain(std::uint16_t did);
    void attach(std::uint16_t rid, const Domain &dom);
    // 4 KiB mappings (perm: bit 0 read, bit 1 write) and their removal; unmap
    // invalidates the IOTLB page-selectively and waits (cache.c
    // cache_tag_flush_range -> qi_flush_iotlb PSI) unless flush is false.
    void map(const Domain &dom, std::uint64_t iova, std::uint64_t pa, std::uint64_t len, unsigned perm);
    void unmap(const Domain &dom, std::uint64_t iova, std::uint64_t len, bool flush = true);

    // The fault interrupt's handler (dmar.c dmar_fault): FSTS, each pending
    // record from FRI on (F cleared after reading it), then PFO and PPF
    // cleared. Returns the records in the order read.
    std::vector<FaultRecord> dmar_fault();

    // Register and memory access through the bus (each waits out its delay).
    std::uint32_t readl(unsigned off);
    std::uint64_t readq(unsigned off);
    void writel(unsigned off, std::uint32_t v);
    void writeq(unsigned off, std::uint64_t v);
    void mem_read(std::uint64_t pa, void *p, unsigned len);
    void mem_write(std::uint64_t pa, const void *p, unsigned len);
    std::uint64_t mem_read64(std::uint64_t pa);
    void mem_write64(std::uint64_t pa, std::uint64_t v);

    std::uint64_t descriptors_submitted() const { return m_submitted; }

  private:
    struct QiDesc {
        std::uint64_t qw0, qw1;
    };
    std::uint64_t alloc_page();
    void access(tlm::tlm_command cmd, std::uint64_t addr, void *p, unsigned len);
    // IOMMU_WAIT_OP: poll GSTS until (GSTS & bit) == want.
    void wait_gsts(std::uint32_t bit, bool want, const char *what);
    // qi_submit_sync: the descriptors, then a wait descriptor writing QI_DONE
    // to this submission's status word; IQT; polled until done, FSTS.IQE
    // checked on every poll (qi_check_fault).
    void qi_submit_sync(const std::vector<QiDesc> &descs, const char *what);
    void flush_context_global();
    void flush_iotlb_global();
    void flush_iotlb_dsi(std::uint16_t did);
    void flush_iotlb_psi(std::uint16_t did, std::uint64_t addr, std::uint64_t len);
    // The leaf entry of iova in dom's table (its address), allocating the
    // tables on the way if alloc; 0 if a table is missing and alloc is false.
    std::uint64_t pte_addr(const Domain &dom, std::uint64_t iova, bool alloc);

    tlm::tlm_initiator_socket<32> &m_bus;
    const std::uint64_t m_regs;
    PagePool m_pool;
    std::uint64_t m_cap = 0, m_ecap = 0;
    unsigned m_fro = 0, m_nfr = 0, m_iro = 0;
    std::uint32_t m_gcmd = 0; // the driver's copy of the commands it set (Linux: iommu->gcmd)
    std::uint64_t m_root = 0;
    std::uint64_t m_ctx[256] = {}; // context table of each bus, 0 if none yet
    // Invalidation queue: one 4 KiB page of 256 16-byte descriptors (QS 0),
    // and one 32-bit status word per slot.
    std::uint64_t m_qbase = 0, m_status = 0;
    unsigned m_free_head = 0;
    std::uint64_t m_submitted = 0;
};

} // namespace vp

#endif // VP_VTD_DRIVER_HPP
