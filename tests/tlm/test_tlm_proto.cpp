// The IOMMU keeps the TLM-2.0 base protocol (IEEE 1666-2011 chapters 11, 14,
// 15; docs/vtd.md "TLM-2.0 rules"): streaming width and byte enables on
// dma_in, debug transport through the IOMMU, table reads answered with an
// error, ReqExt.at, initiators with temporal decoupling, memories that call
// wait(), nb_transport_fw from a method, and devices without an extension.
// Each case runs in its own process (Check forks) with its own platform.
#include <cstring>
#include <functional>
#include <vector>

#include "iommusim/mem.h"
#include "iommusim/vtd_iommu.hpp"
#include "kernel_check.hpp"
#include "vtd_tb.hpp"
// Check last: its fail() macro clashes with <ios>.
#include <check.h>
#include "ims_check.h"

namespace {

using vtdtb::kRid;
using vtdtb::kRoot;
constexpr std::uint64_t kBase = ims::VtdRegs::kDefaultBase;

// What arrives on dma_out, as the IOMMU sent it.
struct Seen {
    std::uint64_t addr = 0;
    unsigned len = 0, sw = 0, be_len = 0;
    const unsigned char *be = nullptr;
    tlm::tlm_command cmd = tlm::TLM_IGNORE_COMMAND;
};

// A memory target in front of an ims::Memory that records every request it
// sees (b_transport and transport_dbg) before passing it on.
struct Recorder : sc_core::sc_module {
    void b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &d)
    {
        note(t, seen);
        out->b_transport(t, d);
    }
    unsigned transport_dbg(tlm::tlm_generic_payload &t)
    {
        note(t, dbg);
        return out->transport_dbg(t);
    }
    static void note(const tlm::tlm_generic_payload &t, std::vector<Seen> &v)
    {
        v.push_back(Seen{t.get_address(), t.get_data_length(), t.get_streaming_width(), t.get_byte_enable_length(),
                         t.get_byte_enable_ptr(), t.get_command()});
    }
    ims::TargetSocket<Recorder, &Recorder::b_transport, &Recorder::transport_dbg> tsock;
    tlm_utils::simple_initiator_socket<Recorder> out;
    std::vector<Seen> seen, dbg;
    explicit Recorder(sc_core::sc_module_name n) : sc_module(n), tsock("tsock", *this), out("out") {}
};

// In front of the IOMMU's own memory: answers every access to [lo, hi]
// with TLM_ADDRESS_ERROR_RESPONSE (no DMI there either), as a hole in the
// platform's address map would; passes the rest on.
struct ErrMem : sc_core::sc_module {
    bool hit(const tlm::tlm_generic_payload &t) const
    {
        return t.get_address() <= hi && t.get_address() + t.get_data_length() > lo;
    }
    void b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &d)
    {
        if (hit(t)) {
            refused++;
            t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        out->b_transport(t, d);
    }
    unsigned transport_dbg(tlm::tlm_generic_payload &t)
    {
        if (hit(t)) {
            refused++;
            t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return 0;
        }
        return out->transport_dbg(t);
    }
    bool get_direct_mem_ptr(tlm::tlm_generic_payload &t, tlm::tlm_dmi &dmi)
    {
        if (hit(t)) {
            dmi.allow_none();
            return false;
        }
        const bool ok = out->get_direct_mem_ptr(t, dmi);
        return ok && (dmi.get_end_address() < lo || dmi.get_start_address() > hi);
    }
    void invalidate(sc_dt::uint64 s, sc_dt::uint64 e) { tsock->invalidate_direct_mem_ptr(s, e); }
    ims::TargetSocket<ErrMem, &ErrMem::b_transport, &ErrMem::transport_dbg, &ErrMem::get_direct_mem_ptr> tsock;
    tlm_utils::simple_initiator_socket<ErrMem> out;
    std::uint64_t lo = 1, hi = 0, refused = 0;
    explicit ErrMem(sc_core::sc_module_name n) : sc_module(n), tsock("tsock", *this), out("out")
    {
        out.register_invalidate_direct_mem_ptr(this, &ErrMem::invalidate);
    }
};

// A platform: the IOMMU in one step, one backing memory behind two
// ims::Memory targets (translated DMA through a Recorder; the IOMMU's own
// accesses, through an ErrMem), the tables of vtd_tb.hpp, and a thread that runs the case.
struct Platform : sc_core::sc_module {
    ims::VtdIommu vtd;
    ims_mem *backing;
    ims::Memory data, tables;
    Recorder rec;
    ErrMem err;
    tlm_utils::simple_initiator_socket<Platform> mmio, dev, ats;
    std::function<void(Platform &)> body;
    bool finished = false;

    SC_HAS_PROCESS(Platform);
    Platform(sc_core::sc_module_name n, const ims_sim_cfg &cfg, std::function<void(Platform &)> b)
        : sc_module(n), vtd("vtd", cfg), backing(ims_mem_create()), data("data", vtd.config(), vtd.clock()),
          tables("tables", vtd.config(), vtd.clock()), rec("rec"), err("err"), mmio("mmio"), dev("dev"), ats("ats"),
          body(std::move(b))
    {
        data.bind_backing(backing);
        tables.bind_backing(backing);  // last: its frame-free hook is the one kept
        mmio.bind(vtd.regs);
        dev.bind(vtd.dma_in);
        ats.bind(vtd.ats_in);
        vtd.dma_out.bind(rec.tsock);
        rec.out.bind(data.tsock);
        vtd.mem.bind(err.tsock);
        err.out.bind(tables.tsock);
        vtdtb::build_tables(backing);  // IOVA 0x10000 of 00:03.0 at 0x80000000
        SC_THREAD(run);
    }
    ~Platform() override
    {
        tables.bind_backing(nullptr);
        data.bind_backing(nullptr);
        ims_mem_destroy(backing);
    }
    static ims_sim_cfg cfg()
    {
        return ims::VtdIommu::load_config("", {});
    }
    void w32(unsigned off, std::uint32_t v)
    {
        ck_assert_int_eq(vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + off, 4, &v), tlm::TLM_OK_RESPONSE);
    }
    std::uint32_t r32(unsigned off)
    {
        std::uint32_t v = 0;
        ck_assert_int_eq(vtdtb::mmio_access(mmio, tlm::TLM_READ_COMMAND, kBase + off, 4, &v), tlm::TLM_OK_RESPONSE);
        return v;
    }
    std::uint64_t r64(unsigned off)
    {
        std::uint64_t v = 0;
        ck_assert_int_eq(vtdtb::mmio_access(mmio, tlm::TLM_READ_COMMAND, kBase + off, 8, &v), tlm::TLM_OK_RESPONSE);
        return v;
    }
    // The driver's enable sequence: root table, then translation.
    void enable()
    {
        std::uint64_t root = kRoot;
        ck_assert_int_eq(vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_RTADDR, 8, &root),
                         tlm::TLM_OK_RESPONSE);
        w32(IMS_VTD_GCMD, IMS_VTD_GCMD_SRTP);
        w32(IMS_VTD_GCMD, IMS_VTD_GCMD_SRTP | IMS_VTD_GCMD_TE);
    }
    void run()
    {
        enable();
        body(*this);
        finished = true;
        ims::park_thread();
    }
};

// A device request from kRid (with the extension unless ext is null).
struct Req {
    ims::ReqExt ext;
    tlm::tlm_generic_payload t;
    bool with_ext;
    Req(tlm::tlm_command cmd, std::uint64_t addr, unsigned char *buf, unsigned len, bool ext_on = true)
        : with_ext(ext_on)
    {
        ext.rid = kRid;
        if (with_ext)
            t.set_extension(&ext);
        t.set_command(cmd);
        t.set_address(addr);
        t.set_data_ptr(buf);
        t.set_data_length(len);
        t.set_streaming_width(len);
        t.set_byte_enable_ptr(nullptr);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    }
    ~Req()
    {
        if (with_ext)
            t.clear_extension(&ext);  // not the payload's to delete
    }
};

void run_case(std::function<void(Platform &)> body, const ims_sim_cfg &cfg = Platform::cfg())
{
    Platform p("p", cfg, std::move(body));
    kcheck::run();
    ck_assert(p.finished);
}

}  // namespace

// ---- a. Streaming width and byte enables ----

// Expected: a 64-byte read with streaming width 4 at IOVA 0x10ffc touches
// only 0x10ffc..0x10fff (one page), so it is translated and reaches memory
// at 0x80000ffc with length 64 and streaming width 4, and the data is the 4
// bytes there repeated 16 times. (Before: the IOMMU translated 64 bytes,
// which cross the page: TLM_BURST_ERROR_RESPONSE.)
START_TEST(streaming_width_honoured)
{
    run_case([](Platform &p) {
        const unsigned char word[4] = {0xa1, 0xb2, 0xc3, 0xd4};
        ims_mem_write(p.backing, 0x80000ffc, word, 4);
        unsigned char buf[64] = {};
        Req r(tlm::TLM_READ_COMMAND, 0x10ffc, buf, 64);
        r.t.set_streaming_width(4);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(r.t, d);
        ck_assert_int_eq(r.t.get_response_status(), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(r.t.get_address(), 0x10ffc);  // restored for the initiator
        ck_assert_uint_eq(p.rec.seen.size(), 1);
        ck_assert_uint_eq(p.rec.seen[0].addr, 0x80000ffc);
        ck_assert_uint_eq(p.rec.seen[0].len, 64);
        ck_assert_uint_eq(p.rec.seen[0].sw, 4);
        for (unsigned i = 0; i < 64; i++)
            ck_assert_uint_eq(buf[i], word[i % 4]);
        // A streaming write leaves the last beat in the window.
        unsigned char wb[16];
        for (unsigned i = 0; i < 16; i++)
            wb[i] = static_cast<unsigned char>(i);
        Req w(tlm::TLM_WRITE_COMMAND, 0x10ff8, wb, 16);
        w.t.set_streaming_width(8);
        d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(w.t, d);
        ck_assert_int_eq(w.t.get_response_status(), tlm::TLM_OK_RESPONSE);
        unsigned char got[8];
        ims_mem_read(p.backing, 0x80000ff8, got, 8);
        for (unsigned i = 0; i < 8; i++)
            ck_assert_uint_eq(got[i], 8 + i);
        // The window itself still may not cross the page.
        Req x(tlm::TLM_READ_COMMAND, 0x10ffc, buf, 64);
        x.t.set_streaming_width(8);
        d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(x.t, d);
        ck_assert_int_eq(x.t.get_response_status(), tlm::TLM_BURST_ERROR_RESPONSE);
    });
}
END_TEST

// Expected: byte enables go on to memory with the request (same pointer and
// length) and ims::Memory writes only the enabled bytes (a pattern shorter
// than the data repeats); a read leaves disabled bytes of the data as they were.
START_TEST(byte_enables_honoured)
{
    run_case([](Platform &p) {
        ims_mem_write64(p.backing, 0x80000100, 0x1111111111111111ull);
        unsigned char wb[8] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7};
        unsigned char be[2] = {TLM_BYTE_ENABLED, TLM_BYTE_DISABLED};
        Req w(tlm::TLM_WRITE_COMMAND, 0x10100, wb, 8);
        w.t.set_byte_enable_ptr(be);
        w.t.set_byte_enable_length(2);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(w.t, d);
        ck_assert_int_eq(w.t.get_response_status(), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(p.rec.seen.size(), 1);
        ck_assert_ptr_eq(p.rec.seen[0].be, be);
        ck_assert_uint_eq(p.rec.seen[0].be_len, 2);
        ck_assert_uint_eq(ims_mem_read64(p.backing, 0x80000100), 0x11a611a411a211a0ull);
        unsigned char rb[8];
        std::memset(rb, 0x55, 8);
        Req r(tlm::TLM_READ_COMMAND, 0x10100, rb, 8);
        unsigned char be_r[8] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
        r.t.set_byte_enable_ptr(be_r);
        r.t.set_byte_enable_length(8);
        d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(r.t, d);
        ck_assert_int_eq(r.t.get_response_status(), tlm::TLM_OK_RESPONSE);
        const unsigned char want[8] = {0x55, 0x55, 0x55, 0x55, 0xa4, 0x11, 0xa6, 0x11};
        ck_assert_mem_eq(rb, want, 8);
    });
}
END_TEST

// ---- b. Debug transport through the IOMMU ----

// Expected: transport_dbg on dma_in translates IOVA 0x10ff8 (8 bytes) and
// reads them from 0x80000ff8 through dma_out's transport_dbg (no
// b_transport anywhere); a 16-byte access crossing into the next mapped
// page (0x11000 -> 0x80005000) is split there; a write moves data the same
// way. None of it fills a cache, counts a translation or a walk, or takes
// time: the next DMA to 0x10000 still misses everything and walks.
// An unmapped IOVA answers TLM_ADDRESS_ERROR_RESPONSE with 0 bytes and
// records no fault (FSTS and fault register 0 stay clear).
START_TEST(debug_transport_translates)
{
    run_case([](Platform &p) {
        vtdtb::map(p.backing, 0x11000, 0x80005000);
        ims_mem_write64(p.backing, 0x80000ff8, 0x1122334455667788ull);
        ims_mem_write64(p.backing, 0x80005000, 0x99aabbccddeeff00ull);
        const ims_stats before = *ims_iommu_stats(p.vtd.core());
        const std::size_t mem_b = p.rec.seen.size();
        const sc_core::sc_time t0 = sc_core::sc_time_stamp();
        std::uint64_t v[2] = {0, 0};
        Req r(tlm::TLM_READ_COMMAND, 0x10ff8, reinterpret_cast<unsigned char *>(v), 8);
        ck_assert_uint_eq(p.dev->transport_dbg(r.t), 8);
        ck_assert_int_eq(r.t.get_response_status(), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(v[0], 0x1122334455667788ull);
        ck_assert_uint_eq(p.rec.dbg.size(), 1);
        ck_assert_uint_eq(p.rec.dbg[0].addr, 0x80000ff8);
        Req x(tlm::TLM_READ_COMMAND, 0x10ff8, reinterpret_cast<unsigned char *>(v), 16);
        v[0] = v[1] = 0;
        ck_assert_uint_eq(p.dev->transport_dbg(x.t), 16);
        ck_assert_uint_eq(v[0], 0x1122334455667788ull);
        ck_assert_uint_eq(v[1], 0x99aabbccddeeff00ull);
        ck_assert_uint_eq(x.t.get_address(), 0x10ff8);
        ck_assert_uint_eq(x.t.get_data_length(), 16);
        ck_assert_uint_eq(p.rec.dbg.back().addr, 0x80005000);
        std::uint64_t w = 0x0badc0de;
        Req wr(tlm::TLM_WRITE_COMMAND, 0x11008, reinterpret_cast<unsigned char *>(&w), 8);
        ck_assert_uint_eq(p.dev->transport_dbg(wr.t), 8);
        ck_assert_uint_eq(ims_mem_read64(p.backing, 0x80005008), 0x0badc0de);
        // Unmapped: an address error, nothing moved, nothing recorded.
        Req u(tlm::TLM_READ_COMMAND, 0x20000, reinterpret_cast<unsigned char *>(v), 8);
        const std::size_t dbg_b = p.rec.dbg.size();
        ck_assert_uint_eq(p.dev->transport_dbg(u.t), 0);
        ck_assert_int_eq(u.t.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(p.rec.dbg.size(), dbg_b);
        ck_assert_uint_eq(p.r32(IMS_VTD_FSTS) & 0xff, 0);
        ck_assert_uint_eq(p.r64(IMS_VTD_FRO_OFFSET + 8) >> 63, 0);
        ck_assert_uint_eq(p.vtd.vtd.stats().faults_recorded, 0);
        // No statistics, no b_transport, no time.
        const ims_stats &after = *ims_iommu_stats(p.vtd.core());
        ck_assert_uint_eq(after.translations, before.translations);
        ck_assert_uint_eq(after.walks, before.walks);
        ck_assert_uint_eq(after.faults, before.faults);
        ck_assert_uint_eq(p.vtd.iommu.timing_stats().requests, 0);
        ck_assert_uint_eq(p.rec.seen.size(), mem_b);
        ck_assert(sc_core::sc_time_stamp() == t0);
        // No cache was filled: a DMA to the page read above misses and walks.
        ims::ReqExt e;
        e.rid = kRid;
        unsigned char buf[8];
        Req dma(tlm::TLM_READ_COMMAND, 0x10ff8, buf, 8);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(dma.t, d);
        ck_assert_int_eq(dma.t.get_response_status(), tlm::TLM_OK_RESPONSE);
        ck_assert(!(dma.ext.xlate.flags & (IMS_XLATE_CTX_HIT | IMS_XLATE_IOTLB_HIT)));
        ck_assert(dma.ext.xlate.flags & IMS_XLATE_WALKED);
        ck_assert_uint_eq(dma.ext.xlate.psc_level, 0);
    });
}
END_TEST

// ---- c. Table reads answered with an error ----

// Expected, for an error answered to the read of the root table, the
// context table or the leaf page table (the memory refuses the frame:
// no DMI, debug transport TLM_ADDRESS_ERROR_RESPONSE and 0 bytes): the DMA
// faults with VT-d's access-error reason (8h root table, 9h context table,
// 7h second-level paging entry; VT-d 7.1.3), recorded in fault register 0,
// and is not forwarded. (Before: the read left 0 in the entry, so the
// faults were "not present": 1h, 2h, 6h.)
static const struct {
    std::uint64_t frame;
    unsigned reason;
} kErrCases[] = {{kRoot, IMS_FR_ROOT_TABLE_INV}, {vtdtb::kCtx, IMS_FR_CTX_TABLE_INV},
                 {vtdtb::kPml4 + 0x3000, IMS_FR_PAGING_ENTRY_INV}};

START_TEST(table_read_error_is_the_fault)
{
    const auto &c = kErrCases[_i];
    run_case([&c](Platform &p) {
        p.err.lo = c.frame;
        p.err.hi = c.frame + 0xfff;
        unsigned char buf[8];
        Req r(tlm::TLM_READ_COMMAND, 0x10000, buf, 8);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(r.t, d);
        ck_assert_int_eq(r.t.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(r.ext.xlate.fault, c.reason);
        ck_assert_uint_eq(p.rec.seen.size(), 0);
        ck_assert_uint_ge(p.err.refused, 1);
        const std::uint64_t hi = p.r64(IMS_VTD_FRO_OFFSET + 8);
        ck_assert_uint_eq(hi >> 63, 1);
        ck_assert_uint_eq((hi >> 32) & 0xff, c.reason);
        ck_assert_uint_eq(ims_iommu_stats(p.vtd.core())->fault_reason[c.reason], 1);
    });
}
END_TEST

// ---- d. ReqExt.at ----

// Expected: with the context entry's TT = 0 (device TLB not enabled), a
// request with AT = translated is blocked as VT-d says (fault Dh, recorded)
// and not forwarded; AT = translation request on dma_in is refused
// (TLM_COMMAND_ERROR_RESPONSE: translation requests go to ats_in); with
// TT = 1 (caps.device_tlb on) AT = translated passes at its own address
// while AT = untranslated is still translated. (Before: `at` was ignored
// and every request translated as untranslated: 0x10000 -> 0x80000000.)
START_TEST(at_translated_checked)
{
    run_case([](Platform &p) {
        unsigned char buf[8];
        Req r(tlm::TLM_READ_COMMAND, 0x10000, buf, 8);
        r.ext.at = IMS_AT_TRANSLATED;
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(r.t, d);
        ck_assert_int_eq(r.t.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(r.ext.xlate.fault, IMS_FR_CTX_ENTRY_TT);
        ck_assert_uint_eq(p.rec.seen.size(), 0);
        ck_assert_uint_eq((p.r64(IMS_VTD_FRO_OFFSET + 8) >> 32) & 0xff, IMS_FR_CTX_ENTRY_TT);
        Req q(tlm::TLM_READ_COMMAND, 0x10000, buf, 8);
        q.ext.at = IMS_AT_TRANSLATION;
        d = sc_core::SC_ZERO_TIME;
        p.dev->b_transport(q.t, d);
        ck_assert_int_eq(q.t.get_response_status(), tlm::TLM_COMMAND_ERROR_RESPONSE);
        ck_assert_uint_eq(p.rec.seen.size(), 0);
    });
}
END_TEST

START_TEST(at_translated_with_device_tlb)
{
    ims_sim_cfg cfg = ims::VtdIommu::load_config("", {"caps.device_tlb=1"});
    run_case(
        [](Platform &p) {
            // 00:03.0's context entry with TT = 1 (device TLB), then a
            // context-cache flush as the driver would (nothing cached yet).
            ims_ctx_entry c{};
            c.lo = ims_mem_read64(p.backing, vtdtb::kCtx + ims_ctx_offset(kRid & 0xff));
            c.hi = ims_mem_read64(p.backing, vtdtb::kCtx + ims_ctx_offset(kRid & 0xff) + 8);
            ims_ctx_set_tt(&c, IMS_TT_DEVTLB);
            ims_mem_write64(p.backing, vtdtb::kCtx + ims_ctx_offset(kRid & 0xff), c.lo);
            unsigned char buf[8];
            Req r(tlm::TLM_READ_COMMAND, 0x40000, buf, 8);
            r.ext.at = IMS_AT_TRANSLATED;
            sc_core::sc_time d = sc_core::SC_ZERO_TIME;
            p.dev->b_transport(r.t, d);
            ck_assert_int_eq(r.t.get_response_status(), tlm::TLM_OK_RESPONSE);
            ck_assert_uint_eq(p.rec.seen.size(), 1);
            ck_assert_uint_eq(p.rec.seen[0].addr, 0x40000);
            Req u(tlm::TLM_READ_COMMAND, 0x10000, buf, 8);
            d = sc_core::SC_ZERO_TIME;
            p.dev->b_transport(u.t, d);
            ck_assert_int_eq(u.t.get_response_status(), tlm::TLM_OK_RESPONSE);
            ck_assert_uint_eq(p.rec.seen.back().addr, 0x80000000);
        },
        cfg);
}
END_TEST

// ---- e. Temporal decoupling: arrivals not monotonic across initiators ----

// Two initiator threads at time 0: A (declared first, so it calls first)
// runs 100000 cycles ahead of simulated time; B arrives at once. Both miss
// (one walker). Expected with TimeOrder::sync (VtdIommu's default): B is
// timed at its own time, first: it misses the context and walks alone, its
// latency far below A's offset; A, timed at cycle 100000, finds the context
// cached and the walker free. (Before, as with TimeOrder::caller: A was
// timed first and B, arriving earlier, waited behind A's walk and context
// fill: its latency exceeded 100000 cycles.)
struct TwoInitiators : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<TwoInitiators> a, b, ats, dma, mmio;
    unsigned char buf_a[8], buf_b[8];
    Req ra{tlm::TLM_READ_COMMAND, 0x40000, buf_a, 8}, rb{tlm::TLM_READ_COMMAND, 0x10000, buf_b, 8};
    sc_core::sc_time done_a, done_b;
    sc_core::sc_event enabled;
    const ims::Clock &clk;
    SC_HAS_PROCESS(TwoInitiators);
    TwoInitiators(sc_core::sc_module_name n, const ims::Clock &c)
        : sc_module(n), a("a"), b("b"), ats("ats"), dma("dma"), mmio("mmio"), clk(c)
    {
        SC_THREAD(run_drv);
        SC_THREAD(run_a);
        SC_THREAD(run_b);
    }
    void run_drv()  // the driver's enable sequence, then the devices go
    {
        std::uint64_t root = kRoot;
        vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_RTADDR, 8, &root);
        std::uint32_t v = IMS_VTD_GCMD_SRTP;
        vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_GCMD, 4, &v);
        v = IMS_VTD_GCMD_SRTP | IMS_VTD_GCMD_TE;
        vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_GCMD, 4, &v);
        enabled.notify(sc_core::SC_ZERO_TIME);
        ims::park_thread();
    }
    void run_a()
    {
        wait(enabled);
        sc_core::sc_time d = clk.to_time(100000);  // local time ahead (quantum keeper)
        a->b_transport(ra.t, d);
        done_a = sc_core::sc_time_stamp() + d;
        ims::park_thread();
    }
    void run_b()
    {
        wait(enabled);
        wait(sc_core::SC_ZERO_TIME);  // A calls first
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        b->b_transport(rb.t, d);
        done_b = sc_core::sc_time_stamp() + d;
        ims::park_thread();
    }
};

START_TEST(decoupled_initiators_timed_in_arrival_order)
{
    ims_sim_cfg cfg = ims::VtdIommu::load_config("", {"walker.count=1"});
    ims::VtdIommu vtd("vtd", cfg);
    ck_assert(vtd.iommu.time_order() == ims::Iommu::TimeOrder::sync);
    ims_mem *backing = ims_mem_create();
    ims::Memory memory("memory", vtd.config(), vtd.clock());
    memory.bind_backing(backing);
    vtdtb::Sink sink("sink");
    vtdtb::build_tables(backing);
    vtdtb::map(backing, 0x40000, 0x80040000);
    TwoInitiators init("init", vtd.clock());
    init.a.bind(vtd.device_socket(kRid));
    init.b.bind(vtd.device_socket(kRid));
    init.ats.bind(vtd.ats_in);
    init.dma.bind(vtd.dma_in);
    init.mmio.bind(vtd.regs);
    vtd.dma_out.bind(sink.tsock);
    vtd.mem.bind(memory.tsock);
    kcheck::run();
    ck_assert_int_eq(init.ra.t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ck_assert_int_eq(init.rb.t.get_response_status(), tlm::TLM_OK_RESPONSE);
    const ims::ReqExt &ea = init.ra.ext, &eb = init.rb.ext;
    ck_assert(eb.xlate.flags & IMS_XLATE_WALKED);
    ck_assert(!(eb.xlate.flags & IMS_XLATE_CTX_HIT));  // B went first: it read the context
    ck_assert(ea.xlate.flags & IMS_XLATE_CTX_HIT);
    ck_assert(ea.xlate.flags & IMS_XLATE_WALKED);
    ck_assert_uint_lt(eb.latency, 50000);
    ck_assert_uint_lt(ea.latency, eb.latency);  // context cached, walker free
    ck_assert_uint_eq(ea.queue_delay, 0);
    ck_assert(init.done_b == vtd.clock().to_time(eb.latency));
    ck_assert(init.done_a == vtd.clock().to_time(100000 + ea.latency));
    memory.bind_backing(nullptr);
    ims_mem_destroy(backing);
}
END_TEST

// ---- f. A memory that calls wait(); nb_transport_fw from a method ----

// A memory that models its latency with wait() in b_transport (its
// annotation first, then 50 ns), in front of an ims::Memory.
struct WaitMem : sc_core::sc_module {
    void b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &d)
    {
        wait(d);
        d = sc_core::SC_ZERO_TIME;
        out->b_transport(t, d);  // the ims::Memory's own latency, annotated
        wait(d + sc_core::sc_time(50, sc_core::SC_NS));
        d = sc_core::SC_ZERO_TIME;
        waits++;
    }
    unsigned transport_dbg(tlm::tlm_generic_payload &t) { return out->transport_dbg(t); }
    ims::TargetSocket<WaitMem, &WaitMem::b_transport, &WaitMem::transport_dbg> tsock;
    tlm_utils::simple_initiator_socket<WaitMem> out;
    unsigned waits = 0;
    explicit WaitMem(sc_core::sc_module_name n) : sc_module(n), tsock("tsock", *this), out("out") {}
};

// A platform whose memories (table reads and DMA) both wait.
struct WaitPlatform : sc_core::sc_module {
    ims::VtdIommu vtd;
    ims_mem *backing;
    ims::Memory data, tables;
    WaitMem wdata, wtables;
    tlm_utils::simple_initiator_socket<WaitPlatform> mmio, dev, ats;
    WaitPlatform(sc_core::sc_module_name n, const ims_sim_cfg &cfg)
        : sc_module(n), vtd("vtd", cfg), backing(ims_mem_create()), data("data", vtd.config(), vtd.clock()),
          tables("tables", vtd.config(), vtd.clock()), wdata("wdata"), wtables("wtables"), mmio("mmio"), dev("dev"),
          ats("ats")
    {
        data.bind_backing(backing);
        tables.bind_backing(backing);
        mmio.bind(vtd.regs);
        ats.bind(vtd.ats_in);
        vtd.dma_out.bind(wdata.tsock);
        wdata.out.bind(data.tsock);
        vtd.mem.bind(wtables.tsock);
        wtables.out.bind(tables.tsock);
        vtdtb::build_tables(backing);
    }
    ~WaitPlatform() override
    {
        tables.bind_backing(nullptr);
        data.bind_backing(nullptr);
        ims_mem_destroy(backing);
    }
    void enable()
    {
        std::uint64_t root = kRoot;
        vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_RTADDR, 8, &root);
        std::uint32_t v = IMS_VTD_GCMD_SRTP;
        vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_GCMD, 4, &v);
        v = IMS_VTD_GCMD_SRTP | IMS_VTD_GCMD_TE;
        vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_GCMD, 4, &v);
    }
};

// Expected: a DMA through the IOMMU whose table reads and forwarded access
// both wait() completes OK with the data; its six table reads each waited
// (one after another: the next read is issued after the previous one's
// wait); the completion the initiator sees (time after the call + returned
// delay) is its arrival + the IOMMU's latency + the data access's wait, not
// those waits counted twice; and an invalidation-queue wait descriptor's
// status write (the IOMMU's own timed write) goes through the waiting memory too.
struct WaitCase : WaitPlatform {
    bool finished = false;
    SC_HAS_PROCESS(WaitCase);
    WaitCase(sc_core::sc_module_name n, const ims_sim_cfg &cfg) : WaitPlatform(n, cfg)
    {
        dev.bind(vtd.dma_in);
        SC_THREAD(run);
    }
    void run()
    {
        check_waits();
        ims::park_thread();
    }
    void check_waits()
    {
        enable();
        ims_mem_write64(backing, 0x80000040, 0x0123456789abcdefull);
        std::uint64_t v = 0;
        Req r(tlm::TLM_READ_COMMAND, 0x10040, reinterpret_cast<unsigned char *>(&v), 8);
        const sc_core::sc_time t0 = sc_core::sc_time_stamp();
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        dev->b_transport(r.t, d);
        ck_assert_int_eq(r.t.get_response_status(), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(v, 0x0123456789abcdefull);
        ck_assert_uint_eq(wtables.waits, 6);  // root, context, four paging entries
        ck_assert_uint_eq(wdata.waits, 1);
        ck_assert(sc_core::sc_time_stamp() > t0);
        const ims::Clock &clk = vtd.clock();
        // The IOMMU's latency includes the table reads' waits; the data
        // access's wait comes after it.
        const sc_core::sc_time seen = sc_core::sc_time_stamp() + d - t0;
        ck_assert_uint_ge(r.ext.latency, clk.to_cycles(sc_core::sc_time(6 * 50, sc_core::SC_NS)));
        ck_assert(seen >= clk.to_time(r.ext.latency) + sc_core::sc_time(50, sc_core::SC_NS));
        ck_assert(seen < clk.to_time(r.ext.latency) + sc_core::sc_time(50, sc_core::SC_NS) +
                             clk.to_time(2 * vtd.config().mem_latency + 2));
        // Queued invalidation: a wait descriptor with a status write.
        const std::uint64_t q = 0x200000, status = 0x201000;
        const std::uint64_t dsc[2] = {0x5 | (1u << 5) | (std::uint64_t{0xcafe} << 32), status};
        ims_mem_write(backing, q, dsc, 16);
        std::uint64_t iqa = q;
        vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_IQA, 8, &iqa);
        std::uint32_t g = IMS_VTD_GCMD_TE | IMS_VTD_GCMD_QIE;
        vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_GCMD, 4, &g);
        const unsigned before = wtables.waits;
        std::uint64_t iqt = 16;
        ck_assert_int_eq(vtdtb::mmio_access(mmio, tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_IQT, 8, &iqt),
                         tlm::TLM_OK_RESPONSE);
        for (unsigned i = 0; i < 1000 && (ims_mem_read64(backing, status) & 0xffffffff) != 0xcafe; i++)
            wait(100, sc_core::SC_NS);  // polled as a driver does
        ck_assert_uint_eq(ims_mem_read64(backing, status) & 0xffffffff, 0xcafe);
        wait(1, sc_core::SC_US);  // the status write's data moves first, its timed access then waits
        ck_assert_uint_ge(wtables.waits, before + 2);  // the fetch and the status write
        finished = true;
    }
};

START_TEST(memory_that_waits)
{
    WaitCase p("p", ims::VtdIommu::load_config("", {}));
    kcheck::run();
    ck_assert(p.finished);
}
END_TEST

// Expected: a device whose requests come from an SC_METHOD through
// nb_transport_fw (BEGIN_REQ), with memories that wait(): the IOMMU accepts
// at once (TLM_UPDATED, END_REQ), never waits in the method, and answers
// BEGIN_RESP on the backward path with the translated access done (status
// OK, the data read); a second request after END_RESP completes too.
// (Before: nb_transport_fw ran b_transport in the caller, so the memory's
// wait() ran in a method process: a SystemC error.)
struct MethodDevice : WaitPlatform, tlm::tlm_bw_transport_if<> {
    tlm::tlm_initiator_socket<32> nb;
    std::uint64_t v[2] = {0, 0};
    Req r0{tlm::TLM_READ_COMMAND, 0x10040, reinterpret_cast<unsigned char *>(&v[0]), 8, false};
    Req r1{tlm::TLM_READ_COMMAND, 0x10048, reinterpret_cast<unsigned char *>(&v[1]), 8, false};
    unsigned sent = 0, responses = 0;
    std::vector<tlm::tlm_sync_enum> fw_ret;
    std::vector<tlm::tlm_phase> fw_phase;
    sc_core::sc_event kick;
    SC_HAS_PROCESS(MethodDevice);
    MethodDevice(sc_core::sc_module_name n, const ims_sim_cfg &cfg) : WaitPlatform(n, cfg), nb("nb")
    {
        nb.bind(*this);
        nb.bind(vtd.device_socket(kRid));
        dev.bind(vtd.dma_in);
        SC_THREAD(drive);
        SC_METHOD(issue);
        sensitive << kick;
        dont_initialize();
    }
    void drive()
    {
        enable();
        ims_mem_write64(backing, 0x80000040, 0x1111);
        ims_mem_write64(backing, 0x80000048, 0x2222);
        kick.notify(sc_core::SC_ZERO_TIME);
        ims::park_thread();
    }
    void issue()  // a method: must not wait
    {
        Req &r = sent == 0 ? r0 : r1;
        tlm::tlm_phase ph = tlm::BEGIN_REQ;
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        fw_ret.push_back(nb->nb_transport_fw(r.t, ph, d));
        fw_phase.push_back(ph);
        sent++;
    }
    tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload &t, tlm::tlm_phase &ph, sc_core::sc_time &) override
    {
        ck_assert(ph == tlm::BEGIN_RESP);
        ck_assert_int_eq(t.get_response_status(), tlm::TLM_OK_RESPONSE);
        responses++;
        if (responses == 1)
            kick.notify(sc_core::SC_ZERO_TIME);  // the next request once this one is answered
        ph = tlm::END_RESP;
        return tlm::TLM_COMPLETED;
    }
    void invalidate_direct_mem_ptr(sc_dt::uint64, sc_dt::uint64) override {}
};

START_TEST(nb_transport_from_a_method)
{
    MethodDevice p("p", ims::VtdIommu::load_config("", {}));
    kcheck::run();
    ck_assert_uint_eq(p.sent, 2);
    ck_assert_uint_eq(p.responses, 2);
    for (unsigned i = 0; i < 2; i++) {
        ck_assert_int_eq(p.fw_ret[i], tlm::TLM_UPDATED);
        ck_assert(p.fw_phase[i] == tlm::END_REQ);
    }
    ck_assert_uint_eq(p.v[0], 0x1111);
    ck_assert_uint_eq(p.v[1], 0x2222);
    ck_assert_uint_eq(p.wtables.waits, 6);  // the first walk; the second hits the IOTLB
}
END_TEST

// ---- g. Devices without an extension, one socket per requester ID ----

// Expected: two unmodified devices (payloads with no ReqExt) on
// device_socket(00:03.0) and device_socket(00:04.0): the first is
// translated through its context (0x10000 -> 0x80000000); the second has
// no context entry, so it faults "context entry not present" (2h) and the
// fault record names source id 0x0020, the socket's. Debug transport on a
// device socket translates with its requester ID too. (Before: a payload
// without a ReqExt got TLM_GENERIC_ERROR_RESPONSE; there was no socket per
// requester ID.)
struct TwoDevices : Platform {
    tlm_utils::simple_initiator_socket<TwoDevices> d3, d4;
    TwoDevices(sc_core::sc_module_name n, std::function<void(Platform &)> b)
        : Platform(n, Platform::cfg(), std::move(b)), d3("d3"), d4("d4")
    {
        d3.bind(vtd.device_socket(0x0018));
        d4.bind(vtd.device_socket(0x0020));
    }
};

START_TEST(devices_without_extension)
{
    TwoDevices *self = nullptr;
    TwoDevices p("p", [&self](Platform &) {
        TwoDevices &q = *self;
        unsigned char buf[8];
        Req a(tlm::TLM_READ_COMMAND, 0x10000, buf, 8, false);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        q.d3->b_transport(a.t, d);
        ck_assert_int_eq(a.t.get_response_status(), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(q.rec.seen.back().addr, 0x80000000);
        Req b(tlm::TLM_READ_COMMAND, 0x10000, buf, 8, false);
        d = sc_core::SC_ZERO_TIME;
        q.d4->b_transport(b.t, d);
        ck_assert_int_eq(b.t.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ck_assert_uint_eq(q.rec.seen.size(), 1);
        const std::uint64_t hi = q.r64(IMS_VTD_FRO_OFFSET + 8);
        ck_assert_uint_eq(hi >> 63, 1);
        ck_assert_uint_eq((hi >> 32) & 0xff, IMS_FR_CTX_ENTRY_P);
        ck_assert_uint_eq(hi & 0xffff, 0x0020);
        std::uint64_t v = 0;
        ims_mem_write64(q.backing, 0x80000008, 0x77);
        Req g(tlm::TLM_READ_COMMAND, 0x10008, reinterpret_cast<unsigned char *>(&v), 8, false);
        ck_assert_uint_eq(q.d3->transport_dbg(g.t), 8);
        ck_assert_uint_eq(v, 0x77);
        // On dma_in a payload without the extension is still an error.
        Req e(tlm::TLM_READ_COMMAND, 0x10000, buf, 8, false);
        d = sc_core::SC_ZERO_TIME;
        q.dev->b_transport(e.t, d);
        ck_assert_int_eq(e.t.get_response_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);
    });
    self = &p;
    kcheck::run();
    ck_assert(p.finished);
}
END_TEST

int main()
{
    Suite *s = suite_create("tlm_proto");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, streaming_width_honoured);
    tcase_add_test(tc, byte_enables_honoured);
    tcase_add_test(tc, debug_transport_translates);
    tcase_add_loop_test(tc, table_read_error_is_the_fault, 0, 3);
    tcase_add_test(tc, at_translated_checked);
    tcase_add_test(tc, at_translated_with_device_tlb);
    tcase_add_test(tc, decoupled_initiators_timed_in_arrival_order);
    tcase_add_test(tc, memory_that_waits);
    tcase_add_test(tc, nb_transport_from_a_method);
    tcase_add_test(tc, devices_without_extension);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **)
{
    return 2;
}
