// The VT-d register file (iommusim/vtd_regs.hpp) driven as a driver would:
// a small SystemC platform (its own memory, a data sink that remembers
// addresses, the IOMMU with its register file) and a driver thread that
// writes tables into memory and programs the registers over the `regs`
// socket. Each case runs one simulation (Check forks a process per case);
// expected values are worked out in the comments.
#include <cstring>
#include <functional>
#include <map>

#include "iommusim/tlm.hpp"
#include "iommusim/vtd_regs.hpp"
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
    sc_core::sc_start();
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
        // Reserved bits: RTADDR [11:0], FEADDR [1:0], FEDATA [31:16] (no
        // EIM), IQA [11:3], IQT outside [18:4], IVA [11:7].
        tb.w64(IMS_VTD_RTADDR, ~UINT64_C(0));
        ck_assert_uint_eq(tb.r64(IMS_VTD_RTADDR), ~UINT64_C(0xfff));
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
    return ims_check_run(s);
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **)
{
    return 2;
}
