// The VT-d register file (iommusim/vtd_regs.hpp): register semantics of
// VT-d rev. 3.x chapter 11, register-based and queued invalidation (6.5),
// primary fault logging (7.3.1) and the fault and invalidation event
// interrupts (7.4, 11.4.10-11.4.13, 11.4.17-11.4.20). Bit positions are the
// constants at the end of iommusim/vtd.h.
#include "iommusim/vtd_regs.hpp"

#include <algorithm>
#include <cstring>

namespace ims {

namespace {
// FECTL/IECTL data and address registers: writable bits (11.4.11-11.4.13).
// EIMD (FEDATA[31:16]) exists only with ECAP.EIM, which is not reported.
constexpr std::uint32_t kDataMask = 0x0000ffff, kAddrMask = 0xfffffffc;
// CCMD upper half: FM [33:32], CIRG [62:61] (ICC is the command; CAIG RO).
constexpr std::uint32_t kCcmdHiMask = 0x60000003;
// IOTLB upper half: DID [47:32], DW [48], DR [49], IIRG [61:60].
constexpr std::uint32_t kIotlbHiMask = 0x3003ffff;
// IVA lower half: ADDR [31:12], IH [6], AM [5:0].
constexpr std::uint32_t kIvaLoMask = 0xfffff07f;
// IQA lower half: IQA [31:12], QS [2:0]; DW (bit 11, 256-bit descriptors)
// exists with ECAP.SMTS only (11.4.15), else reserved.
constexpr std::uint32_t kIqaLoMask = 0xfffff007, kIqaDw = 1u << 11;
// RTADDR lower half: RTA [31:12], TTM [11:10] (11.4.6); [9:0] reserved.
constexpr std::uint32_t kRtaLoMask = 0xfffffc00;
constexpr unsigned kTtmShift = 10;
enum : unsigned { kTtmLegacy = 0, kTtmScalable = 1 };  // 10b reserved; 11b abort-DMA mode needs ECAP.ADMS
// FSTS.ITE (11.4.9): invalidation time-out error, RW1C.
constexpr std::uint32_t kFstsIte = 1u << 6;
// FSTS status conditions that raise a fault event (11.4.9, 11.4.10): PFO,
// PPF, IQE and ITE are the ones the model sets (AFO, APF, ICE, PRO never).
constexpr std::uint32_t kFaultEventBits = IMS_VTD_FSTS_PFO | IMS_VTD_FSTS_PPF | IMS_VTD_FSTS_IQE | kFstsIte;

// Scalable-mode descriptors (6.5.2): types, and the fields reserved in
// each (bits [11:9], the type's high bits, are 0 for every type here).
enum : unsigned { kDescPiotlb = 6, kDescPasidCache = 7, kDescPdevtlb = 8 };
constexpr std::uint64_t kPiotlbRsvdLo = UINT64_C(0xfff000000000ffc0);  // [63:52], [15:6]
constexpr std::uint64_t kPiotlbRsvdHi = UINT64_C(0xf80);               // [11:7]
constexpr std::uint64_t kPcRsvdLo = UINT64_C(0xfff000000000ffc0);      // [63:52], [15:6]
// Device-TLB (type 3): [11:4], [31:21], [51:48]; ADDR word [10:1].
constexpr std::uint64_t kDevtlbRsvdLo = UINT64_C(0x000f0000ffe00ff0);
constexpr std::uint64_t kDevtlbRsvdHi = UINT64_C(0x7fe);
// PASID-based device-TLB (type 8): [11:9]; ADDR word [10:1].
constexpr std::uint64_t kPdevtlbRsvdLo = UINT64_C(0xe00);
constexpr std::uint64_t kPdevtlbRsvdHi = UINT64_C(0x7fe);

std::uint64_t window_size(unsigned nfr)
{
    const std::uint64_t end = IMS_VTD_FRO_OFFSET + 16u * nfr;
    return (end + IMS_PAGE_SIZE - 1) & ~(IMS_PAGE_SIZE - 1);
}

// ECAP (11.4.3). Scalable mode (cfg.sm.enabled) adds what the core
// translates: SMTS, PASID with 20-bit PASIDs (PSS = 19), first-level,
// second-level and nested translation (FLTS, SLTS, NEST; pass-through stays
// ECAP.PT), coherent scalable-mode table reads (SMPWCS), and execute and
// supervisor requests (ERS, SRS: ReqExt's exec and priv reach the core,
// which checks them against the PASID entry's ERE and SRE and the
// first-level rights). Not reported: PRS (page requests), SLADS, PDS, DIT,
// ADMS.
std::uint64_t ecap_of(const struct ims_iommu_cfg &c)
{
    std::uint64_t e = ims_caps_ecap_reg(&c.caps);
    e |= UINT64_C(1) << 0;                                /* C: table reads are coherent (11.4.3) */
    e |= UINT64_C(1) << 1;                                /* QI: queued invalidation */
    e |= std::uint64_t{IMS_VTD_IRO_OFFSET >> 4} << 8;     /* IRO [17:8] */
    if (c.sm.enabled) {
        e |= UINT64_C(1) << 26;  /* NEST */
        e |= UINT64_C(1) << 30;  /* ERS: execute requests */
        e |= UINT64_C(1) << 31;  /* SRS: supervisor requests */
        e |= UINT64_C(19) << 35; /* PSS [39:35]: PASIDs of PSS + 1 = 20 bits */
        e |= UINT64_C(1) << 40;  /* PASID */
        e |= UINT64_C(1) << 43;  /* SMTS */
        e |= UINT64_C(1) << 46;  /* SLTS */
        e |= UINT64_C(1) << 47;  /* FLTS */
        e |= UINT64_C(1) << 48;  /* SMPWCS */
    }
    return e;
}

// CAP (11.4.2): the core's fields, and in scalable mode its first-level
// page sizes: FL1GP [56] (1 GiB pages), FL5LP [60] (5-level paging).
std::uint64_t cap_of(const struct ims_iommu_cfg &c)
{
    std::uint64_t r = ims_caps_cap_reg(&c.caps);
    if (c.sm.enabled) {
        r |= std::uint64_t{c.sm.fl1gp} << 56;
        r |= std::uint64_t{c.sm.fl5lp} << 60;
    }
    return r;
}

std::uint64_t set_lo(std::uint64_t r, std::uint32_t v) { return (r & ~UINT64_C(0xffffffff)) | v; }
std::uint64_t set_hi(std::uint64_t r, std::uint32_t v) { return (r & UINT64_C(0xffffffff)) | std::uint64_t{v} << 32; }
std::uint32_t half(std::uint64_t r, unsigned off) { return static_cast<std::uint32_t>(off & 4 ? r >> 32 : r); }
}  // namespace

VtdRegs::VtdRegs(sc_core::sc_module_name name, Iommu &iommu, const ims_sim_cfg &cfg, std::uint64_t base)
    : sc_module(name),
      regs("regs", *this),
      irq_pending("irq_pending"),
      m_iommu(iommu),
      m_clk(iommu.clock()),
      m_base(base),
      m_size(window_size(cfg.iommu.caps.nfr)),
      m_cap(cap_of(cfg.iommu)),
      m_ecap(ecap_of(cfg.iommu)),
      m_nfr(cfg.iommu.caps.nfr),
      m_smts(cfg.iommu.sm.enabled),
      m_frcd(2u * cfg.iommu.caps.nfr, 0)
{
    // CAP.FRO is where the fault-recording registers are (vtd.c encodes it).
    sc_assert(((m_cap >> 24) & 0x3ff) << 4 == IMS_VTD_FRO_OFFSET);
    m_iommu.set_translation_enabled(false);
    m_iommu.set_fault_ring_writes(false);
    m_iommu.set_fault_sink(this);
    SC_THREAD(deferred);
}

VtdRegs::~VtdRegs() { m_iommu.set_fault_sink(nullptr); }

// The reset mode is legacy (TTM 00) whatever mode the core was created in
// (the platform binds it after building this module).
void VtdRegs::start_of_simulation()
{
    if (m_iommu.core())
        ims_iommu_set_scalable(m_iommu.core(), false);
    m_sm = false;
}

// ---- Socket ----

void VtdRegs::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay)
{
    const std::uint64_t a = trans.get_address();
    const unsigned len = trans.get_data_length();
    if (a < m_base || a - m_base >= m_size) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    const unsigned off = static_cast<unsigned>(a - m_base);
    if ((len != 4 && len != 8) || (off & (len - 1)) || trans.get_streaming_width() != len) {
        trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    if (trans.get_byte_enable_ptr()) {
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }
    const Cycles t = m_clk.arrival(delay);
    unsigned char *p = trans.get_data_ptr();
    if (trans.is_read()) {
        for (unsigned i = 0; i < len; i += 4) {
            const std::uint32_t v = read32(off + i, t);
            std::memcpy(p + i, &v, 4);  // little-endian host: bytes in register order
        }
    } else if (trans.is_write()) {
        // A 64-bit write is its low half, then its high half (11.2).
        for (unsigned i = 0; i < len; i += 4) {
            std::uint32_t v;
            std::memcpy(&v, p + i, 4);
            write32(off + i, v, t);
        }
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned VtdRegs::transport_dbg(tlm::tlm_generic_payload &trans)
{
    const std::uint64_t a = trans.get_address();
    const unsigned len = trans.get_data_length();
    if (!trans.is_read()) {
        trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return 0;
    }
    if (a < m_base || a - m_base >= m_size || (len != 4 && len != 8) || ((a - m_base) & (len - 1))) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return 0;
    }
    const Cycles t = m_clk.to_cycles(m_clk.now());
    for (unsigned i = 0; i < len; i += 4) {
        const std::uint32_t v = read32(static_cast<unsigned>(a - m_base) + i, t);
        std::memcpy(trans.get_data_ptr() + i, &v, 4);
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return len;
}

// ---- Register semantics (11.4) ----

std::uint32_t VtdRegs::fsts() const
{
    std::uint32_t v = m_fsts_w1c;
    for (unsigned i = 0; i < m_nfr; i++)
        if (m_frcd[2 * i + 1] >> 63) {  // PPF: some F bit is set (11.4.9)
            v |= IMS_VTD_FSTS_PPF | static_cast<std::uint32_t>(m_fri) << IMS_VTD_FSTS_FRI_SHIFT;
            break;
        }
    return v;
}

std::uint32_t VtdRegs::read32(unsigned off, Cycles t) const
{
    if (off >= IMS_VTD_FRO_OFFSET) {
        const unsigned r = (off - IMS_VTD_FRO_OFFSET) / 16, w = (off - IMS_VTD_FRO_OFFSET) % 16;
        return r < m_nfr ? half(m_frcd[2 * r + w / 8], w) : 0;
    }
    switch (off & ~7u) {
    case IMS_VTD_CAP:
        return half(m_cap, off);
    case IMS_VTD_ECAP:
        return half(m_ecap, off);
    case IMS_VTD_RTADDR:
        return half(m_rtaddr, off);
    case IMS_VTD_CCMD:
        // ICC stays set until the invalidation completes (software polls it).
        return half(m_ccmd | (t < m_ccmd_done ? IMS_VTD_CCMD_ICC : 0), off);
    case IMS_VTD_IQH:
        return half(m_iqh, off);
    case IMS_VTD_IQT:
        return half(m_iqt, off);
    case IMS_VTD_IQA:
        return half(m_iqa, off);
    case IMS_VTD_IRO_OFFSET:
        return half(m_iva, off);
    case IMS_VTD_IRO_OFFSET + 8:
        return half(m_iotlb | (t < m_iotlb_done ? IMS_VTD_IOTLB_IVT : 0), off);
    default:
        break;
    }
    switch (off) {
    case IMS_VTD_VER:
        return IMS_VTD_VERSION;
    case IMS_VTD_GSTS:
        return m_gsts;
    case IMS_VTD_FSTS:
        return fsts();
    case IMS_VTD_FECTL:
        return m_fectl;
    case IMS_VTD_FEDATA:
        return m_fedata;
    case IMS_VTD_FEADDR:
        return m_feaddr;
    case IMS_VTD_FEUADDR:
        return m_feuaddr;
    case IMS_VTD_ICS:
        return m_ics;
    case IMS_VTD_IECTL:
        return m_iectl;
    case IMS_VTD_IEDATA:
        return m_iedata;
    case IMS_VTD_IEADDR:
        return m_ieaddr;
    case IMS_VTD_IEUADDR:
        return m_ieuaddr;
    default:
        return 0;  // GCMD (write-only) and every register not modelled
    }
}

void VtdRegs::write32(unsigned off, std::uint32_t v, Cycles t)
{
    if (off >= IMS_VTD_FRO_OFFSET) {
        // Only F (bit 127, in the record's last dword) is writable: RW1C (11.4.14).
        const unsigned r = (off - IMS_VTD_FRO_OFFSET) / 16, w = (off - IMS_VTD_FRO_OFFSET) % 16;
        if (r < m_nfr && w == 12 && (v >> 31))
            m_frcd[2 * r + 1] &= ~(UINT64_C(1) << 63);
        if (!(fsts() & kFaultEventBits))
            m_fectl &= ~IMS_VTD_ECTL_IP;  // every condition serviced: nothing pending (11.4.10)
        update_irq();
        return;
    }
    const bool qi = m_gsts & IMS_VTD_GCMD_QIE;
    switch (off) {
    case IMS_VTD_GCMD:
        gcmd(v, t);
        break;
    case IMS_VTD_RTADDR:
        m_rtaddr = set_lo(m_rtaddr, v & kRtaLoMask);  // TTM takes effect at SRTP
        break;
    case IMS_VTD_RTADDR + 4:
        m_rtaddr = set_hi(m_rtaddr, v);
        break;
    // Register-based invalidation while queued invalidation is enabled is
    // not allowed (6.5.2): such writes are ignored.
    case IMS_VTD_CCMD:
        if (!qi)
            m_ccmd = set_lo(m_ccmd, v);
        break;
    case IMS_VTD_CCMD + 4:
        if (qi)
            break;
        m_ccmd = set_hi(m_ccmd, (v & kCcmdHiMask) | (half(m_ccmd, 4) & ~kCcmdHiMask));
        if (v >> 31)
            ccmd_issue(t);
        break;
    case IMS_VTD_IRO_OFFSET:
        if (!qi)
            m_iva = set_lo(m_iva, v & kIvaLoMask);
        break;
    case IMS_VTD_IRO_OFFSET + 4:
        if (!qi)
            m_iva = set_hi(m_iva, v);
        break;
    case IMS_VTD_IRO_OFFSET + 12:
        if (qi)
            break;
        m_iotlb = set_hi(m_iotlb, (v & kIotlbHiMask) | (half(m_iotlb, 4) & ~kIotlbHiMask));
        if (v >> 31)
            iotlb_issue(t);
        break;
    case IMS_VTD_FSTS: {
        // PFO, IQE and ITE are RW1C; PPF and FRI are read-only (11.4.9).
        // Clearing IQE (ITE) lets the queue go on from the descriptor IQH
        // points to, once neither is set.
        const std::uint32_t stop = IMS_VTD_FSTS_IQE | kFstsIte;
        const bool stopped = m_fsts_w1c & stop;
        m_fsts_w1c &= ~(v & (IMS_VTD_FSTS_PFO | stop));
        if (!(fsts() & kFaultEventBits))
            m_fectl &= ~IMS_VTD_ECTL_IP;
        update_irq();
        if (stopped && !(m_fsts_w1c & stop))
            process_queue(t);
        break;
    }
    case IMS_VTD_FECTL:
        m_fectl = (m_fectl & ~IMS_VTD_ECTL_IM) | (v & IMS_VTD_ECTL_IM);
        if (!(m_fectl & IMS_VTD_ECTL_IM) && (m_fectl & IMS_VTD_ECTL_IP)) {
            m_fectl &= ~IMS_VTD_ECTL_IP;  // unmasked with an interrupt pending: it goes now (11.4.10)
            send_msi(m_fedata, m_feaddr, m_feuaddr, t);
        }
        update_irq();
        break;
    case IMS_VTD_FEDATA:
        m_fedata = v & kDataMask;
        break;
    case IMS_VTD_FEADDR:
        m_feaddr = v & kAddrMask;
        break;
    case IMS_VTD_FEUADDR:
        m_feuaddr = v;
        break;
    case IMS_VTD_IQT:
        m_iqt = v & IMS_VTD_IQ_QH_MASK;
        process_queue(t);
        break;
    case IMS_VTD_IQA:
        m_iqa = set_lo(m_iqa, v & (kIqaLoMask | (m_smts ? kIqaDw : 0)));
        break;
    case IMS_VTD_IQA + 4:
        m_iqa = set_hi(m_iqa, v);
        break;
    case IMS_VTD_ICS:
        if (v & IMS_VTD_ICS_IWC) {
            m_ics &= ~IMS_VTD_ICS_IWC;  // RW1C; a pending masked interrupt goes with it (11.4.17)
            m_iectl &= ~IMS_VTD_ECTL_IP;
            update_irq();
        }
        break;
    case IMS_VTD_IECTL:
        m_iectl = (m_iectl & ~IMS_VTD_ECTL_IM) | (v & IMS_VTD_ECTL_IM);
        if (!(m_iectl & IMS_VTD_ECTL_IM) && (m_iectl & IMS_VTD_ECTL_IP)) {
            m_iectl &= ~IMS_VTD_ECTL_IP;
            send_msi(m_iedata, m_ieaddr, m_ieuaddr, t);
        }
        update_irq();
        break;
    case IMS_VTD_IEDATA:
        m_iedata = v & kDataMask;
        break;
    case IMS_VTD_IEADDR:
        m_ieaddr = v & kAddrMask;
        break;
    case IMS_VTD_IEUADDR:
        m_ieuaddr = v;
        break;
    default:
        break;  // read-only, reserved, or not modelled: ignored
    }
}

// GCMD (11.4.4): TE and QIE are levels compared with GSTS; SRTP is a one-shot.
// Software changes one field per write; a write changing several is applied
// SRTP, QIE, TE in that order. WBF, SFL, EAFL, IRE, SIRTP and CFI are not
// modelled (their capabilities are not reported) and ignored.
//
// SRTP latches RTADDR: the root table and the translation-table mode TTM
// (11.4.6): 00b legacy, 01b scalable (with ECAP.SMTS). The core switches to
// that mode (ims_iommu_set_scalable: a change of mode empties its caches).
// A TTM the unit does not support (01b without SMTS; 10b, reserved; 11b,
// abort-DMA mode, which needs ECAP.ADMS, not reported) is refused: the
// write clears RTPS and the operation never completes (RTPS stays 0),
// the root table and mode in use stay (counted: stats().srtp_refused). The
// spec leaves programming a reserved value undefined; this is the model's
// choice, so that a driver polling RTPS sees it fail.
void VtdRegs::gcmd(std::uint32_t v, Cycles t)
{
    if (v & IMS_VTD_GCMD_SRTP) {
        const unsigned ttm = (m_rtaddr >> kTtmShift) & 3;
        if (ttm == kTtmLegacy || (ttm == kTtmScalable && m_smts)) {
            m_iommu.set_root_table(m_rtaddr & ~UINT64_C(0xfff));
            m_sm = ttm == kTtmScalable;
            if (m_iommu.core())
                ims_iommu_set_scalable(m_iommu.core(), m_sm);
            m_gsts |= IMS_VTD_GCMD_SRTP;  // RTPS
        } else {
            m_gsts &= ~IMS_VTD_GCMD_SRTP;
            m_st.srtp_refused++;
        }
    }
    const bool qie = v & IMS_VTD_GCMD_QIE;
    if (qie && !(m_gsts & IMS_VTD_GCMD_QIE)) {
        m_iqh = 0;  // the queue starts at its base
        m_gsts |= IMS_VTD_GCMD_QIE;
        process_queue(t);
    } else if (!qie && (m_gsts & IMS_VTD_GCMD_QIE)) {
        // Disabling needs an empty queue (6.5.2); otherwise QIES stays set.
        if (m_iqh == m_iqt) {
            m_gsts &= ~IMS_VTD_GCMD_QIE;
            m_iqh = 0;
        }
    }
    const bool te = v & IMS_VTD_GCMD_TE;
    if (te != static_cast<bool>(m_gsts & IMS_VTD_GCMD_TE)) {
        m_gsts ^= IMS_VTD_GCMD_TE;
        m_iommu.set_translation_enabled(te);
    }
}

namespace {
// Requested granularity field -> the core's (context: 1 global, 2 domain,
// 3 device; IOTLB: 1 global, 2 domain, 3 page). 0 is reserved: none.
ims_inv_gran ctx_gran(unsigned g) { return static_cast<ims_inv_gran>(g); }
ims_inv_gran iotlb_gran(unsigned g) { return g == 3 ? IMS_INV_PAGE : static_cast<ims_inv_gran>(g); }
}  // namespace

// CCMD with ICC (11.4.7): done at once in the core, ICC reads 1 until the
// invalidation's timed completion; CAIG reports the granularity performed
// (the one asked: the model performs each exactly; 0 for the reserved 0).
void VtdRegs::ccmd_issue(Cycles t)
{
    const unsigned cirg = (m_ccmd >> IMS_VTD_CCMD_CIRG_SHIFT) & 3;
    m_ccmd &= ~(UINT64_C(3) << IMS_VTD_CCMD_CAIG_SHIFT);
    if (cirg == 0)
        return;
    const auto did = static_cast<std::uint16_t>(m_ccmd), sid = static_cast<std::uint16_t>(m_ccmd >> 16);
    const auto fm = static_cast<std::uint8_t>((m_ccmd >> 32) & 3);
    m_ccmd_done = m_iommu.invalidate_context(t, ctx_gran(cirg), did, sid, fm);
    m_ccmd |= std::uint64_t{cirg} << IMS_VTD_CCMD_CAIG_SHIFT;
}

// IOTLB with IVT (11.4.8): IVA gives ADDR, AM and IH for page-selective.
void VtdRegs::iotlb_issue(Cycles t)
{
    const unsigned iirg = (m_iotlb >> IMS_VTD_IOTLB_IIRG_SHIFT) & 3;
    m_iotlb &= ~(UINT64_C(3) << IMS_VTD_IOTLB_IAIG_SHIFT);
    if (iirg == 0)
        return;
    const auto did = static_cast<std::uint16_t>(m_iotlb >> 32);
    const std::uint64_t addr = m_iva & ~UINT64_C(0xfff);
    const auto am = static_cast<std::uint8_t>(m_iva & 0x3f);
    m_iotlb_done = m_iommu.invalidate_iotlb(t, iotlb_gran(iirg), did, addr, am, m_iva & IMS_VTD_IVA_IH);
    m_iotlb |= std::uint64_t{iirg} << IMS_VTD_IOTLB_IAIG_SHIFT;
}

// ---- Queued invalidation (6.5.2) ----

// Fetches and runs the descriptors from IQH up to IQT, one read each on
// `mem` (16 bytes; 32 with IQA.DW, scalable mode's 256-bit descriptors), in
// order: a fetch starts when the one before has arrived. An invalidation is
// timed from its fetch (Iommu::invalidate_*: inv.latency, inv.policy); a
// wait descriptor completes when every descriptor before it has (6.5.2.8).
// A bad descriptor, IQT beyond the queue, or (DW) IQT not 32-byte aligned
// sets FSTS.IQE and stops the queue with IQH at that descriptor; a
// device-TLB invalidation the device side never completes sets FSTS.ITE and
// stops it with IQH after that descriptor (6.5.2.10). Clearing the bit
// restarts it.
void VtdRegs::process_queue(Cycles t)
{
    if (!(m_gsts & IMS_VTD_GCMD_QIE) || (m_fsts_w1c & (IMS_VTD_FSTS_IQE | kFstsIte)))
        return;
    const std::uint64_t qbytes = IMS_PAGE_SIZE << (m_iqa & IMS_VTD_IQA_QS_MASK);
    const std::uint64_t qbase = m_iqa & ~UINT64_C(0xfff);
    const bool wide = m_iqa & kIqaDw;
    const unsigned dsz = wide ? 32 : 16;
    Cycles cur = t, last = t;
    while (m_iqh != m_iqt) {
        Desc r = Desc::iqe;
        if (m_iqt < qbytes && !(wide && (m_iqt & 16))) {
            std::uint64_t d[4] = {0, 0, 0, 0};
            cur = m_iommu.mem_read(cur, qbase + m_iqh, d, dsz);
            r = descriptor(d, cur, &last);
        }
        if (r == Desc::iqe) {
            const std::uint32_t before = fsts();
            m_fsts_w1c |= IMS_VTD_FSTS_IQE;
            m_st.queue_errors++;
            fault_event(before, cur);
            return;
        }
        m_st.descriptors++;
        m_iqh = (m_iqh + dsz) % qbytes;
        if (r == Desc::ite) {
            const std::uint32_t before = fsts();
            m_fsts_w1c |= kFstsIte;
            fault_event(before, cur);
            return;
        }
    }
}

namespace {
// Granularity fields of the PASID-based descriptors -> the core's.
// PASID-based IOTLB G (6.5.2.4): 00b PASID-selective (non-global entries of
// the PASID), 01b page-selective-within-PASID; 1xb reserved.
bool piotlb_gran(unsigned g, ims_pinv_gran *out)
{
    if (g > 1)
        return false;
    *out = g == 0 ? IMS_PINV_PASID : IMS_PINV_PAGE;
    return true;
}
// PASID-cache G (6.5.2.5): 00b domain-selective, 01b PASID-selective,
// 10b reserved, 11b global.
bool pasid_cache_gran(unsigned g, ims_pinv_gran *out)
{
    static const ims_pinv_gran map[4] = {IMS_PINV_DOMAIN, IMS_PINV_PASID, IMS_PINV_DOMAIN, IMS_PINV_GLOBAL};
    if (g == 2)
        return false;
    *out = map[g];
    return true;
}
}  // namespace

// Runs one descriptor fetched at cycle `fetched`; *last: the latest
// completion so far. Desc::iqe for a descriptor the unit refuses (6.5.2.10):
// an unknown type or one not valid in the current mode (PASID-based types
// 6, 7, 8 in legacy mode; device-TLB types 3 and 8 without ECAP.DT), a
// reserved granularity, reserved bits set (with IQA.DW, the upper 128 bits
// of these 128-bit descriptors too). Desc::ite: a device-TLB invalidation
// timed out. In scalable mode types 1 and 2 keep their format; the core
// gives them their scalable-mode meaning (iommu.h, "Scalable mode").
VtdRegs::Desc VtdRegs::descriptor(const std::uint64_t d[4], Cycles fetched, Cycles *last)
{
    const unsigned g = (d[0] >> 4) & 3;
    if (d[2] || d[3])
        return Desc::iqe;  // read only with DW: bits 255:128 of a 128-bit descriptor are reserved
    switch (d[0] & 0xf) {
    case IMS_VTD_DESC_CC: {
        if ((d[0] & IMS_VTD_DESC_CC_RSVD_LO) || d[1] || g == 0)
            return Desc::iqe;
        const auto did = static_cast<std::uint16_t>(d[0] >> 16), sid = static_cast<std::uint16_t>(d[0] >> 32);
        const auto fm = static_cast<std::uint8_t>((d[0] >> 48) & 3);
        *last = std::max(*last, m_iommu.invalidate_context(fetched, ctx_gran(g), did, sid, fm));
        return Desc::ok;
    }
    case IMS_VTD_DESC_IOTLB: {
        if ((d[0] & IMS_VTD_DESC_IOTLB_RSVD_LO) || (d[1] & IMS_VTD_DESC_IOTLB_RSVD_HI) || g == 0)
            return Desc::iqe;
        const auto did = static_cast<std::uint16_t>(d[0] >> 16);
        const auto am = static_cast<std::uint8_t>(d[1] & 0x3f);
        *last = std::max(*last, m_iommu.invalidate_iotlb(fetched, iotlb_gran(g), did, d[1] & ~UINT64_C(0xfff), am,
                                                         d[1] & IMS_VTD_IVA_IH));
        return Desc::ok;
    }
    case IMS_VTD_DESC_DEVTLB:
    case kDescPdevtlb:
        return devtlb(d, fetched, last);
    case IMS_VTD_DESC_IEC:  // no interrupt remapping is modelled
        *last = std::max(*last, fetched);
        return Desc::ok;
    case IMS_VTD_DESC_WAIT: {
        if ((d[0] & IMS_VTD_DESC_WAIT_RSVD_LO) || (d[1] & IMS_VTD_DESC_WAIT_RSVD_HI))
            return Desc::iqe;
        const Cycles at = std::max(*last, fetched);
        *last = at;
        wait_done(at, d[0] & IMS_VTD_DESC_WAIT_SW, d[0] & IMS_VTD_DESC_WAIT_IF, d[1] & ~UINT64_C(3),
                  static_cast<std::uint32_t>(d[0] >> 32));
        return Desc::ok;
    }
    case kDescPiotlb: {
        // PASID-based IOTLB (6.5.2.4): DID [31:16], PASID [51:32], G [5:4];
        // ADDR [127:76], IH [70], AM [69:64] (page-selective only).
        ims_pinv_gran pg;
        if (!m_sm || (d[0] & kPiotlbRsvdLo) || (d[1] & kPiotlbRsvdHi) || !piotlb_gran(g, &pg))
            return Desc::iqe;
        const auto did = static_cast<std::uint16_t>(d[0] >> 16);
        const auto pasid = static_cast<std::uint32_t>((d[0] >> 32) & 0xfffff);
        const auto am = static_cast<std::uint8_t>(d[1] & 0x3f);
        *last = std::max(*last, m_iommu.invalidate_piotlb(fetched, pg, did, pasid, d[1] & ~UINT64_C(0xfff), am,
                                                          d[1] & IMS_VTD_IVA_IH));
        return Desc::ok;
    }
    case kDescPasidCache: {
        // PASID cache (6.5.2.5): DID [31:16], PASID [51:32], G [5:4]; the upper word reserved.
        ims_pinv_gran pg;
        if (!m_sm || (d[0] & kPcRsvdLo) || d[1] || !pasid_cache_gran(g, &pg))
            return Desc::iqe;
        const auto did = static_cast<std::uint16_t>(d[0] >> 16);
        const auto pasid = static_cast<std::uint32_t>((d[0] >> 32) & 0xfffff);
        *last = std::max(*last, m_iommu.invalidate_pasid_cache(fetched, pg, did, pasid));
        return Desc::ok;
    }
    default:
        return Desc::iqe;  // 0, page group response (9: PRS is not reported) and others
    }
}

// Device-TLB invalidations: type 3 (6.5.2.6: SID [47:32], MIP [20:16],
// PFSID [15:12] and [63:52]; S [64], ADDR [127:76]) and, in scalable mode,
// type 8 (6.5.2.7: SID [31:16], PASID [51:32], MIP [8:4], PFSID as type 3;
// G [64], S [75], ADDR [127:76]). The IOMMU holds no device TLB: each is
// handed to the device side if one is attached (set_devtlb_sink) and
// completes when it answers; without one, when fetched.
VtdRegs::Desc VtdRegs::devtlb(const std::uint64_t d[4], Cycles fetched, Cycles *last)
{
    const bool pasid_based = (d[0] & 0xf) == kDescPdevtlb;
    if (!(m_ecap & (UINT64_C(1) << 2)))  // ECAP.DT
        return Desc::iqe;
    DevTlbInv inv;
    inv.pfsid = static_cast<std::uint16_t>(((d[0] >> 12) & 0xf) | ((d[0] >> 52) & 0xfff) << 4);
    inv.addr = d[1] & ~UINT64_C(0xfff);
    if (pasid_based) {
        if (!m_sm || (d[0] & kPdevtlbRsvdLo) || (d[1] & kPdevtlbRsvdHi))
            return Desc::iqe;
        inv.sid = static_cast<std::uint16_t>(d[0] >> 16);
        inv.mip = static_cast<std::uint8_t>((d[0] >> 4) & 0x1f);
        inv.global = d[1] & 1;
        inv.pasid = static_cast<std::uint32_t>((d[0] >> 32) & 0xfffff);
        inv.size = (d[1] >> 11) & 1;
    } else {
        if ((d[0] & kDevtlbRsvdLo) || (d[1] & kDevtlbRsvdHi))
            return Desc::iqe;
        inv.sid = static_cast<std::uint16_t>(d[0] >> 32);
        inv.mip = static_cast<std::uint8_t>((d[0] >> 16) & 0x1f);
        inv.size = d[1] & 1;
    }
    m_st.devtlb++;
    Cycles done = fetched;
    if (m_devtlb) {
        const Cycles c = m_devtlb->on_devtlb_inv(inv, fetched);
        if (c == DevTlbSink::kTimedOut) {
            m_st.devtlb_timeouts++;
            return Desc::ite;
        }
        done = std::max(done, c);
    }
    *last = std::max(*last, done);
    return Desc::ok;
}

// A wait descriptor's status write (SW) and interrupt (IF) happen at its
// completion cycle: now, or later from the deferred thread, so that software
// polling the status sees it when the hardware would write it.
void VtdRegs::wait_done(Cycles at, bool sw, bool intr, std::uint64_t pa, std::uint32_t data)
{
    if (!sw && !intr)
        return;
    m_pending.emplace(at, Pending{sw, intr, pa, data});
    m_wake.notify(sc_core::SC_ZERO_TIME);
}

void VtdRegs::deferred()
{
    for (;;) {
        if (m_pending.empty()) {
            sc_core::wait(m_wake);
            continue;
        }
        const Cycles now = m_clk.to_cycles(m_clk.now());
        const auto it = m_pending.begin();
        if (it->first > now) {
            sc_core::wait(m_clk.to_time(it->first - now), m_wake);
            continue;
        }
        const Pending p = it->second;
        m_pending.erase(it);
        if (p.sw)
            m_iommu.mem_write(now, p.pa, &p.data, 4);
        if (p.intr && !(m_ics & IMS_VTD_ICS_IWC)) {
            // IWC 0 -> 1 raises an invalidation event (6.5.2.8, 11.4.17).
            m_ics |= IMS_VTD_ICS_IWC;
            if (m_iectl & IMS_VTD_ECTL_IM)
                m_iectl |= IMS_VTD_ECTL_IP;
            else
                send_msi(m_iedata, m_ieaddr, m_ieuaddr, now);
            update_irq();
        }
    }
}

// ---- Fault recording (7.3.1) and events (7.4) ----

// A fault the Iommu reports: recorded at the next fault-recording register
// unless PFO is set or that register still holds a fault (then PFO is set
// and the fault is lost, counted).
void VtdRegs::on_fault(const ims_req &req, const ims_xlate &x, Cycles t)
{
    const std::uint32_t before = fsts();
    if (m_fsts_w1c & IMS_VTD_FSTS_PFO) {
        m_st.faults_lost++;
        return;
    }
    std::uint64_t *r = &m_frcd[2 * m_next];
    if (r[1] >> 63) {
        m_fsts_w1c |= IMS_VTD_FSTS_PFO;
        m_st.faults_lost++;
        fault_event(before, t);
        return;
    }
    // Scalable mode: a request with a PASID records it (PP, PV; 11.4.14).
    const bool pp = m_sm && req.pasid != IMS_NO_PASID;
    const ims_fault_record rec = {
        req.iova & ~(IMS_PAGE_SIZE - 1), req.rid, x.fault, req.access != IMS_PERM_W, req.at, pp, pp ? req.pasid : 0,
    };
    ims_fault_record_encode(&rec, r);
    if (!(before & IMS_VTD_FSTS_PPF))
        m_fri = m_next;  // FRI: the first pending record (11.4.9)
    m_next = (m_next + 1) % m_nfr;
    m_st.faults_recorded++;
    fault_event(before, t);
}

// A fault event is raised when a status condition appears with none pending
// before (11.4.10): sent as FEDATA to FEUADDR:FEADDR unless FECTL.IM is set,
// then FECTL.IP is set instead.
void VtdRegs::fault_event(std::uint32_t before, Cycles t)
{
    if ((before & kFaultEventBits) || !(fsts() & kFaultEventBits) || (m_fectl & IMS_VTD_ECTL_IP))
        return;
    if (m_fectl & IMS_VTD_ECTL_IM)
        m_fectl |= IMS_VTD_ECTL_IP;
    else
        send_msi(m_fedata, m_feaddr, m_feuaddr, t);
    update_irq();
}

// An interrupt message: a 32-bit memory write of the data register to the
// address registers, through the Iommu's `mem` socket (7.4).
void VtdRegs::send_msi(std::uint32_t data, std::uint32_t addr, std::uint32_t uaddr, Cycles t)
{
    m_iommu.mem_write(t, std::uint64_t{uaddr} << 32 | addr, &data, 4);
    m_st.interrupts++;
}

void VtdRegs::update_irq() { irq_pending.write(((m_fectl | m_iectl) & IMS_VTD_ECTL_IP) != 0); }

}  // namespace ims
