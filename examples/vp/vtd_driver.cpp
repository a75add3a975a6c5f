// The VT-d driver (vtd_driver.hpp). Each step names the Linux function whose
// register sequence it follows and the VT-d specification section (rev. 3.x)
// of the structures it writes.
#include "vtd_driver.hpp"

#include <cstdio>
#include <cstring>

namespace vp
{

namespace
{
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kAddrMask = UINT64_C(0x000ffffffffff000); // bits 51:12 of a table pointer
constexpr unsigned kQiLength = 256; // 16-byte descriptors in the one-page queue (Linux QI_LENGTH)

// Invalidation descriptors (6.5.2): type [3:0], granularity [5:4].
constexpr std::uint64_t kQiCcType = 1, kQiIotlbType = 2, kQiIwdType = 5;
constexpr std::uint64_t kQiGranGlobal = 1, kQiGranDomain = 2, kQiGranPage = 3; // (context: 3 = device)
constexpr std::uint64_t kQiIwdStatusWrite = 1u << 5;                           // SW
// Status words of queue slots (Linux: QI_IN_USE, QI_DONE).
constexpr std::uint32_t kQiInUse = 1, kQiDone = 2;
constexpr std::uint32_t kFstsPro = 1u << 7; // cleared by dmar_fault with PFO and PPF

std::string hex(std::uint64_t v)
{
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}
} // namespace

VtdDriver::VtdDriver(tlm::tlm_initiator_socket<32> &bus, std::uint64_t regs_base, PagePool pool)
    : m_bus(bus), m_regs(regs_base), m_pool(pool)
{
}

// ---- Access ----

void VtdDriver::access(tlm::tlm_command cmd, std::uint64_t addr, void *p, unsigned len)
{
    tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(addr);
    t.set_data_ptr(static_cast<unsigned char *>(p));
    t.set_data_length(len);
    t.set_streaming_width(len);
    t.set_byte_enable_ptr(nullptr);
    t.set_dmi_allowed(false);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    m_bus->b_transport(t, delay);
    sc_core::wait(delay); // no temporal decoupling: the CPU's accesses stay in time order
    if (!t.is_response_ok())
        throw DriverError(std::string(cmd == tlm::TLM_READ_COMMAND ? "read" : "write") + " of " + std::to_string(len) +
                          " bytes at " + hex(addr) + ": " + t.get_response_string());
}

std::uint32_t VtdDriver::readl(unsigned off)
{
    std::uint32_t v = 0;
    access(tlm::TLM_READ_COMMAND, m_regs + off, &v, 4);
    return v;
}

std::uint64_t VtdDriver::readq(unsigned off)
{
    std::uint64_t v = 0;
    access(tlm::TLM_READ_COMMAND, m_regs + off, &v, 8);
    return v;
}

void VtdDriver::writel(unsigned off, std::uint32_t v)
{
    access(tlm::TLM_WRITE_COMMAND, m_regs + off, &v, 4);
}
void VtdDriver::writeq(unsigned off, std::uint64_t v)
{
    access(tlm::TLM_WRITE_COMMAND, m_regs + off, &v, 8);
}

void VtdDriver::mem_read(std::uint64_t pa, void *p, unsigned len)
{
    access(tlm::TLM_READ_COMMAND, pa, p, len);
}
void VtdDriver::mem_write(std::uint64_t pa, const void *p, unsigned len)
{
    access(tlm::TLM_WRITE_COMMAND, pa, const_cast<void *>(p), len);
}

std::uint64_t VtdDriver::mem_read64(std::uint64_t pa)
{
    std::uint64_t v = 0;
    mem_read(pa, &v, 8);
    return v;
}

void VtdDriver::mem_write64(std::uint64_t pa, std::uint64_t v)
{
    mem_write(pa, &v, 8);
}

std::uint64_t VtdDriver::alloc_page()
{
    if (m_pool.next + kPage > m_pool.end)
        throw DriverError("out of driver memory at " + hex(m_pool.next));
    const std::uint64_t pa = m_pool.next;
    m_pool.next += kPage;
    static const unsigned char zero[kPage] = {};
    mem_write(pa, zero, kPage); // Linux: alloc_pgtable_page returns a zeroed page
    return pa;
}

// IOMMU_WAIT_OP (iommu.h): the status bit follows the command.
void VtdDriver::wait_gsts(std::uint32_t bit, bool want, const char *what)
{
    for (int i = 0; i < 1000; i++) {
        if (((readl(vtd::kGsts) & bit) != 0) == want)
            return;
        sc_core::wait(10, sc_core::SC_NS);
    }
    throw DriverError(std::string("GSTS: ") + what + " did not follow the command within 1000 polls");
}

// ---- Set-up ----

void VtdDriver::probe()
{
    const std::uint32_t ver = readl(vtd::kVer);
    m_cap = readq(vtd::kCap);
    m_ecap = readq(vtd::kEcap);
    m_fro = vtd::cap_fault_reg_offset(m_cap);
    m_nfr = vtd::cap_num_fault_regs(m_cap);
    m_iro = vtd::ecap_iotlb_offset(m_ecap);
    std::printf("vp: vtd: VER %u.%u CAP %s ECAP %s: %u fault-recording registers at +%s, IOTLB registers at "
                "+%s, caching mode %d\n",
                (ver >> 4) & 0xf, ver & 0xf, hex(m_cap).c_str(), hex(m_ecap).c_str(), m_nfr, hex(m_fro).c_str(),
                hex(m_iro).c_str(), vtd::cap_caching_mode(m_cap));
    if (!vtd::ecap_qis(m_ecap))
        throw DriverError("ECAP.QI clear: this driver needs queued invalidation");
    if (!(vtd::cap_sagaw(m_cap) & 0x4))
        throw DriverError("CAP.SAGAW lacks 48-bit (4-level) tables");
    if (m_fro == 0 || m_iro == 0)
        throw DriverError("CAP.FRO or ECAP.IRO is 0");
}

// iommu.c iommu_alloc_root_entry: one zeroed page of 256 root entries (9.1).
void VtdDriver::alloc_root_table()
{
    m_root = alloc_page();
    std::printf("vp: root table at %s\n", hex(m_root).c_str());
}

// dmar.c __dmar_enable_qi: IQT = 0, IQA = queue | QS, GCMD.QIE, wait for
// GSTS.QIES (6.5.2; the hardware starts fetching at IQH = 0).
void VtdDriver::enable_qi()
{
    m_qbase = alloc_page();
    m_status = alloc_page();
    m_free_head = 0;
    writeq(vtd::kIqt, 0);
    writeq(vtd::kIqa, m_qbase | 0 /* QS: 2^0 4 KiB pages, 256 descriptors */);
    m_gcmd |= vtd::kGcmdQie;
    writel(vtd::kGcmd, m_gcmd);
    wait_gsts(vtd::kGcmdQie, true, "QIES");
    std::printf("vp: queued invalidation on: queue at %s, status words at %s\n", hex(m_qbase).c_str(),
                hex(m_status).c_str());
}

// iommu.c iommu_set_root_entry: RTADDR, a one-shot SRTP (on top of the
// commands already set), wait for GSTS.RTPS; then, as hardware without
// ECAP.ESRTPS needs, a global context-cache and a global IOTLB invalidation.
void VtdDriver::set_root_entry()
{
    writeq(vtd::kRtaddr, m_root);
    writel(vtd::kGcmd, m_gcmd | vtd::kGcmdSrtp);
    wait_gsts(vtd::kGcmdSrtp, true, "RTPS");
    std::printf("vp: SRTP: root pointer latched (GSTS.RTPS)\n");
    flush_context_global();
    flush_iotlb_global();
}

// iommu.c iommu_enable_translation.
void VtdDriver::enable_translation()
{
    m_gcmd |= vtd::kGcmdTe;
    writel(vtd::kGcmd, m_gcmd);
    wait_gsts(vtd::kGcmdTe, true, "TES");
    std::printf("vp: translation enabled (GSTS 0x%x)\n", readl(vtd::kGsts));
}

// dmar.c dmar_msi_write (data, address low, address high), then
// dmar_msi_unmask (FECTL = 0: IM clear); dmar_set_interrupt then runs the
// handler once for faults left from before.
void VtdDriver::set_fault_interrupt(std::uint32_t data, std::uint64_t addr)
{
    writel(vtd::kFedata, data);
    writel(vtd::kFeaddr, static_cast<std::uint32_t>(addr));
    writel(vtd::kFeuaddr, static_cast<std::uint32_t>(addr >> 32));
    writel(vtd::kFectl, 0);
    if (readl(vtd::kFectl) & vtd::kFectlIm)
        throw DriverError("FECTL.IM still set after writing 0");
    const std::vector<FaultRecord> old = dmar_fault();
    if (!old.empty())
        throw DriverError("fault records pending before any DMA");
    std::printf("vp: fault event interrupt: data 0x%x to %s, unmasked\n", data, hex(addr).c_str());
}

void VtdDriver::mask_fault_interrupt(bool masked)
{
    writel(vtd::kFectl, masked ? vtd::kFectlIm : 0);
    readl(vtd::kFectl); // Linux reads it back to flush the write
}

// ---- Queued invalidation ----

// dmar.c qi_submit_sync: descriptors from free_head, a wait descriptor
// (6.5.2.8: SW, status data QI_DONE, status address this submission's
// status word), IQT past it, then poll the status word; FSTS.IQE on any poll
// means the hardware refused a descriptor (qi_check_fault).
void VtdDriver::qi_submit_sync(const std::vector<QiDesc> &descs, const char *what)
{
    const unsigned n = static_cast<unsigned>(descs.size());
    for (unsigned i = 0; i < n; i++)
        mem_write(m_qbase + ((m_free_head + i) % kQiLength) * 16, &descs[i], 16);
    const unsigned wait_index = (m_free_head + n) % kQiLength;
    const std::uint64_t status = m_status + wait_index * 4;
    const std::uint32_t in_use = kQiInUse;
    mem_write(status, &in_use, 4);
    const QiDesc wait{std::uint64_t{kQiDone} << 32 | kQiIwdStatusWrite | kQiIwdType, status};
    mem_write(m_qbase + wait_index * 16, &wait, 16);
    m_free_head = (m_free_head + n + 1) % kQiLength;
    m_submitted += n + 1;
    const sc_core::sc_time start = sc_core::sc_time_stamp();
    writel(vtd::kIqt, m_free_head << 4);
    for (int i = 0; i < 10000; i++) {
        std::uint32_t st = 0;
        mem_read(status, &st, 4);
        if (st == kQiDone) {
            std::printf("vp: qi: %s: %u descriptor%s + wait, status written after %s\n", what, n, n == 1 ? "" : "s",
                        (sc_core::sc_time_stamp() - start).to_string().c_str());
            return;
        }
        if (readl(vtd::kFsts) & vtd::kFstsIqe)
            throw DriverError(std::string("qi: ") + what + ": FSTS.IQE set (IQH " + hex(readq(vtd::kIqh)) + ")");
        sc_core::wait(10, sc_core::SC_NS);
    }
    throw DriverError(std::string("qi: ") + what + ": wait descriptor's status never written");
}

// qi_flush_context, global (6.5.2.1).
void VtdDriver::flush_context_global()
{
    qi_submit_sync({{kQiCcType | kQiGranGlobal << 4, 0}}, "context cache, global");
}

// qi_flush_iotlb, global (6.5.2.3); DR/DW stay 0 (CAP.DRD/DWD are 0).
void VtdDriver::flush_iotlb_global()
{
    qi_submit_sync({{kQiIotlbType | kQiGranGlobal << 4, 0}}, "IOTLB, global");
}

void VtdDriver::flush_iotlb_dsi(std::uint16_t did)
{
    qi_submit_sync({{kQiIotlbType | kQiGranDomain << 4 | std::uint64_t{did} << 16, 0}}, "IOTLB, domain");
}

// qi_flush_iotlb, page-selective: the smallest naturally aligned 2^AM-page
// range holding [addr, addr + len); beyond CAP.MAMV a domain-selective one
// instead (as cache.c does when the mask would be too large).
void VtdDriver::flush_iotlb_psi(std::uint16_t did, std::uint64_t addr, std::uint64_t len)
{
    unsigned am = 0;
    while ((addr >> (12 + am)) != ((addr + len - 1) >> (12 + am)))
        am++;
    const unsigned mamv = (m_cap >> 48) & 0x3f;
    if (am > mamv) {
        flush_iotlb_dsi(did);
        return;
    }
    const std::uint64_t base = addr & ~((kPage << am) - 1);
    qi_submit_sync({{kQiIotlbType | kQiGranPage << 4 | std::uint64_t{did} << 16, base | am}}, "IOTLB, page-selective");
}

// ---- Domains and mappings ----

Domain VtdDriver::alloc_domain(std::uint16_t did)
{
    return Domain{did, alloc_page()};
}

// iommu.c domain_context_mapping_one: the context table of the bus (root
// entry 9.1: CTP | P), the context entry (9.3: lo = SLPTPTR | TT 0 | P,
// FPD 0; hi = AW 2 (48-bit) | DID), present bit written last. With caching
// mode, a not-present entry may be cached under DID 0: invalidate that
// context entry and the domain's IOTLB; without, nothing (no RWBF).
void VtdDriver::attach(std::uint16_t rid, const Domain &dom)
{
    const unsigned bus = rid >> 8, devfn = rid & 0xff;
    if (!m_ctx[bus]) {
        m_ctx[bus] = alloc_page();
        mem_write64(m_root + bus * 16 + 8, 0);
        mem_write64(m_root + bus * 16, m_ctx[bus] | 1);
    }
    const std::uint64_t ce = m_ctx[bus] + devfn * 16;
    mem_write64(ce + 8, 2 /* AW: 48-bit */ | std::uint64_t{dom.did} << 8);
    mem_write64(ce, (dom.pgd & kAddrMask) | 0 << 2 /* TT: untranslated requests */ | 1 /* P */);
    std::printf("vp: %02x:%02x.%u -> domain %u (context entry at %s, table at %s)\n", bus, devfn >> 3, devfn & 7,
                dom.did, hex(ce).c_str(), hex(dom.pgd).c_str());
    if (vtd::cap_caching_mode(m_cap)) {
        qi_submit_sync({{kQiCcType | 3 << 4 /* device */ | std::uint64_t{rid} << 32, 0}},
                       "context cache, device (caching mode)");
        flush_iotlb_dsi(dom.did);
    }
}

// Second-level table walk for software (9.8): levels 4..2 hold table
// pointers with R and W set (Linux sets both in non-leaf entries), level 1
// the 4 KiB leaf.
std::uint64_t VtdDriver::pte_addr(const Domain &dom, std::uint64_t iova, bool alloc)
{
    std::uint64_t table = dom.pgd;
    for (unsigned level = 4; level > 1; level--) {
        const std::uint64_t slot = table + ((iova >> (12 + 9 * (level - 1))) & 511) * 8;
        std::uint64_t e = mem_read64(slot);
        if (!(e & 3)) {
            if (!alloc)
                return 0;
            e = alloc_page() | 3;
            mem_write64(slot, e);
        }
        table = e & kAddrMask;
    }
    return table + ((iova >> 12) & 511) * 8;
}

void VtdDriver::map(const Domain &dom, std::uint64_t iova, std::uint64_t pa, std::uint64_t len, unsigned perm)
{
    for (std::uint64_t off = 0; off < len; off += kPage)
        mem_write64(pte_addr(dom, iova + off, true), ((pa + off) & kAddrMask) | (perm & 3));
    std::printf("vp: domain %u: map IOVA %s -> PA %s, %llu KiB, %s\n", dom.did, hex(iova).c_str(), hex(pa).c_str(),
                static_cast<unsigned long long>(len / 1024),
                perm == 1   ? "read"
                : perm == 2 ? "write"
                            : "read-write");
    if (vtd::cap_caching_mode(m_cap)) // not-present entries may be cached: __mapping_notify_one flushes
        flush_iotlb_psi(dom.did, iova, len);
}

// domain_unmap + the IOTLB flush of the range before the IOVA is reused.
void VtdDriver::unmap(const Domain &dom, std::uint64_t iova, std::uint64_t len, bool flush)
{
    for (std::uint64_t off = 0; off < len; off += kPage)
        if (const std::uint64_t pte = pte_addr(dom, iova + off, false))
            mem_write64(pte, 0);
    std::printf("vp: domain %u: unmap IOVA %s, %llu KiB%s\n", dom.did, hex(iova).c_str(),
                static_cast<unsigned long long>(len / 1024),
                flush ? "" : " (IOTLB NOT invalidated: --skip-unmap-flush)");
    if (flush)
        flush_iotlb_psi(dom.did, iova, len);
}

// ---- Faults ----

// dmar.c dmar_fault (7.3.1, 11.4.14): with FSTS.PPF, read the records from
// FSTS.FRI on: the dword at +12 (F, T, FR), +8 (SID), the qword at +0 (FI);
// clear F (write 1 to it) after reading each; stop at the first with F
// clear. Then clear PFO, PPF (read-only in hardware) and PRO in FSTS.
std::vector<FaultRecord> VtdDriver::dmar_fault()
{
    std::vector<FaultRecord> out;
    const std::uint32_t fsts = readl(vtd::kFsts);
    if (fsts & vtd::kFstsPpf) {
        unsigned index = (fsts >> 8) & 0xff;
        for (unsigned n = 0; n < m_nfr; n++) {
            const unsigned reg = m_fro + index * 16;
            const std::uint32_t hi = readl(reg + 12);
            if (!(hi & vtd::kFrcdF))
                break;
            FaultRecord r{};
            r.index = index;
            r.reason = static_cast<std::uint8_t>(hi & 0xff);
            r.read = (hi >> 30) & 1;
            r.sid = static_cast<std::uint16_t>(readl(reg + 8));
            r.addr = readq(reg) & ~(kPage - 1);
            writel(reg + 12, vtd::kFrcdF);
            out.push_back(r);
            index = (index + 1) % m_nfr;
        }
    }
    writel(vtd::kFsts, vtd::kFstsPfo | vtd::kFstsPpf | kFstsPro);
    return out;
}

} // namespace vp
