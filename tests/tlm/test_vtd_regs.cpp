// The VT-d register file (iommusim/vtd_regs.hpp) driven as a driver would:
// a small SystemC platform (its own memory, a data sink that remembers
// addresses, the IOMMU with its register file) and a driver thread that
// writes tables into memory and programs the registers over the `regs`
// socket. Each case runs one simulation (Check forks a process per case);
// expected values are worked out in the comments.
#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "iommusim/tb.h"
#include "iommusim/tlm.hpp"
#include "iommusim/vtd_regs.hpp"
#include "kernel_check.hpp"
#include "vtd_tb.hpp"
// Check last: its fail() macro clashes with <ios>.
#include <check.h>
#include "ims_check.h"

namespace {

using Cycles = ims::Cycles;

using vtdtb::kCtx;
using vtdtb::kDid;
using vtdtb::kRid;
using vtdtb::kRoot;
using vtdtb::Sink;
constexpr std::uint64_t kBase = ims::VtdRegs::kDefaultBase;
constexpr std::uint64_t kIq = 0x200000, kStatus = 0x300000, kMsi = 0xfee01000, kIeMsi = 0xfee02000;

// Sits between the IOMMU's `mem` socket and the memory and counts the
// writes that arrive by b_transport, per address: what a platform's
// interrupt controller acts on (a debug-transport write has no effects,
// IEEE 1666-2011 11.3, so it must not carry an interrupt message).
struct Tap : sc_core::sc_module {
    void b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &d)
    {
        if (t.is_write())
            writes[t.get_address()]++;
        out->b_transport(t, d);
    }
    unsigned transport_dbg(tlm::tlm_generic_payload &t) { return out->transport_dbg(t); }
    ims::TargetSocket<Tap, &Tap::b_transport, &Tap::transport_dbg> tsock;
    tlm_utils::simple_initiator_socket<Tap> out;
    std::map<std::uint64_t, unsigned> writes;
    explicit Tap(sc_core::sc_module_name n) : sc_module(n), tsock("tsock", *this), out("out") {}
};

struct Tb;
using Body = std::function<void(Tb &)>;

struct Tb : sc_core::sc_module {
    ims_sim_cfg cfg;
    ims::Clock clk;
    ims_mem *mem;
    ims::Memory memory;
    Tap tap;
    Sink sink;
    ims::Iommu iommu;
    ims::VtdRegs vtd;
    ims_iommu *core = nullptr;
    tlm_utils::simple_initiator_socket<Tb> mmio, dma, ats;
    Body body;
    bool finished = false;

    SC_HAS_PROCESS(Tb);
    Tb(sc_core::sc_module_name n, const ims_sim_cfg &c, Body b)
        : sc_module(n), cfg(c), clk(cfg.clock_mhz), mem(ims_mem_create()), memory("memory", cfg, clk),
          tap("tap"), sink("sink"), iommu("iommu", cfg, clk), vtd("vtd", iommu, cfg), mmio("mmio"), dma("dma"), ats("ats"),
          body(std::move(b))
    {
        char err[256];
        core = ims_iommu_create(&cfg.iommu, &ims::Iommu::kMemOps, &iommu, err, sizeof err);
        ck_assert_msg(core != nullptr, "core: %s", err);
        iommu.bind_core(core);
        memory.bind_backing(mem);
        iommu.mem.bind(tap.tsock);
        tap.out.bind(memory.tsock);
        iommu.dma_out.bind(sink.tsock);
        dma.bind(iommu.dma_in);
        ats.bind(iommu.ats_in);
        mmio.bind(vtd.regs);
        vtdtb::build_tables(mem);
        SC_THREAD(run);
    }
    ~Tb() override
    {
        ims_iommu_destroy(core);
        memory.bind_backing(nullptr);
        ims_mem_destroy(mem);
    }
    void run()
    {
        body(*this);
        finished = true;
        ims::park_thread();
    }

    void map(std::uint64_t iova, std::uint64_t pa) { vtdtb::map(mem, iova, pa); }

    // One MMIO access; returns the response status.
    tlm::tlm_response_status access(tlm::tlm_command cmd, std::uint64_t addr, unsigned len, void *data,
                                    unsigned char *be = nullptr, unsigned sw = 0)
    {
        return vtdtb::mmio_access(mmio, cmd, addr, len, data, be, sw);
    }
    std::uint32_t r32(unsigned off)
    {
        std::uint32_t v = 0xdeadbeef;
        ck_assert_int_eq(access(tlm::TLM_READ_COMMAND, kBase + off, 4, &v), tlm::TLM_OK_RESPONSE);
        return v;
    }
    std::uint64_t r64(unsigned off)
    {
        std::uint64_t v = 0xdeadbeef;
        ck_assert_int_eq(access(tlm::TLM_READ_COMMAND, kBase + off, 8, &v), tlm::TLM_OK_RESPONSE);
        return v;
    }
    void w32(unsigned off, std::uint32_t v)
    {
        ck_assert_int_eq(access(tlm::TLM_WRITE_COMMAND, kBase + off, 4, &v), tlm::TLM_OK_RESPONSE);
    }
    void w64(unsigned off, std::uint64_t v)
    {
        ck_assert_int_eq(access(tlm::TLM_WRITE_COMMAND, kBase + off, 8, &v), tlm::TLM_OK_RESPONSE);
    }
    // A device read of 64 bytes at iova; returns the response; the sink's `last` has the address.
    tlm::tlm_response_status dma_read(std::uint64_t iova, std::uint16_t rid = kRid)
    {
        return vtdtb::dma_read(dma, iova, rid);
    }
    Cycles now() const { return clk.to_cycles(sc_core::sc_time_stamp()); }
    void wait_cycles(Cycles n) { sc_core::wait(clk.to_time(n)); }
    // The driver's enable sequence: root table, then translation (each
    // command waits for its status bit, as Linux does).
    void enable()
    {
        w64(IMS_VTD_RTADDR, kRoot);
        w32(IMS_VTD_GCMD, IMS_VTD_GCMD_SRTP);
        ck_assert(r32(IMS_VTD_GSTS) & IMS_VTD_GCMD_SRTP);
        w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE);
        ck_assert(r32(IMS_VTD_GSTS) & IMS_VTD_GCMD_TE);
    }
};

ims_sim_cfg base_cfg()
{
    ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    return c;
}

void simulate(const ims_sim_cfg &cfg, Body body)
{
    Tb tb("tb", cfg, std::move(body));
    kcheck::run();
    ck_assert_msg(tb.finished, "the driver thread did not finish");
}

// Two 64-bit words of a descriptor into the queue at slot i.
void put_desc(Tb &tb, unsigned i, std::uint64_t lo, std::uint64_t hi)
{
    ims_mem_write64(tb.mem, kIq + 16u * i, lo);
    ims_mem_write64(tb.mem, kIq + 16u * i + 8, hi);
}
std::uint64_t wait_desc(bool sw, bool intr, std::uint32_t data)
{
    return IMS_VTD_DESC_WAIT | (sw ? IMS_VTD_DESC_WAIT_SW : 0) | (intr ? IMS_VTD_DESC_WAIT_IF : 0) |
           std::uint64_t{data} << 32;
}
// Global IOTLB invalidation descriptor (G = 1).
constexpr std::uint64_t kIotlbGlobal = IMS_VTD_DESC_IOTLB | (1u << 4);

}  // namespace

// Reset values (11.4): VER 1.0; CAP and ECAP from caps.* (CAP as
// ims_caps_cap_reg encodes it, with NFR = caps.nfr - 1 and FRO = 0x22;
// ECAP with QI, IRO = 0xf, PT, DT); every status and command register 0;
// both event control registers masked (IM = 1); registers not modelled 0.
START_TEST(reset_values)
{
    ims_sim_cfg cfg = base_cfg();
    cfg.iommu.caps.nfr = 8;
    cfg.iommu.caps.cm = true;
    simulate(cfg, [](Tb &tb) {
        ck_assert_uint_eq(tb.r32(IMS_VTD_VER), 0x10);
        const std::uint64_t cap = tb.r64(IMS_VTD_CAP);
        ck_assert_uint_eq(cap, ims_caps_cap_reg(&tb.cfg.iommu.caps));
        ck_assert_uint_eq((cap >> 40) & 0xff, 7);     // NFR: 8 records
        ck_assert_uint_eq((cap >> 24) & 0x3ff, 0x22); // FRO: 0x220
        ck_assert_uint_eq((cap >> 7) & 1, 1);         // CM from caps.caching_mode
        ck_assert_uint_eq((cap >> 8) & 0x1f, IMS_SAGAW_39 | IMS_SAGAW_48);
        ck_assert_uint_eq((cap >> 16) & 0x3f, 47);    // MGAW 48
        // Two 32-bit reads give the same value as one 64-bit read.
        ck_assert_uint_eq(tb.r32(IMS_VTD_CAP) | std::uint64_t{tb.r32(IMS_VTD_CAP + 4)} << 32, cap);
        const std::uint64_t ecap = tb.r64(IMS_VTD_ECAP);
        ck_assert_uint_eq((ecap >> 1) & 1, 1);        // QI
        ck_assert_uint_eq((ecap >> 8) & 0x3ff, 0xf);  // IRO: 0xf0
        ck_assert_uint_eq((ecap >> 2) & 1, 1);        // DT
        ck_assert_uint_eq((ecap >> 6) & 1, 1);        // PT
        ck_assert_uint_eq((ecap >> 3) & 1, 0);        // IR: not modelled
        ck_assert_uint_eq((ecap >> 30) & 3, 0);       // ERS, SRS: scalable mode only
        for (unsigned off : {IMS_VTD_GCMD, IMS_VTD_GSTS, IMS_VTD_FSTS, IMS_VTD_ICS, IMS_VTD_FEDATA, IMS_VTD_FEADDR})
            ck_assert_uint_eq(tb.r32(off), 0);
        for (unsigned off : {IMS_VTD_RTADDR, IMS_VTD_CCMD, IMS_VTD_IQH, IMS_VTD_IQT, IMS_VTD_IQA, IMS_VTD_IRO_OFFSET,
                             IMS_VTD_IRO_OFFSET + 8})
            ck_assert_uint_eq(tb.r64(off), 0);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FECTL), IMS_VTD_ECTL_IM);
        ck_assert_uint_eq(tb.r32(IMS_VTD_IECTL), IMS_VTD_ECTL_IM);
        // Not modelled: AFLOG 0x58, PMEN 0x64, IRTA 0xb8, PQH 0xc0, MTRRCAP 0x100.
        ck_assert_uint_eq(tb.r32(0x64), 0);
        for (unsigned off : {0x58u, 0xb8u, 0xc0u, 0x100u})
            ck_assert_uint_eq(tb.r64(off), 0);
        // The window: 0x220 + 8 * 16 bytes, one 4 KiB page; fault records 0..7 read 0.
        ck_assert_uint_eq(tb.vtd.size(), 0x1000);
        for (unsigned i = 0; i < 8; i++)
            ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 16 * i + 8), 0);
        std::uint32_t v;
        ck_assert_int_eq(tb.access(tlm::TLM_READ_COMMAND, kBase + 0x1000, 4, &v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_int_eq(tb.access(tlm::TLM_READ_COMMAND, kBase - 4, 4, &v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    });
}
END_TEST

// Access rules: 4 or 8 bytes, naturally aligned, streaming width = length,
// no byte enables; anything else is refused and changes nothing. Read-only
// registers ignore writes; reserved bits read 0 whatever is written; a
// register not modelled ignores writes; GCMD reads 0; debug transport reads
// without side effects and refuses writes.
START_TEST(access_rules)
{
    simulate(base_cfg(), [](Tb &tb) {
        std::uint64_t v = 0x1234;
        ck_assert_int_eq(tb.access(tlm::TLM_READ_COMMAND, kBase + IMS_VTD_CAP, 2, &v), tlm::TLM_BURST_ERROR_RESPONSE);
        ck_assert_int_eq(tb.access(tlm::TLM_READ_COMMAND, kBase + IMS_VTD_CAP, 1, &v), tlm::TLM_BURST_ERROR_RESPONSE);
        unsigned char big[16] = {};
        ck_assert_int_eq(tb.access(tlm::TLM_READ_COMMAND, kBase + IMS_VTD_CAP, 16, big), tlm::TLM_BURST_ERROR_RESPONSE);
        // 8 bytes at 0x0c (misaligned) and 4 bytes at 0x0a.
        ck_assert_int_eq(tb.access(tlm::TLM_READ_COMMAND, kBase + 0x0c, 8, &v), tlm::TLM_BURST_ERROR_RESPONSE);
        ck_assert_int_eq(tb.access(tlm::TLM_READ_COMMAND, kBase + 0x0a, 4, &v), tlm::TLM_BURST_ERROR_RESPONSE);
        ck_assert_int_eq(tb.access(tlm::TLM_READ_COMMAND, kBase + IMS_VTD_CAP, 8, &v, nullptr, 4),
                         tlm::TLM_BURST_ERROR_RESPONSE);
        unsigned char be[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
        v = 0x1000;
        ck_assert_int_eq(tb.access(tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_RTADDR, 8, &v, be),
                         tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        ck_assert_uint_eq(tb.r64(IMS_VTD_RTADDR), 0);  // refused: nothing written
        // Read-only: VER, CAP, ECAP, GSTS, IQH.
        const std::uint64_t cap = tb.r64(IMS_VTD_CAP), ecap = tb.r64(IMS_VTD_ECAP);
        tb.w32(IMS_VTD_VER, 0xffffffff);
        tb.w64(IMS_VTD_CAP, ~UINT64_C(0));
        tb.w64(IMS_VTD_ECAP, 0);
        tb.w32(IMS_VTD_GSTS, 0xffffffff);
        tb.w64(IMS_VTD_IQH, 0x7fff0);
        ck_assert_uint_eq(tb.r32(IMS_VTD_VER), 0x10);
        ck_assert_uint_eq(tb.r64(IMS_VTD_CAP), cap);
        ck_assert_uint_eq(tb.r64(IMS_VTD_ECAP), ecap);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), 0);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 0);
        // Reserved bits: RTADDR [9:0] (TTM [11:10] reads back; SRTP
        // refuses a TTM not supported: sm_ttm_refused), FEADDR [1:0],
        // FEDATA [31:16] (no EIM), IQA [11:3] (DW needs SMTS), IQT outside
        // [18:4], IVA [11:7].
        tb.w64(IMS_VTD_RTADDR, ~UINT64_C(0));
        ck_assert_uint_eq(tb.r64(IMS_VTD_RTADDR), ~UINT64_C(0x3ff));
        tb.w32(IMS_VTD_FEADDR, 0xffffffff);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FEADDR), 0xfffffffc);
        tb.w32(IMS_VTD_FEDATA, 0xffffffff);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FEDATA), 0xffff);
        tb.w64(IMS_VTD_IQA, ~UINT64_C(0));
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQA), ~UINT64_C(0xff8));
        tb.w64(IMS_VTD_IQA, 0);
        tb.w64(IMS_VTD_IQT, ~UINT64_C(0));  // QIE off: stored, nothing fetched
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQT), 0x7fff0);
        tb.w64(IMS_VTD_IQT, 0);
        tb.w64(IMS_VTD_IRO_OFFSET, ~UINT64_C(0));
        ck_assert_uint_eq(tb.r64(IMS_VTD_IRO_OFFSET), ~UINT64_C(0xf80));
        // FECTL: only IM is writable; IP is read-only.
        tb.w32(IMS_VTD_FECTL, 0x7fffffff);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FECTL), 0);
        // RW1C with nothing set stays 0; a register not modelled ignores writes.
        tb.w32(IMS_VTD_FSTS, 0xffffffff);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), 0);
        tb.w32(0x64, 0x80000000);  // PMEN
        ck_assert_uint_eq(tb.r32(0x64), 0);
        // Debug transport: reads, no writes.
        tlm::tlm_generic_payload t;
        std::uint32_t d = 0;
        t.set_command(tlm::TLM_READ_COMMAND);
        t.set_address(kBase + IMS_VTD_VER);
        t.set_data_ptr(reinterpret_cast<unsigned char *>(&d));
        t.set_data_length(4);
        ck_assert_uint_eq(tb.mmio->transport_dbg(t), 4);
        ck_assert_uint_eq(d, 0x10);
        t.set_command(tlm::TLM_WRITE_COMMAND);
        t.set_address(kBase + IMS_VTD_FEDATA);
        d = 0x55;
        ck_assert_uint_eq(tb.mmio->transport_dbg(t), 0);
        ck_assert_int_eq(t.get_response_status(), tlm::TLM_COMMAND_ERROR_RESPONSE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FEDATA), 0xffff);
    });
}
END_TEST

// GSTS handshakes: at reset TE is clear and DMA passes untranslated (the
// sink sees the IOVA itself); SRTP latches RTADDR (RTPS set) and TE then
// makes DMA translate (0x10000 -> 0x80000000); QIE sets QIES; clearing TE
// clears TES and DMA passes untranslated again; ATS is refused with TE clear.
START_TEST(gsts_handshakes)
{
    simulate(base_cfg(), [](Tb &tb) {
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x10000);
        tb.w64(IMS_VTD_RTADDR, kRoot);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), 0);  // RTADDR alone latches nothing
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_SRTP);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), IMS_VTD_GCMD_SRTP);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GCMD), 0);  // write-only
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x10000);  // still TE = 0
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), IMS_VTD_GCMD_TE | IMS_VTD_GCMD_SRTP);
        ck_assert_int_eq(tb.dma_read(0x10040), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x80000040);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE | IMS_VTD_GCMD_QIE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), IMS_VTD_GCMD_TE | IMS_VTD_GCMD_SRTP | IMS_VTD_GCMD_QIE);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_QIE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), IMS_VTD_GCMD_SRTP | IMS_VTD_GCMD_QIE);
        ck_assert_int_eq(tb.dma_read(0x10040), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x10040);
        unsigned char b[4];
        ims::ReqExt ext;
        ext.rid = kRid;
        tlm::tlm_generic_payload t;
        t.set_extension(&ext);
        t.set_command(tlm::TLM_READ_COMMAND);
        t.set_address(0x10000);
        t.set_data_ptr(b);
        t.set_data_length(4);
        t.set_streaming_width(4);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        tb.ats->b_transport(t, d);
        t.clear_extension(&ext);
        ck_assert_int_eq(t.get_response_status(), tlm::TLM_COMMAND_ERROR_RESPONSE);
        // QIE cleared (the queue is empty), TE set again; SRTP with another
        // RTADDR and a global context-cache invalidation: the core now walks
        // from there (an empty root table: fault 1, the DMA refused).
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), IMS_VTD_GCMD_TE | IMS_VTD_GCMD_SRTP);
        tb.w64(IMS_VTD_RTADDR, 0x400000);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE | IMS_VTD_GCMD_SRTP);
        tb.w64(IMS_VTD_CCMD, IMS_VTD_CCMD_ICC | UINT64_C(1) << IMS_VTD_CCMD_CIRG_SHIFT);
        tb.wait_cycles(100);
        ck_assert_int_eq(tb.dma_read(0x20000), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq((tb.r64(IMS_VTD_FRO_OFFSET + 8) >> 32) & 0xff, IMS_FR_ROOT_ENTRY_P);
    });
}
END_TEST

// Register-based invalidation: a remapped page stays stale in the IOTLB
// until invalidated. IOTLB_REG page-selective (IVA = the page) removes it,
// IAIG reports page (3) and IVT reads 1 until inv.latency (200) cycles
// after the write; a domain-selective one for another domain leaves it;
// CCMD global sets CAIG 1, ICC reads 1 until its completion. While QIE is
// set, both registers ignore writes (the stale entry survives).
START_TEST(register_invalidation)
{
    ims_sim_cfg cfg = base_cfg();
    cfg.inv_latency = 200;
    simulate(cfg, [](Tb &tb) {
        tb.enable();
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x80000000);
        tb.map(0x10000, 0x90000000);
        tb.wait_cycles(1000);
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x80000000);  // stale
        // Domain-selective for domain 2: not ours.
        tb.w64(IMS_VTD_IRO_OFFSET + 8, IMS_VTD_IOTLB_IVT | UINT64_C(2) << IMS_VTD_IOTLB_IIRG_SHIFT | UINT64_C(2) << 32);
        tb.wait_cycles(1000);
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x80000000);
        // Page-selective for our page.
        tb.w64(IMS_VTD_IRO_OFFSET, 0x10000);
        const Cycles t0 = tb.now();
        tb.w64(IMS_VTD_IRO_OFFSET + 8,
               IMS_VTD_IOTLB_IVT | UINT64_C(3) << IMS_VTD_IOTLB_IIRG_SHIFT | std::uint64_t{kDid} << 32);
        std::uint64_t r = tb.r64(IMS_VTD_IRO_OFFSET + 8);
        ck_assert_uint_eq(r >> 63, 1);  // in progress
        ck_assert_uint_eq((r >> IMS_VTD_IOTLB_IAIG_SHIFT) & 3, 3);
        ck_assert_uint_eq((r >> 32) & 0xffff, kDid);
        while (tb.r64(IMS_VTD_IRO_OFFSET + 8) >> 63)
            tb.wait_cycles(1);
        ck_assert_uint_eq(tb.now() - t0, 200);
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x90000000);
        // CCMD global.
        tb.wait_cycles(1000);
        tb.w64(IMS_VTD_CCMD, IMS_VTD_CCMD_ICC | UINT64_C(1) << IMS_VTD_CCMD_CIRG_SHIFT);
        r = tb.r64(IMS_VTD_CCMD);
        ck_assert_uint_eq(r >> 63, 1);
        ck_assert_uint_eq((r >> IMS_VTD_CCMD_CAIG_SHIFT) & 3, 1);
        tb.wait_cycles(200);
        ck_assert_uint_eq(tb.r64(IMS_VTD_CCMD) >> 63, 0);
        // With QIE set, register-based invalidation is ignored.
        tb.map(0x10000, 0xa0000000);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE | IMS_VTD_GCMD_QIE);
        tb.w64(IMS_VTD_IRO_OFFSET + 8, IMS_VTD_IOTLB_IVT | UINT64_C(1) << IMS_VTD_IOTLB_IIRG_SHIFT);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IRO_OFFSET + 8) >> 63, 0);
        tb.wait_cycles(1000);
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x90000000);
    });
}
END_TEST

// Queued invalidation with a wait descriptor: [IOTLB global, device-TLB,
// interrupt-entry cache, wait(SW, data 0x1234)]. The IOTLB descriptor
// removes the stale entry; the two others are accepted; IQH reaches IQT at
// once. The status write lands when the IOTLB invalidation completes,
// inv.latency after its fetch, and the fetches take mem.latency (100) each,
// so with inv.latency 500 or 1000 (more than the three later fetches) it
// lands mem.latency + inv.latency after the IQT write. A second wait with
// IF sets ICS.IWC; IECTL is masked, so IP is set and no message is sent
// until IM is cleared, when IEDATA goes to IEADDR.
static Cycles qi_status_cycle(std::uint32_t inv_latency)
{
    ims_sim_cfg cfg = base_cfg();
    cfg.inv_latency = inv_latency;
    Cycles seen = 0;
    simulate(cfg, [&seen](Tb &tb) {
        tb.enable();
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        tb.map(0x10000, 0x90000000);
        tb.wait_cycles(1000);
        tb.w64(IMS_VTD_IQA, kIq);  // QS 0: 256 descriptors
        tb.w64(IMS_VTD_IQT, 0);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE | IMS_VTD_GCMD_QIE);
        ck_assert(tb.r32(IMS_VTD_GSTS) & IMS_VTD_GCMD_QIE);
        put_desc(tb, 0, kIotlbGlobal, 0);
        put_desc(tb, 1, IMS_VTD_DESC_DEVTLB, 0);
        put_desc(tb, 2, IMS_VTD_DESC_IEC, 0);
        put_desc(tb, 3, wait_desc(true, false, 0x1234), kStatus);
        const Cycles t0 = tb.now();
        tb.w64(IMS_VTD_IQT, 4 * 16);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 4 * 16);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), 0);
        while (ims_mem_read64(tb.mem, kStatus) != 0x1234) {
            ck_assert_uint_lt(tb.now() - t0, 100000);
            tb.wait_cycles(1);
        }
        seen = tb.now() - t0;
        ck_assert_uint_ge(seen, tb.cfg.inv_latency);
        ck_assert_uint_eq(tb.tap.writes[kStatus], 1);  // the status write is a b_transport write
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x90000000);
        // Invalidation-complete interrupt, masked, then unmasked.
        tb.w32(IMS_VTD_IEDATA, 0x4321);
        tb.w32(IMS_VTD_IEADDR, static_cast<std::uint32_t>(kIeMsi));
        put_desc(tb, 4, wait_desc(false, true, 0), 0);
        tb.w64(IMS_VTD_IQT, 5 * 16);
        tb.wait_cycles(1000);
        ck_assert_uint_eq(tb.r32(IMS_VTD_ICS), IMS_VTD_ICS_IWC);
        ck_assert_uint_eq(tb.r32(IMS_VTD_IECTL), IMS_VTD_ECTL_IM | IMS_VTD_ECTL_IP);
        ck_assert(tb.vtd.irq_pending.read());
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kIeMsi), 0);
        tb.w32(IMS_VTD_IECTL, 0);
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kIeMsi), 0x4321);
        ck_assert_uint_eq(tb.r32(IMS_VTD_IECTL), 0);
        tb.w32(IMS_VTD_ICS, IMS_VTD_ICS_IWC);
        ck_assert_uint_eq(tb.r32(IMS_VTD_ICS), 0);
    });
    return seen;
}

START_TEST(qi_wait_descriptor)
{
    const std::uint32_t lat = _i == 0 ? 500 : 1000;
    const Cycles seen = qi_status_cycle(lat);
    ck_assert_uint_eq(seen, base_cfg().mem_latency + lat);
}
END_TEST

// A bad descriptor: [IOTLB global, context-cache with a reserved bit (lo
// bit 6), wait(SW)]. The first runs; the second sets FSTS.IQE and stops the
// queue with IQH at it (16); the wait is not run; FECTL is masked, so IP is
// set. Fixed in memory and IQE cleared, the queue goes on: IQH = 48 and the
// status is written. IQT beyond the queue (QS 0: 4 KiB) is an error too.
START_TEST(qi_bad_descriptor)
{
    simulate(base_cfg(), [](Tb &tb) {
        tb.w64(IMS_VTD_IQA, kIq);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_QIE);
        put_desc(tb, 0, kIotlbGlobal, 0);
        put_desc(tb, 1, IMS_VTD_DESC_CC | (1u << 4) | (1u << 6), 0);
        put_desc(tb, 2, wait_desc(true, false, 7), kStatus);
        tb.w64(IMS_VTD_IQT, 3 * 16);
        tb.wait_cycles(5000);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_IQE);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 16);
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kStatus), 0);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FECTL), IMS_VTD_ECTL_IM | IMS_VTD_ECTL_IP);
        ck_assert_uint_eq(tb.vtd.stats().queue_errors, 1);
        // A new tail does not restart a stopped queue.
        tb.w64(IMS_VTD_IQT, 3 * 16);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 16);
        put_desc(tb, 1, IMS_VTD_DESC_CC | (1u << 4), 0);
        tb.w32(IMS_VTD_FSTS, IMS_VTD_FSTS_IQE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), 0);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FECTL), IMS_VTD_ECTL_IM);  // serviced: IP clear
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 48);
        tb.wait_cycles(5000);
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kStatus), 7);
        // Unknown type 0, then IQT beyond the queue.
        put_desc(tb, 3, 0, 0);
        tb.w64(IMS_VTD_IQT, 4 * 16);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_IQE);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 48);
        put_desc(tb, 3, kIotlbGlobal, 0);
        tb.w32(IMS_VTD_FSTS, IMS_VTD_FSTS_IQE);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 64);
        tb.w64(IMS_VTD_IQT, 0x1000);  // descriptor 256 of a 256-entry queue
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_IQE);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 64);
        // QIE cannot be cleared with descriptors pending.
        tb.w32(IMS_VTD_GCMD, 0);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), IMS_VTD_GCMD_QIE);
    });
}
END_TEST

// Fault recording (7.3.1) with caps.nfr = 4. A read of an unmapped page
// (0x50000: fault 6) is recorded in FRCD0 (F, FR 6, SID, FI, T = read),
// PPF set, FRI 0, and with FECTL unmasked FEDATA is written to FEADDR once;
// the next faults go to FRCD1..3 without another message (PPF was set
// already). A fifth finds FRCD0 still holding a fault: PFO is set and it is
// lost; faults while PFO is set are lost too (counted), even with a free
// register. Clearing F (RW1C) of every record and PFO leaves nothing
// pending; then, masked, a fault sets FECTL.IP instead of sending, and
// unmasking sends it. The core's in-memory ring gets no write.
START_TEST(fault_recording)
{
    ims_sim_cfg cfg = base_cfg();
    cfg.iommu.caps.nfr = 4;
    simulate(cfg, [](Tb &tb) {
        tb.enable();
        tb.w32(IMS_VTD_FEDATA, 0x4041);
        tb.w32(IMS_VTD_FEADDR, static_cast<std::uint32_t>(kMsi));
        tb.w32(IMS_VTD_FECTL, 0);
        ck_assert_int_eq(tb.dma_read(0x50000), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        const std::uint32_t fs = tb.r32(IMS_VTD_FSTS);
        ck_assert_uint_eq(fs, IMS_VTD_FSTS_PPF);  // FRI 0
        const std::uint64_t lo = tb.r64(IMS_VTD_FRO_OFFSET), hi = tb.r64(IMS_VTD_FRO_OFFSET + 8);
        ck_assert_uint_eq(lo, 0x50000);
        ck_assert_uint_eq(hi >> 63, 1);                 // F
        ck_assert_uint_eq((hi >> 62) & 1, 1);           // T: read
        ck_assert_uint_eq((hi >> 32) & 0xff, IMS_FR_READ);
        ck_assert_uint_eq(hi & 0xffff, kRid);
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kMsi), 0x4041);
        ck_assert_uint_eq(tb.tap.writes[kMsi], 1);  // a b_transport write, which a platform sees
        ims_mem_write64(tb.mem, kMsi, 0);
        for (unsigned i = 1; i < 4; i++)
            ck_assert_int_eq(tb.dma_read(0x50000 + i * 0x1000), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        for (unsigned i = 0; i < 4; i++) {
            ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 16 * i) , 0x50000 + i * 0x1000);
            ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 16 * i + 8) >> 63, 1);
        }
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kMsi), 0);  // no second message
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_PPF);
        // Fifth: FRCD0 is full.
        ck_assert_int_eq(tb.dma_read(0x60000), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_PPF | IMS_VTD_FSTS_PFO);
        ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET), 0x50000);
        ck_assert_uint_eq(tb.vtd.stats().faults_lost, 1);
        // F of FRCD0 cleared (write 1 to bit 127); PFO still set: lost.
        tb.w32(IMS_VTD_FRO_OFFSET + 12, 0x80000000);
        ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 8) >> 63, 0);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_PPF | IMS_VTD_FSTS_PFO);
        ck_assert_int_eq(tb.dma_read(0x61000), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(tb.vtd.stats().faults_lost, 2);
        ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 8) >> 63, 0);
        // Writing 0 to F, or 1 to other bits, changes nothing.
        tb.w32(IMS_VTD_FRO_OFFSET + 16 + 12, 0x7fffffff);
        tb.w64(IMS_VTD_FRO_OFFSET + 16, 0);
        ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 16), 0x51000);
        ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 24) >> 63, 1);
        for (unsigned i = 1; i < 4; i++)
            tb.w64(IMS_VTD_FRO_OFFSET + 16 * i + 8, UINT64_C(1) << 63);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_PFO);
        tb.w32(IMS_VTD_FSTS, IMS_VTD_FSTS_PFO);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), 0);
        // Masked: IP instead of a message; unmasking sends it.
        tb.w32(IMS_VTD_FECTL, IMS_VTD_ECTL_IM);
        ck_assert_int_eq(tb.dma_read(0x62000), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_PPF);  // recorded at FRCD0 (the next one), FRI 0
        ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET), 0x62000);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FECTL), IMS_VTD_ECTL_IM | IMS_VTD_ECTL_IP);
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kMsi), 0);
        tb.w32(IMS_VTD_FECTL, 0);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FECTL), 0);
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kMsi), 0x4041);
        ck_assert_uint_eq(tb.vtd.stats().faults_recorded, 5);
        ck_assert_uint_eq(tb.vtd.stats().interrupts, 2);
        // The core's ring (fault.queue_base) was never written.
        ck_assert_uint_eq(ims_mem_read64(tb.mem, tb.cfg.iommu.fq_base + 8), 0);
    });
}
END_TEST

// FPD (7.1.2, 9.3): 00:04.0's context entry is not present but has FPD
// set, so its fault (2, qualified) is suppressed: nothing recorded, no
// event. 00:05.0's, without FPD, is recorded (FR 2, its SID).
START_TEST(fault_fpd_suppressed)
{
    simulate(base_cfg(), [](Tb &tb) {
        ims_mem_write64(tb.mem, kCtx + ims_ctx_offset(0x20), 2);  // FPD, not present
        tb.enable();
        tb.w32(IMS_VTD_FECTL, 0);
        ck_assert_int_eq(tb.dma_read(0x10000, 0x20), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), 0);
        ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 8), 0);
        ck_assert_uint_eq(tb.vtd.stats().interrupts, 0);
        ck_assert_int_eq(tb.dma_read(0x10000, 0x28), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), IMS_VTD_FSTS_PPF);
        const std::uint64_t hi = tb.r64(IMS_VTD_FRO_OFFSET + 8);
        ck_assert_uint_eq((hi >> 32) & 0xff, IMS_FR_CTX_ENTRY_P);
        ck_assert_uint_eq(hi & 0xffff, 0x28);
        ck_assert_uint_eq(tb.vtd.stats().interrupts, 1);
    });
}
END_TEST

// ---- Scalable mode through the registers (RTADDR.TTM, ECAP.SMTS,
// PASID-based queued invalidation) ----
namespace {

constexpr std::uint32_t kRidPasid = 1, kPasidA = 5, kPasidB = 6;
constexpr std::uint16_t kDidA = 2, kDidR = 3;  // PASIDs A and B share domain kDidA; RID_PASID has kDidR
constexpr std::uint64_t kVa = 0x10000, kVa2 = 0x11000;
constexpr std::uint64_t kPaR = 0xa0000000, kPaA = 0xb0000000, kPaB = 0xc0000000;
constexpr std::uint64_t kTtmScalable = std::uint64_t{1} << 10;
constexpr std::uint64_t kIqaDw = std::uint64_t{1} << 11;

ims_sim_cfg sm_cfg()
{
    ims_sim_cfg c = base_cfg();
    c.iommu.sm.enabled = true;
    return c;
}

// A scalable-mode table builder over tb's memory with 00:03.0 attached
// (RID_PASID kRidPasid, no device TLB); the caller destroys it.
ims_tb_sm *sm_builder(Tb &tb)
{
    ims_tb_cfg tc;
    ims_tb_cfg_default(&tc);
    tc.caps = tb.cfg.iommu.caps;
    char err[256];
    ims_tb_sm *t = ims_tb_sm_create(tb.mem, &tc, err, sizeof err);
    ck_assert_msg(t != nullptr, "tb_sm: %s", err);
    ck_assert_int_eq(ims_tb_sm_attach(t, kRid, kRidPasid, false, false), IMS_TB_OK);
    return t;
}

// 00:03.0's scalable-mode tables as a driver lays them out, built with the
// core's table builder: RID_PASID kRidPasid -> process 0 (domain kDidR),
// PASID A -> process 1, PASID B -> process 2 (both domain kDidA), first
// level only; each process maps its two pages kVa, kVa2 read-write at its
// own addresses (kPaR, kPaA, kPaB). Returns the root table's address.
std::uint64_t sm_tables(Tb &tb)
{
    ims_tb_sm *t = sm_builder(tb);
    const std::uint64_t pa[3] = {kPaR, kPaA, kPaB};
    const std::uint32_t pasid[3] = {kRidPasid, kPasidA, kPasidB};
    const std::uint16_t did[3] = {kDidR, kDidA, kDidA};
    for (unsigned pid = 0; pid < 3; pid++) {
        ck_assert_int_eq(ims_tb_sm_process_create(t, pid, 4, -1), IMS_TB_OK);
        ck_assert_int_eq(ims_tb_sm_map(t, pid, kVa, pa[pid], 0x2000, IMS_TB_SM_W), IMS_TB_OK);
        ck_assert_int_eq(ims_tb_sm_bind(t, kRid, pasid[pid], pid, did[pid], false), IMS_TB_OK);
    }
    const std::uint64_t root = ims_tb_sm_root(t);
    ims_tb_sm_destroy(t);
    return root;
}

// A device read of 64 bytes at iova with PASID pasid (IMS_NO_PASID: none),
// supervisor (priv) and execute (exec) as the PASID prefix's PMR and ER say;
// returns the request's extension (its xlate says what happened).
ims::ReqExt sm_dma(Tb &tb, std::uint64_t iova, std::uint32_t pasid, tlm::tlm_response_status *st = nullptr,
                   std::uint8_t priv = 0, std::uint8_t exec = 0)
{
    ims::ReqExt ext;
    ext.rid = kRid;
    ext.pasid = pasid;
    ext.priv = priv;
    ext.exec = exec;
    const tlm::tlm_response_status s = vtdtb::dma_read_ext(tb.dma, iova, ext);
    if (st)
        *st = s;
    return ext;
}

// SRTP with TTM 01, then TE.
void sm_enable(Tb &tb, std::uint64_t root)
{
    tb.w64(IMS_VTD_RTADDR, root | kTtmScalable);
    tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_SRTP);
    ck_assert(tb.r32(IMS_VTD_GSTS) & IMS_VTD_GCMD_SRTP);
    ck_assert(ims_iommu_scalable(tb.core));
    tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE);
}

// Queued invalidation with 256-bit descriptors (IQA.DW, what Linux uses in
// scalable mode): each descriptor takes 32 bytes. The queue writer keeps
// the tail; run() appends descriptors and a wait descriptor (SW, a new
// status value), and returns once the status is written.
struct Queue32 {
    Tb &tb;
    std::uint64_t tail = 0;
    std::uint32_t seq = 0;
    explicit Queue32(Tb &t) : tb(t)
    {
        tb.w64(IMS_VTD_IQA, kIq | kIqaDw);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_QIE | (tb.r32(IMS_VTD_GSTS) & IMS_VTD_GCMD_TE));
        ck_assert(tb.r32(IMS_VTD_GSTS) & IMS_VTD_GCMD_QIE);
    }
    void put(std::uint64_t d0, std::uint64_t d1, std::uint64_t d2 = 0)
    {
        ims_mem_write64(tb.mem, kIq + tail, d0);
        ims_mem_write64(tb.mem, kIq + tail + 8, d1);
        ims_mem_write64(tb.mem, kIq + tail + 16, d2);
        ims_mem_write64(tb.mem, kIq + tail + 24, 0);
        tail += 32;
    }
    void run(std::uint64_t d0, std::uint64_t d1)
    {
        put(d0, d1);
        put(wait_desc(true, false, ++seq), kStatus);
        tb.w64(IMS_VTD_IQT, tail);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS) & IMS_VTD_FSTS_IQE, 0);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), tail);
        for (unsigned n = 0; ims_mem_read64(tb.mem, kStatus) != seq; n++) {
            ck_assert_uint_lt(n, 100000);
            tb.wait_cycles(1);
        }
    }
};

// Descriptors (6.5.2): PASID-based IOTLB (type 6), PASID cache (type 7).
std::uint64_t piotlb_lo(unsigned g, std::uint16_t did, std::uint32_t pasid)
{
    return 6u | g << 4 | std::uint64_t{did} << 16 | std::uint64_t{pasid} << 32;
}
std::uint64_t piotlb_hi(std::uint64_t addr, unsigned am, bool ih) { return addr | (ih ? 1u << 6 : 0) | am; }
std::uint64_t pc_lo(unsigned g, std::uint16_t did, std::uint32_t pasid)
{
    return 7u | g << 4 | std::uint64_t{did} << 16 | std::uint64_t{pasid} << 32;
}

// What one access found: IOTLB hit, PASID-cache hit (no PASID-table
// read), context-cache hit, and where its walk started.
struct Probe {
    bool iotlb, pasid, ctx;
    unsigned psc_level;
};
Probe probe(Tb &tb, std::uint64_t va, std::uint32_t pasid)
{
    tlm::tlm_response_status st;
    const ims::ReqExt e = sm_dma(tb, va, pasid, &st);
    ck_assert_int_eq(st, tlm::TLM_OK_RESPONSE);
    bool pasid_read = false;
    for (unsigned i = 0; i < e.xlate.n_reads; i++)
        pasid_read |= e.xlate.reads[i].stage == IMS_RS_PASID;
    return Probe{(e.xlate.flags & IMS_XLATE_IOTLB_HIT) != 0, !pasid_read, (e.xlate.flags & IMS_XLATE_CTX_HIT) != 0,
                 e.xlate.psc_level};
}

// The four translations the precision cases watch: PASID A's two pages,
// PASID B's first page (same domain), RID_PASID's first page (another
// domain). warm() caches each and checks that it then hits everywhere.
struct Watch {
    std::uint64_t va;
    std::uint32_t pasid;
};
constexpr Watch kWatch[4] = {{kVa, kPasidA}, {kVa2, kPasidA}, {kVa, kPasidB}, {kVa, IMS_NO_PASID}};
void warm(Tb &tb)
{
    for (const Watch &w : kWatch)
        probe(tb, w.va, w.pasid);
    for (const Watch &w : kWatch) {
        const Probe p = probe(tb, w.va, w.pasid);
        ck_assert(p.iotlb && p.pasid && p.ctx);
    }
}
// After one invalidation: which of the four still hit in the IOTLB (mask
// bit i: kWatch[i]), each probed once (a miss refills), and the same for
// the PASID cache.
unsigned iotlb_hits(Tb &tb, unsigned *pasid_hits = nullptr)
{
    unsigned m = 0, pm = 0;
    for (unsigned i = 0; i < 4; i++) {
        const Probe p = probe(tb, kWatch[i].va, kWatch[i].pasid);
        m |= (p.iotlb ? 1u : 0u) << i;
        pm |= (p.pasid ? 1u : 0u) << i;
    }
    if (pasid_hits)
        *pasid_hits = pm;
    return m;
}

}  // namespace

// A driver in scalable mode. ECAP reports SMTS, PASID (PSS 19: 20-bit
// PASIDs), FLTS, SLTS, NEST, ERS, SRS and not PRS; CAP FL1GP and FL5LP. The
// unit comes out of reset in legacy mode though the core was created in
// scalable mode; RTADDR keeps TTM 01 and the mode changes only at SRTP.
// Then: DMA without PASID goes through RID_PASID's table (kVa -> kPaR),
// with PASID A and B through their processes' (kPaA, kPaB); PASID 7 has no
// PASID-table entry: SPT.2 (59h) recorded with PP and PV = 7; an unmapped
// page without PASID: SFL.2 (71h), PP clear. Back to legacy (TTM 00, the
// legacy tables at kRoot: kVa -> 0x80000000): the switch empties the caches,
// and a legacy-mode fault record never carries the request's PASID.
START_TEST(sm_driver_sequence)
{
    simulate(sm_cfg(), [](Tb &tb) {
        const std::uint64_t ecap = tb.r64(IMS_VTD_ECAP), cap = tb.r64(IMS_VTD_CAP);
        ck_assert_uint_eq((ecap >> 43) & 1, 1);     // SMTS
        ck_assert_uint_eq((ecap >> 40) & 1, 1);     // PASID
        ck_assert_uint_eq((ecap >> 35) & 0x1f, 19); // PSS
        ck_assert_uint_eq((ecap >> 46) & 3, 3);     // SLTS, FLTS
        ck_assert_uint_eq((ecap >> 26) & 1, 1);     // NEST
        ck_assert_uint_eq((ecap >> 29) & 1, 0);     // PRS
        ck_assert_uint_eq((ecap >> 30) & 3, 3);     // ERS, SRS
        ck_assert_uint_eq((cap >> 56) & 1, 1);      // FL1GP
        ck_assert_uint_eq((cap >> 60) & 1, 1);      // FL5LP
        ck_assert(!ims_iommu_scalable(tb.core));
        ck_assert(!tb.vtd.scalable());
        const std::uint64_t root = sm_tables(tb);
        tb.w64(IMS_VTD_RTADDR, root | kTtmScalable);
        ck_assert_uint_eq(tb.r64(IMS_VTD_RTADDR), root | kTtmScalable);
        ck_assert(!ims_iommu_scalable(tb.core));
        sm_enable(tb, root);
        ck_assert(tb.vtd.scalable());
        tlm::tlm_response_status st;
        sm_dma(tb, kVa, IMS_NO_PASID, &st);
        ck_assert_int_eq(st, tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, kPaR);
        sm_dma(tb, kVa, kPasidA, &st);
        ck_assert_int_eq(st, tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, kPaA);
        sm_dma(tb, kVa2 + 0x40, kPasidB, &st);
        ck_assert_int_eq(st, tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, kPaB + 0x1040);
        // Faults in the fault-recording registers (11.4.14).
        sm_dma(tb, kVa, 7, &st);
        ck_assert_int_ne(st, tlm::TLM_OK_RESPONSE);
        std::uint64_t hi = tb.r64(IMS_VTD_FRO_OFFSET + 8);
        ck_assert_uint_eq(hi >> 63, 1);
        ck_assert_uint_eq((hi >> 32) & 0xff, IMS_FR_SM_PTE_P);
        ck_assert_uint_eq((hi >> 31) & 1, 1);
        ck_assert_uint_eq((hi >> 40) & 0xfffff, 7);
        ck_assert_uint_eq(hi & 0xffff, kRid);
        sm_dma(tb, 0x40000, IMS_NO_PASID, &st);
        ck_assert_int_ne(st, tlm::TLM_OK_RESPONSE);
        hi = tb.r64(IMS_VTD_FRO_OFFSET + 24);
        ck_assert_uint_eq((hi >> 32) & 0xff, IMS_FR_SM_FL_P);
        ck_assert_uint_eq((hi >> 31) & 1, 0);
        ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 16), 0x40000);
        ck_assert_uint_eq(tb.vtd.stats().faults_recorded, 2);
        // Back to legacy mode.
        const std::uint64_t inv = ims_iommu_stats(tb.core)->iotlb.invalidated;
        tb.w64(IMS_VTD_RTADDR, kRoot);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE | IMS_VTD_GCMD_SRTP);
        ck_assert(tb.r32(IMS_VTD_GSTS) & IMS_VTD_GCMD_SRTP);
        ck_assert(!ims_iommu_scalable(tb.core));
        ck_assert_uint_ge(ims_iommu_stats(tb.core)->iotlb.invalidated, inv + 3);  // the three pages cached above
        sm_dma(tb, kVa, IMS_NO_PASID, &st);
        ck_assert_int_eq(st, tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x80000000);
        sm_dma(tb, 0x40000, kPasidA, &st);
        ck_assert_int_ne(st, tlm::TLM_OK_RESPONSE);
        hi = tb.r64(IMS_VTD_FRO_OFFSET + 40);
        ck_assert_uint_eq(hi >> 63, 1);
        ck_assert_uint_eq((hi >> 31) & 1, 0);
        ck_assert_uint_eq((hi >> 40) & 0xfffff, 0);
    });
}
END_TEST

// SRTP with a TTM the unit does not support is refused (the model's
// reading of 11.4.6: RTPS is cleared and stays clear, the root table and
// mode in use stay): 01b without SMTS (_i = 0), 10b (reserved) and 11b
// (abort-DMA mode, ADMS not reported) in both. TTM 00 then works; a refused
// SRTP after it leaves its root in use. IQA.DW is writable with SMTS only.
START_TEST(sm_ttm_refused)
{
    const bool smts = _i;
    simulate(smts ? sm_cfg() : base_cfg(), [smts](Tb &tb) {
        ck_assert_uint_eq((tb.r64(IMS_VTD_ECAP) >> 43) & 1, smts);
        unsigned refused = 0;
        for (unsigned ttm = smts ? 2 : 1; ttm <= 3; ttm++) {
            tb.w64(IMS_VTD_RTADDR, kRoot | std::uint64_t{ttm} << 10);
            tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_SRTP);
            ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS) & IMS_VTD_GCMD_SRTP, 0);
            ck_assert(!ims_iommu_scalable(tb.core));
            ck_assert_uint_eq(tb.vtd.stats().srtp_refused, ++refused);
        }
        tb.enable();
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x80000000);
        tb.w64(IMS_VTD_RTADDR, 0x5000 | std::uint64_t{2} << 10);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE | IMS_VTD_GCMD_SRTP);
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), IMS_VTD_GCMD_TE);
        tb.map(0x10000, 0x90000000);  // a fresh walk of the old root's tables shows it is still the one used
        ims_inv_iotlb(tb.core, IMS_INV_GLOBAL, 0, 0, 0, false);
        ck_assert_int_eq(tb.dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(tb.sink.last, 0x90000000);
        tb.w64(IMS_VTD_IQA, kIq | kIqaDw | 1);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQA), kIq | (smts ? kIqaDw : 0) | 1);
    });
}
END_TEST

// Supervisor and execute requests on dma_in (ECAP.SRS, ECAP.ERS): ReqExt's
// priv and exec reach the core, which decides (3.6.1, SDM 4.6; the builder
// sets ERE, WPE and NXE, not SMEP). One process: kVa a user data page (XD),
// kVa2 a user executable page, kVa3 a supervisor executable page, all
// writable; PASID A binds it with SRE, PASID B without, RID_PASID with
// RID_PRIV clear.
//   A user read kVa: translated (kPaR); A user execute kVa: XD, SGN.3 (82h);
//   A user execute kVa2: translated; A user read kVa3: U/S, SGN.2 (81h);
//   A supervisor read and execute kVa3: translated (the first walks, the
//   second hits the IOTLB); A user read kVa3 again, from the IOTLB: 81h;
//   B supervisor read kVa3: SRE clear, SPT.6 (5dh); B user execute kVa2:
//   translated; no PASID with priv and exec set: RID_PRIV (clear) and no
//   execute are used, so kVa3 faults 81h and kVa (XD) is translated.
// Each fault goes to the next fault-recording register with its reason.
START_TEST(sm_priv_exec)
{
    ims_sim_cfg cfg = sm_cfg();
    cfg.iommu.caps.nfr = 8;
    simulate(cfg, [](Tb &tb) {
        constexpr std::uint64_t kVa3 = 0x12000;
        ims_tb_sm *t = sm_builder(tb);
        ck_assert_int_eq(ims_tb_sm_process_create(t, 0, 4, -1), IMS_TB_OK);
        ck_assert_int_eq(ims_tb_sm_map(t, 0, kVa, kPaR, 0x1000, IMS_TB_SM_W), IMS_TB_OK);
        ck_assert_int_eq(ims_tb_sm_map(t, 0, kVa2, kPaR + 0x1000, 0x1000, IMS_TB_SM_W | IMS_TB_SM_X), IMS_TB_OK);
        ck_assert_int_eq(ims_tb_sm_map(t, 0, kVa3, kPaR + 0x2000, 0x1000, IMS_TB_SM_W | IMS_TB_SM_X | IMS_TB_SM_KERNEL),
                         IMS_TB_OK);
        ck_assert_int_eq(ims_tb_sm_bind(t, kRid, kPasidA, 0, kDidA, true), IMS_TB_OK);
        ck_assert_int_eq(ims_tb_sm_bind(t, kRid, kPasidB, 0, kDidA, false), IMS_TB_OK);
        ck_assert_int_eq(ims_tb_sm_bind(t, kRid, kRidPasid, 0, kDidR, false), IMS_TB_OK);
        sm_enable(tb, ims_tb_sm_root(t));
        ims_tb_sm_destroy(t);
        struct Case {
            std::uint64_t va;
            std::uint32_t pasid;
            std::uint8_t priv, exec, fault;
            std::uint64_t pa;
        };
        const Case cases[] = {
            {kVa, kPasidA, 0, 0, 0, kPaR},
            {kVa, kPasidA, 0, 1, IMS_FR_SM_XD, 0},
            {kVa2, kPasidA, 0, 1, 0, kPaR + 0x1000},
            {kVa3, kPasidA, 0, 0, IMS_FR_SM_US, 0},
            {kVa3, kPasidA, 1, 0, 0, kPaR + 0x2000},
            {kVa3, kPasidA, 1, 1, 0, kPaR + 0x2000},
            {kVa3, kPasidA, 0, 0, IMS_FR_SM_US, 0},
            {kVa3, kPasidB, 1, 0, IMS_FR_SM_PTE_SRE, 0},
            {kVa2, kPasidB, 0, 1, 0, kPaR + 0x1000},
            {kVa3, IMS_NO_PASID, 1, 1, IMS_FR_SM_US, 0},
            {kVa, IMS_NO_PASID, 1, 1, 0, kPaR},
        };
        unsigned faults = 0, n = 0;
        for (const Case &c : cases) {
            tlm::tlm_response_status st;
            const ims::ReqExt e = sm_dma(tb, c.va, c.pasid, &st, c.priv, c.exec);
            ck_assert_msg(e.xlate.fault == c.fault, "case %u: fault %#x, expected %#x", n, e.xlate.fault, c.fault);
            if (c.fault) {
                ck_assert_int_eq(st, tlm::TLM_ADDRESS_ERROR_RESPONSE);
                const std::uint64_t hi = tb.r64(IMS_VTD_FRO_OFFSET + 16 * faults + 8);
                ck_assert_uint_eq(hi >> 63, 1);
                ck_assert_uint_eq((hi >> 32) & 0xff, c.fault);
                ck_assert_uint_eq(tb.r64(IMS_VTD_FRO_OFFSET + 16 * faults), c.va);
                faults++;
            } else {
                ck_assert_int_eq(st, tlm::TLM_OK_RESPONSE);
                ck_assert_uint_eq(tb.sink.last, c.pa);
            }
            if (n == 5)  // the supervisor execute of kVa3 right after its read
                ck_assert(e.xlate.flags & IMS_XLATE_IOTLB_HIT);
            n++;
        }
        ck_assert_uint_eq(tb.vtd.stats().faults_recorded, faults);
    });
}
END_TEST

// Invalidation precision through the queue (256-bit descriptors), each
// kind after warm() (A/kVa, A/kVa2, B/kVa, RID_PASID/kVa all cached).
// Bit i of a mask is kWatch[i] still hitting in the IOTLB (or PASID cache).
//   PASID-based IOTLB, PASID-selective (A): A's two pages only -> 0b1100.
//   Same with domain kDidR (A's PASID in the wrong domain): nothing -> 0b1111.
//   Page-selective A/kVa, AM 0: that page only -> 0b1110; its walk restarts
//   from the top (the paging-structure entries went too); with IH it
//   starts below a paging-structure-cache hit.
//   Page-selective A/kVa, AM 1: both of A's pages -> 0b1100.
//   PASID cache, PASID-selective (kDidA, A): A's entry only (IOTLB kept) -> PASID 0b1100 ... A's bits clear.
//   PASID cache, domain-selective kDidA: A and B -> PASID 0b1000.
//   PASID cache, global: every entry -> 0.
//   Legacy IOTLB descriptor, domain-selective kDidA (scalable-mode meaning:
//   every entry of the domain, any PASID): A and B -> 0b1000.
//   Legacy context-cache descriptor, global: the context entry is read again.
START_TEST(sm_qi_precision)
{
    simulate(sm_cfg(), [](Tb &tb) {
        sm_enable(tb, sm_tables(tb));
        Queue32 q(tb);
        unsigned pm = 0;
        warm(tb);
        q.run(piotlb_lo(0, kDidA, kPasidA), 0);
        ck_assert_uint_eq(iotlb_hits(tb), 0xc);
        warm(tb);
        q.run(piotlb_lo(0, kDidR, kPasidA), 0);
        ck_assert_uint_eq(iotlb_hits(tb), 0xf);
        warm(tb);
        q.run(piotlb_lo(1, kDidA, kPasidA), piotlb_hi(kVa, 0, false));
        ck_assert_uint_eq(probe(tb, kVa, kPasidA).psc_level, 0);
        ck_assert_uint_eq(iotlb_hits(tb), 0xf);  // refilled by the probe above; the others untouched
        warm(tb);
        q.run(piotlb_lo(1, kDidA, kPasidA), piotlb_hi(kVa, 0, false));
        ck_assert_uint_eq(iotlb_hits(tb), 0xe);
        warm(tb);
        q.run(piotlb_lo(1, kDidA, kPasidA), piotlb_hi(kVa, 0, true));
        const Probe ih = probe(tb, kVa, kPasidA);
        ck_assert(!ih.iotlb);
        ck_assert_uint_gt(ih.psc_level, 0);
        warm(tb);
        q.run(piotlb_lo(1, kDidA, kPasidA), piotlb_hi(kVa, 1, false));
        ck_assert_uint_eq(iotlb_hits(tb), 0xc);
        warm(tb);
        q.run(piotlb_lo(1, kDidA, kPasidB), piotlb_hi(kVa2, 0, false));  // B has kVa2 mapped, not cached: nothing
        ck_assert_uint_eq(iotlb_hits(tb), 0xf);
        warm(tb);
        q.run(pc_lo(1, kDidA, kPasidA), 0);
        ck_assert_uint_eq(iotlb_hits(tb, &pm), 0xf);
        ck_assert_uint_eq(pm, 0xe);  // A's entry read once again (its second page then hits)
        warm(tb);
        q.run(pc_lo(1, kDidR, kPasidA), 0);  // A's PASID in the wrong domain
        iotlb_hits(tb, &pm);
        ck_assert_uint_eq(pm, 0xf);
        warm(tb);
        q.run(pc_lo(0, kDidA, 0), 0);
        iotlb_hits(tb, &pm);
        ck_assert_uint_eq(pm, 0xa);  // A (first probe; its second page hits) and B
        warm(tb);
        q.run(pc_lo(3, 0, 0), 0);
        iotlb_hits(tb, &pm);
        ck_assert_uint_eq(pm, 0x2);  // every PASID entry read again (A's once)
        warm(tb);
        q.run(IMS_VTD_DESC_IOTLB | (2u << 4) | std::uint64_t{kDidA} << 16, 0);
        ck_assert_uint_eq(iotlb_hits(tb), 0x8);
        warm(tb);
        q.run(IMS_VTD_DESC_CC | (1u << 4), 0);
        ck_assert(!probe(tb, kVa, kPasidA).ctx);
        ck_assert(probe(tb, kVa, kPasidA).ctx);
        ck_assert_uint_eq(ims_iommu_stats(tb.core)->sm.inv_piotlb, 7);
        ck_assert_uint_eq(ims_iommu_stats(tb.core)->sm.inv_pasid_cache, 4);
    });
}
END_TEST

// Descriptors refused with IQE (6.5.2.10), IQH left at each: in legacy
// mode the PASID-based types 6, 7 and 8; in scalable mode (256-bit
// descriptors) reserved granularities (type 6 G 10b and 11b, type 7 G 10b),
// reserved bits (type 6 bit 71, type 7's upper word, type 3 bit 4, bits
// 255:128 of a 128-bit descriptor), type 9 (page group response: PRS not
// reported) and 0, and an IQT not 32-byte aligned. Each is then replaced by
// a valid descriptor and IQE cleared: the queue goes on from it.
START_TEST(sm_qi_errors)
{
    simulate(sm_cfg(), [](Tb &tb) {
        tb.enable();
        tb.w64(IMS_VTD_IQA, kIq);
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE | IMS_VTD_GCMD_QIE);
        unsigned errors = 0;
        for (unsigned i = 0; i < 3; i++) {
            put_desc(tb, i, 6u + i, 0);
            tb.w64(IMS_VTD_IQT, (i + 1) * 16);
            ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS) & IMS_VTD_FSTS_IQE, IMS_VTD_FSTS_IQE);
            ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), i * 16);
            ck_assert_uint_eq(tb.vtd.stats().queue_errors, ++errors);
            put_desc(tb, i, kIotlbGlobal, 0);
            tb.w32(IMS_VTD_FSTS, IMS_VTD_FSTS_IQE);
            ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), (i + 1) * 16);
        }
        tb.w32(IMS_VTD_GCMD, IMS_VTD_GCMD_TE);  // queue empty: QI off
        ck_assert_uint_eq(tb.r32(IMS_VTD_GSTS), IMS_VTD_GCMD_TE | IMS_VTD_GCMD_SRTP);
        sm_enable(tb, sm_tables(tb));
        Queue32 q(tb);
        const std::uint64_t bad[][3] = {
            {piotlb_lo(2, kDidA, kPasidA), 0, 0},
            {piotlb_lo(3, kDidA, kPasidA), 0, 0},
            {piotlb_lo(1, kDidA, kPasidA), piotlb_hi(kVa, 0, false) | 1u << 7, 0},
            {pc_lo(2, kDidA, kPasidA), 0, 0},
            {pc_lo(1, kDidA, kPasidA), 1, 0},
            {IMS_VTD_DESC_DEVTLB | 1u << 4, 0, 0},
            {piotlb_lo(0, kDidA, kPasidA), 0, 1},
            {9, 0, 0},
            {0, 0, 0},
        };
        for (const auto &d : bad) {
            q.put(d[0], d[1], d[2]);
            tb.w64(IMS_VTD_IQT, q.tail);
            ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS) & IMS_VTD_FSTS_IQE, IMS_VTD_FSTS_IQE);
            ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), q.tail - 32);
            ck_assert_uint_eq(tb.vtd.stats().queue_errors, ++errors);
            q.tail -= 32;
            q.put(piotlb_lo(0, kDidA, kPasidA), 0);
            tb.w32(IMS_VTD_FSTS, IMS_VTD_FSTS_IQE);
            ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS) & IMS_VTD_FSTS_IQE, 0);
            ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), q.tail);
        }
        q.put(piotlb_lo(0, kDidA, kPasidA), 0);
        tb.w64(IMS_VTD_IQT, q.tail - 16);
        ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS) & IMS_VTD_FSTS_IQE, IMS_VTD_FSTS_IQE);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), q.tail - 32);
        tb.w64(IMS_VTD_IQT, q.tail);
        tb.w32(IMS_VTD_FSTS, IMS_VTD_FSTS_IQE);
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), q.tail);
        q.run(pc_lo(3, 0, 0), 0);  // the queue works on
    });
}
END_TEST

namespace {
// The device side of device-TLB invalidations: records each and completes
// it `delay` cycles later, or never (timeout).
struct DevSide : ims::DevTlbSink {
    std::vector<ims::DevTlbInv> seen;
    Cycles delay = 3000;
    bool timeout = false;
    Cycles on_devtlb_inv(const ims::DevTlbInv &inv, Cycles t) override
    {
        seen.push_back(inv);
        return timeout ? kTimedOut : t + delay;
    }
};
}  // namespace

// Device-TLB invalidations go to the device side: [type 3 (SID 00:03.0,
// MIP 5, PFSID 0x123, S, ADDR 0x7000), type 8 (PASID A, MIP 4, S, ADDR
// 0x9000), wait(SW)]. Its fields arrive decoded, and the wait completes
// only once the device has answered (3000 cycles after the fetch). _i = 1:
// the device never answers the first: FSTS.ITE (a fault event, masked:
// FECTL.IP), the queue stops with IQH past it and the wait not done; once
// ITE is cleared the queue goes on.
START_TEST(sm_devtlb_forwarded)
{
    const bool timeout = _i;
    simulate(sm_cfg(), [timeout](Tb &tb) {
        DevSide dev;
        dev.timeout = timeout;
        tb.vtd.set_devtlb_sink(&dev);
        sm_enable(tb, sm_tables(tb));
        Queue32 q(tb);
        const std::uint64_t pfsid = (0x3u << 12) | std::uint64_t{0x12} << 52;
        q.put(IMS_VTD_DESC_DEVTLB | 5u << 16 | std::uint64_t{kRid} << 32 | pfsid, 0x7000 | 1);
        q.put(8u | 4u << 4 | std::uint64_t{kRid} << 16 | std::uint64_t{kPasidA} << 32 | pfsid, 0x9000 | 1u << 11);
        q.put(wait_desc(true, false, 0x55), kStatus);
        tb.w64(IMS_VTD_IQT, q.tail);
        if (timeout) {
            ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), 1u << 6);
            ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), 32);
            ck_assert_uint_eq(tb.r32(IMS_VTD_FECTL), IMS_VTD_ECTL_IM | IMS_VTD_ECTL_IP);
            ck_assert_uint_eq(dev.seen.size(), 1);
            ck_assert_uint_eq(tb.vtd.stats().devtlb_timeouts, 1);
            tb.wait_cycles(10000);
            ck_assert_uint_eq(ims_mem_read64(tb.mem, kStatus), 0);
            dev.timeout = false;
            tb.w32(IMS_VTD_FSTS, 1u << 6);
            ck_assert_uint_eq(tb.r32(IMS_VTD_FSTS), 0);
        }
        ck_assert_uint_eq(tb.r64(IMS_VTD_IQH), q.tail);
        ck_assert_uint_eq(dev.seen.size(), 2);
        tb.wait_cycles(2000);
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kStatus), 0);  // the device has not answered yet
        tb.wait_cycles(3000);
        ck_assert_uint_eq(ims_mem_read64(tb.mem, kStatus), 0x55);
        const ims::DevTlbInv &a = dev.seen[0], &b = dev.seen[1];
        ck_assert_uint_eq(a.sid, kRid);
        ck_assert_uint_eq(a.mip, 5);
        ck_assert_uint_eq(a.pfsid, 0x123);
        ck_assert(a.size && !a.global);
        ck_assert_uint_eq(a.addr, 0x7000);
        ck_assert_uint_eq(a.pasid, IMS_NO_PASID);
        ck_assert_uint_eq(b.sid, kRid);
        ck_assert_uint_eq(b.mip, 4);
        ck_assert_uint_eq(b.pfsid, 0x123);
        ck_assert(b.size && !b.global);
        ck_assert_uint_eq(b.addr, 0x9000);
        ck_assert_uint_eq(b.pasid, kPasidA);
        ck_assert_uint_eq(tb.vtd.stats().devtlb, 2);
    });
}
END_TEST

namespace {
// Timing-test configuration: no paging-structure caches, bandwidth never
// binds (as test_tlm.cpp's test_cfg), so every time below follows from the
// latencies. _i: inv.policy.
ims_sim_cfg sm_timing_cfg(int policy)
{
    ims_sim_cfg c = sm_cfg();
    c.inv_policy = static_cast<std::uint8_t>(policy);
    c.ctx_latency = 2;
    c.iotlb_latency = 3;
    c.psc_latency = 0;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        c.iommu.psc[l].sets = c.iommu.psc[l].ways = 0;
    c.walkers = 2;
    c.walk_step = 1;
    c.mem_latency = 100;
    c.mem_bytes_per_cycle = 4096;
    c.mem_outstanding = 4096;
    c.inv_latency = 10;
    return c;
}
ims::ReqExt xlate_at(Tb &tb, Cycles t, std::uint64_t va, std::uint32_t pasid)
{
    ims_req r{};
    r.rid = kRid;
    r.pasid = pasid;
    r.iova = va;
    r.size = 4;
    r.access = IMS_PERM_R;
    ims::ReqExt e;
    tb.iommu.translate(t, r, e);
    ck_assert_uint_eq(e.xlate.fault, 0);
    return e;
}
}  // namespace

// The timed PASID-based invalidations and fills in flight, as
// invalidation_ordering (test_tlm.cpp) for the legacy ones. drain: a
// page-selective PASID-based IOTLB invalidation of the page being walked
// completes inv.latency after the walk; discard: inv.latency after it is
// issued. Neither waits with IH for another page, nor for another domain;
// without IH one of another page waits for the walk's PML4E fill (its
// first read). PASID-selective waits for the walk too. Afterwards the page
// is walked again (no stale entry). PASID cache: with B's PASID-table
// reads in flight, a PASID-selective invalidation of (kDidA, B) waits for
// them (drain), one of domain kDidR does not; B's entry is read again after.
START_TEST(sm_timed_ordering)
{
    const int policy = _i;
    simulate(sm_timing_cfg(policy), [policy](Tb &tb) {
        sm_enable(tb, sm_tables(tb));
        ims::Iommu &mmu = tb.iommu;
        const ims_sim_cfg &c = tb.cfg;
        const bool drain = policy == IMS_INV_DRAIN;
        const Cycles t0 = tb.now() + 1000;
        xlate_at(tb, t0, kVa, kPasidA);  // context and PASID entries cached
        xlate_at(tb, t0 + 1000, kVa, kPasidB);
        const Cycles t = t0 + 5000;
        const ims::ReqExt miss = xlate_at(tb, t, kVa2, kPasidA);
        ck_assert(miss.xlate.flags & IMS_XLATE_WALKED);
        ck_assert(miss.xlate.flags & IMS_XLATE_CTX_HIT);
        const Cycles walk_done = t + miss.latency;
        ck_assert_uint_eq(mmu.invalidate_piotlb(t + 10, IMS_PINV_PAGE, kDidA, kPasidA, kVa2, 0, false),
                          drain ? walk_done + c.inv_latency : t + 10 + c.inv_latency);
        ck_assert_uint_eq(mmu.invalidate_piotlb(t + 20, IMS_PINV_PAGE, kDidA, kPasidA, kVa, 0, true),
                          t + 20 + c.inv_latency);
        ck_assert_uint_eq(mmu.invalidate_piotlb(t + 30, IMS_PINV_PASID, kDidR, kRidPasid, 0, 0, false),
                          t + 30 + c.inv_latency);
        const Cycles pml4e_ready = t + c.ctx_latency + c.iotlb_latency + c.psc_latency + c.walk_step + c.mem_latency;
        ck_assert_uint_eq(mmu.invalidate_piotlb(t + 40, IMS_PINV_PAGE, kDidA, kPasidA, 0x40000000, 0, false),
                          drain ? pml4e_ready + c.inv_latency : t + 40 + c.inv_latency);
        ck_assert_uint_eq(mmu.invalidate_piotlb(t + 50, IMS_PINV_PASID, kDidA, kPasidA, 0, 0, false),
                          drain ? walk_done + c.inv_latency : t + 50 + c.inv_latency);
        const ims::ReqExt again = xlate_at(tb, walk_done + 1000, kVa2, kPasidA);
        ck_assert(again.xlate.flags & IMS_XLATE_WALKED);
        // PASID cache.
        const Cycles t2 = walk_done + 5000;
        ck_assert_uint_eq(mmu.invalidate_pasid_cache(t2, IMS_PINV_PASID, kDidA, kPasidB), t2 + c.inv_latency);
        const Cycles t3 = t2 + 1000;
        const ims::ReqExt pe = xlate_at(tb, t3, kVa, kPasidB);
        ck_assert(pe.xlate.flags & IMS_XLATE_CTX_HIT);
        ck_assert(pe.xlate.flags & IMS_XLATE_IOTLB_HIT);
        unsigned accesses = 0, pasid_reads = 0;
        for (unsigned i = 0; i < pe.xlate.n_reads; i++) {
            accesses += !pe.xlate.reads[i].cont;
            pasid_reads += pe.xlate.reads[i].stage == IMS_RS_PASID;
        }
        ck_assert_uint_gt(pasid_reads, 0);
        const Cycles pe_ready = t3 + c.ctx_latency + accesses * c.mem_latency;
        ck_assert_uint_eq(mmu.invalidate_pasid_cache(t3 + 10, IMS_PINV_PASID, kDidA, kPasidB),
                          drain ? pe_ready + c.inv_latency : t3 + 10 + c.inv_latency);
        ck_assert_uint_eq(mmu.invalidate_pasid_cache(t3 + 20, IMS_PINV_DOMAIN, kDidR, 0), t3 + 20 + c.inv_latency);
        ck_assert_uint_eq(mmu.invalidate_pasid_cache(t3 + 30, IMS_PINV_GLOBAL, 0, 0),
                          drain ? std::max(pe_ready, t3 + 30) + c.inv_latency : t3 + 30 + c.inv_latency);
        const ims::ReqExt reread = xlate_at(tb, t3 + 2000, kVa, kPasidB);
        bool read = false;
        for (unsigned i = 0; i < reread.xlate.n_reads; i++)
            read |= reread.xlate.reads[i].stage == IMS_RS_PASID;
        ck_assert(read);
    });
}
END_TEST

// Through the queue: a wait descriptor after a PASID-based IOTLB
// invalidation of a page being walked completes only after the walk (drain:
// inv.latency after it); with discard, before the walk ends.
START_TEST(sm_qi_wait_after_walk)
{
    const int policy = _i;
    simulate(sm_timing_cfg(policy), [policy](Tb &tb) {
        sm_enable(tb, sm_tables(tb));
        Queue32 q(tb);
        probe(tb, kVa, kPasidA);  // context and PASID entry cached
        tb.wait_cycles(1000);
        const Cycles t = tb.now();
        const ims::ReqExt miss = xlate_at(tb, t, kVa2, kPasidA);
        ck_assert(miss.xlate.flags & IMS_XLATE_WALKED);
        const Cycles walk_done = t + miss.latency;
        q.put(piotlb_lo(1, kDidA, kPasidA), piotlb_hi(kVa2, 0, true));
        q.put(wait_desc(true, false, 0x66), kStatus);
        tb.w64(IMS_VTD_IQT, q.tail);
        if (policy == IMS_INV_DRAIN) {
            const Cycles at = walk_done + tb.cfg.inv_latency;
            tb.wait_cycles(at - 1 - tb.now());
            ck_assert_uint_eq(ims_mem_read64(tb.mem, kStatus), 0);
            tb.wait_cycles(2);
            ck_assert_uint_eq(ims_mem_read64(tb.mem, kStatus), 0x66);
        } else {
            tb.wait_cycles(walk_done - 1 - tb.now());
            ck_assert_uint_eq(ims_mem_read64(tb.mem, kStatus), 0x66);
        }
        ck_assert(!probe(tb, kVa2, kPasidA).iotlb);
    });
}
END_TEST

namespace {
// A debug read (transport_dbg) of 8 bytes at iova through dma_in with
// PASID pasid: TLM_ADDRESS_ERROR_RESPONSE when it faults; a translated one
// reaches the sink, which has no debug transport
// (TLM_COMMAND_ERROR_RESPONSE).
tlm::tlm_response_status sm_debug_read(Tb &tb, std::uint64_t iova, std::uint32_t pasid)
{
    ims::ReqExt ext;
    ext.rid = kRid;
    ext.pasid = pasid;
    return vtdtb::dma_read_ext(tb.dma, iova, ext, 8, true);
}
}  // namespace

// Debug transport translates with a second core (iommu_tlm.cpp), which
// follows the mode SRTP latched: in the reset (legacy) mode of a unit that
// offers scalable mode, the legacy tables' 0x10000 translates and 0x20000
// faults; after TTM 01, PASID A's kVa translates and PASID 7 (no PASID-table
// entry) faults.
START_TEST(sm_debug_transport)
{
    simulate(sm_cfg(), [](Tb &tb) {
        tb.enable();
        ck_assert_int_eq(sm_debug_read(tb, 0x10000, IMS_NO_PASID), tlm::TLM_COMMAND_ERROR_RESPONSE);
        ck_assert_int_eq(sm_debug_read(tb, 0x20000, IMS_NO_PASID), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        sm_enable(tb, sm_tables(tb));
        ck_assert_int_eq(sm_debug_read(tb, kVa, kPasidA), tlm::TLM_COMMAND_ERROR_RESPONSE);
        ck_assert_int_eq(sm_debug_read(tb, kVa, 7), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_int_eq(sm_debug_read(tb, 0x10000 + 0x40000, IMS_NO_PASID), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    });
}
END_TEST

int main()
{
    Suite *s = suite_create("vtd_regs");
    TCase *tc = tcase_create("regs");
    tcase_add_test(tc, reset_values);
    tcase_add_test(tc, access_rules);
    tcase_add_test(tc, gsts_handshakes);
    tcase_add_test(tc, register_invalidation);
    tcase_add_loop_test(tc, qi_wait_descriptor, 0, 2);
    tcase_add_test(tc, qi_bad_descriptor);
    tcase_add_test(tc, fault_recording);
    tcase_add_test(tc, fault_fpd_suppressed);
    suite_add_tcase(s, tc);
    TCase *sm = tcase_create("scalable");
    tcase_add_test(sm, sm_driver_sequence);
    tcase_add_test(sm, sm_priv_exec);
    tcase_add_loop_test(sm, sm_ttm_refused, 0, 2);
    tcase_add_test(sm, sm_qi_precision);
    tcase_add_test(sm, sm_qi_errors);
    tcase_add_loop_test(sm, sm_devtlb_forwarded, 0, 2);
    tcase_add_loop_test(sm, sm_timed_ordering, 0, 2);
    tcase_add_loop_test(sm, sm_qi_wait_after_walk, 0, 2);
    tcase_add_test(sm, sm_debug_transport);
    suite_add_tcase(s, sm);
    return ims_check_run(s);
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **)
{
    return 2;
}
