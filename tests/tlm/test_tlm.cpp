// Timing-model tests: each case builds its own SystemC world (Check forks a
// process per test), elaborates it, then drives Iommu::translate() and the
// sockets directly with chosen arrival cycles.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>

#include "iommusim/cosim.hpp"
#include "iommusim/run.hpp"
#include "kernel_check.hpp"

// After the C++ headers: check.h defines a macro `fail` that std::ios uses.
#include <check.h>
#include "ims_check.h"

namespace {

// A device with a DMA socket and an ATS socket, for binding.
struct Dev : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Dev> dma, ats;
    explicit Dev(sc_core::sc_module_name n) : sc_module(n), dma("dma"), ats("ats") {}
};

constexpr std::uint16_t kRid = IMS_BDF(0, 3, 0);
constexpr std::uint16_t kDid = 1;

// Timing parameters chosen so every latency is easy to predict.
ims_sim_cfg test_cfg()
{
    ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    c.ctx_latency = 2;
    c.iotlb_latency = 3;
    c.psc_latency = 0;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        c.iommu.psc[l].sets = c.iommu.psc[l].ways = 0;  // no paging-structure caches
    c.walkers = 2;
    c.walk_queue = 8;
    c.walk_step = 1;
    c.fill_latency = 4;
    c.mem_latency = 100;
    c.mem_bytes_per_cycle = 4096;  // bandwidth never binds
    c.mem_outstanding = 4096;
    c.inv_latency = 10;
    return c;
}

struct Rig {
    ims_sim_cfg cfg;
    ims::Clock clk;
    ims::Memory memory;
    ims::DataSink sink;
    ims::Iommu iommu;
    Dev dev;
    ims_trace_hdr hdr{};
    ims_replay *rp = nullptr;

    explicit Rig(const ims_sim_cfg &c)
        : cfg(c), clk(c.clock_mhz), memory("memory", cfg, clk), sink("sink"), iommu("iommu", cfg, clk), dev("dev")
    {
        ims_replay_cfg rc;
        ims_replay_cfg_default(&rc);
        rc.iommu = cfg.iommu;
        rc.tb.caps = cfg.iommu.caps;
        char err[256];
        rp = ims_replay_create(&hdr, &rc, &ims::Iommu::kMemOps, &iommu, err, sizeof err);
        ck_assert_msg(rp != nullptr, "replay: %s", err);
        memory.bind_backing(ims_replay_mem(rp));
        iommu.bind_core(ims_replay_iommu(rp));
        dev.dma.bind(iommu.dma_in);
        dev.ats.bind(iommu.ats_in);
        iommu.dma_out.bind(sink.tsock);
        iommu.mem.bind(memory.tsock);
        kcheck::run(sc_core::SC_ZERO_TIME);  // elaborate: sockets resolve
        ims_rec r{};
        r.kind = IMS_REC_ATTACH;
        r.rid = kRid;
        r.did = kDid;
        r.levels = 4;
        r.tt = IMS_TT_DEVTLB;
        apply(r);
    }
    ~Rig() { ims_replay_destroy(rp); }

    void apply(const ims_rec &r)
    {
        char err[256];
        ck_assert_msg(ims_replay_control(rp, &r, err, sizeof err) == 0, "control: %s", err);
    }
    // Maps `pages` 4 KiB pages at iova -> pa, read/write.
    void map(std::uint64_t iova, std::uint64_t pa, std::uint64_t pages = 1)
    {
        ims_rec r{};
        r.kind = IMS_REC_MAP;
        r.did = kDid;
        r.iova = iova;
        r.pa = pa;
        r.size = pages * 4096;
        r.perm = IMS_PERM_RW;
        apply(r);
    }
    ims::ReqExt xlate(ims::Cycles t, std::uint64_t iova, bool write = false)
    {
        ims_req q{};
        q.rid = kRid;
        q.pasid = IMS_NO_PASID;
        q.iova = iova;
        q.size = 64;
        q.access = write ? IMS_PERM_W : IMS_PERM_R;
        q.at = IMS_AT_UNTRANSLATED;
        ims::ReqExt e;
        iommu.translate(t, q, e);
        return e;
    }
    const ims_stats &core() { return *ims_iommu_stats(ims_replay_iommu(rp)); }
    // Latency of a walk of `levels` levels after a context hit and IOTLB miss.
    ims::Cycles walk_latency(unsigned levels) const
    {
        return cfg.ctx_latency + cfg.iotlb_latency + cfg.psc_latency + levels * (cfg.walk_step + cfg.mem_latency) +
               cfg.fill_latency;
    }
};

// First request: context miss (root + context reads) then a 4-level walk.
// Then an isolated hit costs exactly context + IOTLB lookup, and an isolated
// miss (context now cached) exactly the walk formula.
START_TEST(isolated_hit_and_miss_latency)
{
    Rig r(test_cfg());
    r.map(0x10000, 0x80000000);
    r.map(0x40000000, 0x90000000);  // another 1 GiB region: shares no table below the root
    ims::ReqExt e = r.xlate(0, 0x10000);
    ck_assert_int_eq(e.xlate.fault, 0);
    ck_assert_uint_eq(e.xlate.pa, 0x80000000);
    ck_assert_uint_eq(e.latency, r.walk_latency(4) + 2 * r.cfg.mem_latency);  // + root and context reads

    e = r.xlate(10000, 0x10000);  // hit
    ck_assert(e.xlate.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_uint_eq(e.latency, r.cfg.ctx_latency + r.cfg.iotlb_latency);

    e = r.xlate(20000, 0x40000000);  // miss, context cached
    ck_assert(e.xlate.flags & IMS_XLATE_WALKED);
    ck_assert_uint_eq(e.latency, r.walk_latency(4));
    ck_assert_uint_eq(e.queue_delay, 0);
}
END_TEST

// Latencies follow the configuration, not constants: change each knob.
START_TEST(latency_follows_config)
{
    ims_sim_cfg c = test_cfg();
    c.mem_latency = 37;
    c.iotlb_latency = 5;
    c.fill_latency = 9;
    c.walk_step = 3;
    Rig r(c);
    r.map(0x10000, 0x80000000);
    r.map(0x40000000, 0x90000000);
    r.xlate(0, 0x10000);
    ck_assert_uint_eq(r.xlate(1000, 0x10000).latency, c.ctx_latency + 5);
    ck_assert_uint_eq(r.xlate(2000, 0x40000000).latency, r.walk_latency(4));
}
END_TEST

// N misses to one page in the same cycle cause one walk; the others wait for
// its fill (merged) and finish no earlier than it.
START_TEST(simultaneous_misses_one_walk)
{
    Rig r(test_cfg());
    r.map(0x10000, 0x80000000, 2);
    r.xlate(0, 0x11000);  // warm the context cache with the neighbouring page
    const std::uint64_t walks0 = r.core().walks;
    const ims::Cycles t = 5000;
    ims::ReqExt first = r.xlate(t, 0x10000);
    ck_assert(first.xlate.flags & IMS_XLATE_WALKED);
    const ims::Cycles done = t + first.latency;
    for (int i = 1; i < 8; i++) {
        ims::ReqExt e = r.xlate(t, 0x10000 + 64 * i);
        ck_assert(e.xlate.flags & IMS_XLATE_IOTLB_HIT);
        ck_assert(e.merged);
        ck_assert_uint_eq(e.xlate.pa, 0x80000000 + 64 * i);
        ck_assert_uint_ge(t + e.latency, done);
    }
    ck_assert_uint_eq(r.core().walks - walks0, 1);
    ck_assert_uint_eq(r.iommu.timing_stats().merged, 7);
}
END_TEST

// With W walkers, the (W+1)-th concurrent miss waits for the first walker to
// free up: its queueing delay is exactly that wait.
START_TEST(walker_contention)
{
    Rig r(test_cfg());  // 2 walkers
    for (int i = 0; i < 3; i++)
        r.map(0x40000000ull * (i + 1), 0x80000000ull + 0x1000 * i);
    r.map(0x10000, 0x70000000);
    r.xlate(0, 0x10000);  // warm the context cache
    const ims::Cycles t = 5000;
    ims::ReqExt a = r.xlate(t, 0x40000000);
    ims::ReqExt b = r.xlate(t, 0x80000000);
    ims::ReqExt c = r.xlate(t, 0xc0000000);
    ck_assert_uint_eq(a.queue_delay, 0);
    ck_assert_uint_eq(b.queue_delay, 0);
    // Lookups are accepted one per cycle (iotlb.ports = 1): a at t, b at t+1, c at t+2.
    const ims::Cycles a_done = t + a.latency;
    const ims::Cycles c_ready = t + 2 + r.cfg.ctx_latency + r.cfg.iotlb_latency;
    ck_assert_uint_eq(c.queue_delay, a_done - c_ready);
    ck_assert_uint_eq(t + c.latency, a_done + r.walk_latency(4) - r.cfg.ctx_latency - r.cfg.iotlb_latency);
    ck_assert_uint_eq(r.iommu.timing_stats().queued, 1);
}
END_TEST

// A hit arriving while a walk is in flight is not blocked behind it.
START_TEST(hit_under_miss)
{
    Rig r(test_cfg());
    r.map(0x10000, 0x80000000);
    r.map(0x40000000, 0x90000000);
    r.xlate(0, 0x10000);  // page 0x10000 now in the IOTLB
    const ims::Cycles t = 5000;
    ims::ReqExt miss = r.xlate(t, 0x40000000);
    ims::ReqExt hit = r.xlate(t + 1, 0x10000);
    ck_assert(miss.xlate.flags & IMS_XLATE_WALKED);
    ck_assert(hit.xlate.flags & IMS_XLATE_IOTLB_HIT);
    ck_assert_uint_eq(hit.latency, r.cfg.ctx_latency + r.cfg.iotlb_latency);
    ck_assert_uint_lt(t + 1 + hit.latency, t + miss.latency);
}
END_TEST

// A full walk queue stalls the input: later requests, hits included, wait.
START_TEST(queue_backpressure)
{
    ims_sim_cfg c = test_cfg();
    c.walkers = 1;
    c.walk_queue = 1;
    Rig r(c);
    for (int i = 0; i < 3; i++)
        r.map(0x40000000ull * (i + 1), 0x80000000ull + 0x1000 * i);
    r.map(0x10000, 0x70000000);
    r.xlate(0, 0x10000);
    const ims::Cycles t = 5000;
    r.xlate(t, 0x40000000);      // walks
    r.xlate(t, 0x80000000);      // queued (queue now full)
    ims::ReqExt third = r.xlate(t, 0xc0000000);  // queue full: input stalls
    ims::ReqExt hit = r.xlate(t + 3, 0x10000);
    ck_assert_uint_gt(third.queue_delay, 0);
    ck_assert_uint_gt(hit.latency, r.cfg.ctx_latency + r.cfg.iotlb_latency);
    ck_assert_uint_gt(r.iommu.timing_stats().input_stall_cycles, 0);
}
END_TEST

// drain: an invalidation covering a page being walked completes only after
// that walk; discard: it does not wait. Either way the entry is gone after.
START_TEST(invalidation_ordering)
{
    {
        const int policy = _i;  // one process per policy: a SystemC kernel elaborates once
        ims_sim_cfg c = test_cfg();
        c.inv_policy = static_cast<std::uint8_t>(policy);
        Rig r(c);
        r.map(0x10000, 0x80000000);
        r.map(0x40000000, 0x90000000);
        r.xlate(0, 0x10000);
        const ims::Cycles t = 5000;
        ims::ReqExt miss = r.xlate(t, 0x40000000);
        const ims::Cycles walk_done = t + miss.latency;
        const ims::Cycles done = r.iommu.invalidate_iotlb(t + 10, IMS_INV_PAGE, kDid, 0x40000000, 0, false);
        if (policy == IMS_INV_DRAIN)
            ck_assert_uint_eq(done, walk_done + c.inv_latency);
        else
            ck_assert_uint_eq(done, t + 10 + c.inv_latency);
        // A leaf-only (ih) invalidation of another page does not wait for the
        // walk, nor does one of another domain. Without ih it would: it also
        // removes the PML4E cache entry covering 0x10000, which the walk fills.
        ck_assert_uint_eq(r.iommu.invalidate_iotlb(t + 20, IMS_INV_PAGE, kDid, 0x10000, 0, true), t + 20 + c.inv_latency);
        ck_assert_uint_eq(r.iommu.invalidate_iotlb(t + 30, IMS_INV_DOMAIN, kDid + 1, 0, 0, false), t + 30 + c.inv_latency);
        // Without ih it waits for exactly that fill: the walk's first read.
        const ims::Cycles pml4e_ready =
            t + c.ctx_latency + c.iotlb_latency + c.psc_latency + c.walk_step + c.mem_latency;
        if (policy == IMS_INV_DRAIN)
            ck_assert_uint_eq(r.iommu.invalidate_iotlb(t + 40, IMS_INV_PAGE, kDid, 0x10000, 0, false),
                              pml4e_ready + c.inv_latency);
        ims::ReqExt again = r.xlate(walk_done + 1000, 0x40000000);
        ck_assert(again.xlate.flags & IMS_XLATE_WALKED);
    }
}
END_TEST

// A fault is written to the fault queue in memory through the memory port.
START_TEST(fault_record_lands_in_memory)
{
    Rig r(test_cfg());
    r.map(0x10000, 0x80000000);
    ims::ReqExt e = r.xlate(0, 0x5000, true);  // unmapped
    ck_assert_uint_ne(e.xlate.fault, 0);
    ck_assert(e.xlate.flags & IMS_XLATE_FAULT_RECORDED);
    ck_assert_uint_eq(r.iommu.timing_stats().fault_writes, 2);  // one 16-byte record = two 8-byte writes
    ims_fault_record rec[4];
    const std::size_t n = ims_fq_drain(ims_replay_iommu(r.rp), ims_replay_mem(r.rp), rec, 4);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(rec[0].addr, 0x5000);
    ck_assert_uint_eq(rec[0].sid, kRid);
    ck_assert_uint_eq(rec[0].reason, e.xlate.fault);
    ck_assert(!rec[0].is_read);
}
END_TEST

// A 64-byte device read of `addr` from kRid, ready for a socket call.
struct DmaPayload {
    unsigned char buf[64];
    ims::ReqExt ext;
    tlm::tlm_generic_payload t;
    explicit DmaPayload(std::uint64_t addr)
    {
        ext.rid = kRid;
        t.set_extension(&ext);
        t.set_command(tlm::TLM_READ_COMMAND);
        t.set_address(addr);
        t.set_data_ptr(buf);
        t.set_data_length(64);
        t.set_streaming_width(64);
    }
    ~DmaPayload() { t.clear_extension(&ext); }  // not the payload's to delete
};

// Through the sockets: a DMA is translated and forwarded to memory with the
// translated address; a fault is answered with an address error and not
// forwarded; an ATS translation request returns the translation only.
START_TEST(sockets_forward_and_ats)
{
    Rig r(test_cfg());
    r.map(0x10000, 0x80000000);
    DmaPayload p(0x10040);
    tlm::tlm_generic_payload &t = p.t;
    const ims::ReqExt &ext = p.ext;
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    r.dev.dma->b_transport(t, d);
    ck_assert_int_eq(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ck_assert_uint_eq(ext.xlate.pa, 0x80000040);
    ck_assert_uint_eq(t.get_address(), 0x10040);  // restored for the initiator
    ck_assert_uint_eq(r.sink.requests(), 1);
    ck_assert(d == r.clk.to_time(ext.latency));

    t.set_address(0x30000);  // unmapped
    d = sc_core::SC_ZERO_TIME;
    r.dev.dma->b_transport(t, d);
    ck_assert_int_eq(t.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    ck_assert_uint_eq(r.sink.requests(), 1);

    t.set_address(0x10000);
    d = sc_core::SC_ZERO_TIME;
    r.dev.ats->b_transport(t, d);
    ck_assert_int_eq(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ck_assert_uint_eq(ext.xlate.pa, 0x80000000);
    ck_assert_uint_eq(r.sink.requests(), 1);
}
END_TEST

// The RTL walker through the sockets (walker.impl lockstep, then rtl): a
// DMA and an ATS translation request that walk agree with the C core, and
// an ATS request that finds no translation completes with R = W = 0 and no
// fault, which the RTL walker reports as the walk's read fault (0x6): that
// is the same answer, not a mismatch, and rtl mode delivers it as such.
static void cosim_ats(std::uint8_t impl)
{
    ims_sim_cfg c = test_cfg();
    c.walker_impl = impl;
    Rig r(c);
    std::string err;
    auto cosim = ims::Cosim::create(c, ims_replay_iommu(r.rp), 1000, ims::Cosim::Options(), &err);
    ck_assert_msg(cosim != nullptr, "%s", err.c_str());
    r.iommu.set_walker(cosim.get());
    r.map(0x10000, 0x80000000);
    DmaPayload p(0x10040);
    tlm::tlm_generic_payload &t = p.t;
    const ims::ReqExt &ext = p.ext;
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    r.dev.dma->b_transport(t, d);  // a walk: the context is read first
    ck_assert_int_eq(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ck_assert_uint_eq(ext.xlate.pa, 0x80000040);
    t.set_address(0x20000);  // mapped below, unmapped here: ATS finds no translation
    d = sc_core::SC_ZERO_TIME;
    r.dev.ats->b_transport(t, d);
    ck_assert_int_eq(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ck_assert_uint_eq(ext.xlate.fault, 0);
    ck_assert_uint_eq(ext.xlate.perm, 0);
    ck_assert(ext.xlate.flags & IMS_XLATE_WALKED);
    r.map(0x30000, 0x90000000);
    t.set_address(0x30000);
    d = sc_core::SC_ZERO_TIME;
    r.dev.ats->b_transport(t, d);
    ck_assert_int_eq(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ck_assert_uint_eq(ext.xlate.pa, 0x90000000);
    ck_assert_uint_eq(ext.xlate.perm, IMS_PERM_RW);
    ck_assert(cosim->finish());
    const ims::CosimStats &s = cosim->stats();
    for (const std::string &m : s.reports)
        std::printf("cosim: %s\n", m.c_str());
    ck_assert_uint_eq(s.walks, 3);
    ck_assert_uint_eq(s.mismatches, 0);
    ck_assert_uint_eq(r.core().ats_no_access, 1);
}
START_TEST(cosim_lockstep_ats) { cosim_ats(IMS_WALKER_LOCKSTEP); }
END_TEST
START_TEST(cosim_rtl_ats) { cosim_ats(IMS_WALKER_RTL); }
END_TEST

// The target sockets beyond b_transport: a non-blocking BEGIN_REQ completes

// at once (TLM_COMPLETED) with the same latency a blocking call sees; any
// other phase is a protocol error; debug transport reaches the memory's
// data, and a target without debug access answers 0 bytes. A request whose
// arrival is not on a clock edge is timed from the cycle it falls in.
START_TEST(socket_protocols)
{
    Rig r(test_cfg());
    r.map(0x10000, 0x80000000);
    r.map(0x40000000, 0x90000000);
    r.map(0x80000000, 0xa0000000);
    r.xlate(0, 0x10000);  // context now cached: later misses are plain walks
    DmaPayload p(0x40000000);
    tlm::tlm_generic_payload &t = p.t;
    const ims::ReqExt &ext = p.ext;
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    sc_core::sc_time d = r.clk.to_time(5000);
    ck_assert_int_eq(r.dev.dma->nb_transport_fw(t, ph, d), tlm::TLM_COMPLETED);
    ck_assert_int_eq(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ck_assert(ext.xlate.flags & IMS_XLATE_WALKED);
    ck_assert_uint_eq(ext.latency, r.walk_latency(4));
    ck_assert(d == r.clk.to_time(5000 + r.walk_latency(4)));
    ck_assert_uint_eq(r.sink.requests(), 1);

    // Arrival half a cycle after cycle 9000's edge: timed from cycle 9000,
    // the half cycle kept in the returned delay.
    t.set_address(0x80000000);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    const sc_core::sc_time half = r.clk.to_time(1) / 2;
    d = r.clk.to_time(9000) + half;
    r.dev.dma->b_transport(t, d);
    ck_assert_int_eq(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ck_assert(ext.xlate.flags & IMS_XLATE_WALKED);
    ck_assert_uint_eq(ext.latency, r.walk_latency(4));
    ck_assert(d == r.clk.to_time(9000 + r.walk_latency(4)) + half);

    ph = tlm::END_RESP;
    bool threw = false;
    try {
        r.dev.dma->nb_transport_fw(t, ph, d);
    } catch (const sc_core::sc_report &) {
        threw = true;
    }
    ck_assert(threw);

    // Debug transport: the memory serves data, the data sink has none.
    ims_mem_write64(ims_replay_mem(r.rp), 0x5000, 0x1122334455667788ull);
    std::uint64_t v = 0;
    tlm::tlm_generic_payload g;
    g.set_command(tlm::TLM_READ_COMMAND);
    g.set_address(0x5000);
    g.set_data_ptr(reinterpret_cast<unsigned char *>(&v));
    g.set_data_length(8);
    g.set_streaming_width(8);
    ck_assert_uint_eq(r.iommu.mem->transport_dbg(g), 8);
    ck_assert_uint_eq(v, 0x1122334455667788ull);
    ck_assert_uint_eq(r.iommu.dma_out->transport_dbg(g), 0);
    ck_assert_int_eq(g.get_response_status(), tlm::TLM_COMMAND_ERROR_RESPONSE);
    g.set_data_ptr(nullptr);
}
END_TEST

// Table reads use DMI: the memory grants read-only access to backed 4 KiB
// frames (never to unbacked ones, never for writes), and revokes a frame
// when the table builder frees it, so a walk through tables rebuilt in
// reused frames sees the new entries, not the freed storage.
START_TEST(dmi_table_reads_follow_frees)
{
    Rig r(test_cfg());
    r.map(0x10000, 0x80000000);
    ims::ReqExt e = r.xlate(0, 0x10000);  // a walk: frames granted
    ck_assert_uint_eq(e.xlate.pa, 0x80000000);
    const std::uint64_t table = e.xlate.reads[e.xlate.n_reads - 1].pa & ~std::uint64_t{0xfff};

    tlm::tlm_generic_payload g;
    tlm::tlm_dmi dmi;
    g.set_command(tlm::TLM_READ_COMMAND);
    g.set_address(table + 8);
    ck_assert(r.iommu.mem->get_direct_mem_ptr(g, dmi));
    ck_assert(dmi.is_read_allowed() && !dmi.is_write_allowed());
    ck_assert_uint_eq(dmi.get_start_address(), table);
    ck_assert_uint_eq(dmi.get_end_address(), table + 0xfff);
    g.set_command(tlm::TLM_WRITE_COMMAND);
    ck_assert(!r.iommu.mem->get_direct_mem_ptr(g, dmi));
    g.set_command(tlm::TLM_READ_COMMAND);
    g.set_address(0x7654321000ull);  // never written
    ck_assert(!r.iommu.mem->get_direct_mem_ptr(g, dmi));

    const std::size_t pages = ims_mem_pages(ims_replay_mem(r.rp));
    ims_rec u{};
    u.kind = IMS_REC_UNMAP;
    u.did = kDid;
    u.iova = 0x10000;
    u.size = 4096;
    r.apply(u);  // frees the emptied tables below the root
    ck_assert_uint_lt(ims_mem_pages(ims_replay_mem(r.rp)), pages);
    r.iommu.invalidate_iotlb(10000, IMS_INV_DOMAIN, kDid, 0, 0, false);
    r.map(0x40000000, 0x90000000);  // new tables in the freed frames
    e = r.xlate(20000, 0x40000000);
    ck_assert_int_eq(e.xlate.fault, 0);
    ck_assert_uint_eq(e.xlate.pa, 0x90000000);
    e = r.xlate(30000, 0x10000);
    ck_assert_int_ne(e.xlate.fault, 0);
}
END_TEST

// The latency histogram: exact below 1,024 cycles, min and max exact at any
// size (kept directly only for values above the exact range), percentiles
// the smallest value with enough samples at or below it.
START_TEST(latency_histogram)
{
    ims::LatHist h;
    ck_assert_uint_eq(h.count(), 0);
    ck_assert_uint_eq(h.min(), 0);
    ck_assert_uint_eq(h.max(), 0);
    ck_assert_uint_eq(h.percentile(0.5), 0);
    for (ims::Cycles v : {5, 3, 700, 5})
        h.add(v);
    ck_assert_uint_eq(h.min(), 3);
    ck_assert_uint_eq(h.max(), 700);
    ck_assert_uint_eq(h.percentile(0.5), 5);   // 3 5 | 5 700
    ck_assert_uint_eq(h.percentile(1.0), 700);
    ck_assert_double_eq_tol(h.mean(), 713.0 / 4, 1e-9);
    h.add(100000);
    h.add(5000);
    ck_assert_uint_eq(h.min(), 3);
    ck_assert_uint_eq(h.max(), 100000);
    ck_assert_uint_le(h.percentile(1.0), 100000);
    ck_assert_uint_gt(h.percentile(1.0), 5000);  // not the 5,000 sample's bucket

    ims::LatHist big;  // only values above the exact range
    big.add(3000);
    big.add(2000);
    ck_assert_uint_eq(big.min(), 2000);
    ck_assert_uint_eq(big.max(), 3000);
    ck_assert_uint_eq(big.percentile(0.0), 2000);
}
END_TEST

// The per-device (sparse) histogram answers exactly as the dense one, for
// values in every chunk of the exact range, above it, at chunk edges and in
// any order of first touch.
START_TEST(latency_histogram_sparse_equals_dense)
{
    ims::LatHist dense;
    ims::DeviceLatHist sparse;
    ck_assert_uint_eq(sparse.min(), 0);
    ck_assert_uint_eq(sparse.max(), 0);
    ck_assert_uint_eq(sparse.percentile(0.9), 0);
    std::uint64_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const unsigned sh = static_cast<unsigned>(x >> 60);           // 0..15
        const ims::Cycles v = (x >> 20) & ((ims::Cycles{1} << (sh + 6)) - 1);  // up to 2^21
        dense.add(v);
        sparse.add(v);
    }
    for (ims::Cycles v : {ims::Cycles{63}, ims::Cycles{64}, ims::Cycles{1023}, ims::Cycles{1024}, ims::Cycles{0}}) {
        dense.add(v);
        sparse.add(v);
    }
    ck_assert_uint_eq(sparse.count(), dense.count());
    ck_assert_uint_eq(sparse.sum(), dense.sum());
    ck_assert_uint_eq(sparse.min(), dense.min());
    ck_assert_uint_eq(sparse.max(), dense.max());
    for (double p : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0})
        ck_assert_uint_eq(sparse.percentile(p), dense.percentile(p));
    ck_assert(sparse.log2_counts() == dense.log2_counts());
}
END_TEST

// Memory bandwidth and outstanding limits delay table reads.
START_TEST(memory_limits)
{
    ims_sim_cfg c = test_cfg();
    c.mem_outstanding = 1;
    c.walkers = 4;
    Rig r(c);
    for (int i = 0; i < 2; i++)
        r.map(0x40000000ull * (i + 1), 0x80000000ull + 0x1000 * i);
    r.map(0x10000, 0x70000000);
    r.xlate(0, 0x10000);
    ims::ReqExt a = r.xlate(5000, 0x40000000);
    ims::ReqExt b = r.xlate(5000, 0x80000000);
    // One read at a time: b's reads interleave with a's, so b takes longer.
    ck_assert_uint_eq(a.latency, r.walk_latency(4));
    ck_assert_uint_gt(b.latency, r.walk_latency(4) + 50);
    ck_assert_uint_gt(r.memory.timing().stall_cycles(), 0);
}
END_TEST

// The walk observer (the RTL lockstep hook) sees each walk once, with the
// reads the core made, and nothing for hits.
struct CountingObserver : ims::WalkObserver {
    int walks = 0;
    unsigned last_reads = 0;
    ims::Cycles last_start = 0, last_done = 0;
    void on_walk(const ims_req &, const ims_xlate &x, ims::Cycles start, ims::Cycles done) override
    {
        walks++;
        last_reads = 0;
        for (unsigned i = 0; i < x.n_reads; i++)
            last_reads += x.reads[i].kind == IMS_MEM_PTE;
        last_start = start;
        last_done = done;
    }
};

START_TEST(walk_observer_sees_walks)
{
    Rig r(test_cfg());
    CountingObserver obs;
    r.iommu.set_walk_observer(&obs);
    r.map(0x10000, 0x80000000);
    r.xlate(0, 0x10000);     // a 4-level walk: 4 paging-entry reads
    ck_assert_int_eq(obs.walks, 1);
    ck_assert_uint_eq(obs.last_reads, 4);
    ck_assert_uint_gt(obs.last_done, obs.last_start);
    r.xlate(1000, 0x10000);  // hit: no walk
    ck_assert_int_eq(obs.walks, 1);
    ck_assert_uint_eq(static_cast<std::uint64_t>(obs.walks), r.core().walks);
}
END_TEST

// ---- Whole runs through the trace player: statistics, warnings, hostile input ----

// The header every player test's trace starts with: two devices in domain 1,
// one page mapped at 0x10000 and one at 0x40000000 (no table shared below the root).
const char kTraceHead[] = "version 1\n"
                          "creator hand\n"
                          "source test_tlm\n"
                          "device a bdf=00:03.0 bridge=-\n"
                          "device b bdf=00:04.0 bridge=-\n"
                          "attach rid=00:03.0 did=1 levels=4 tt=0\n"
                          "attach rid=00:04.0 did=1 levels=4 tt=0\n"
                          "map did=1 iova=0x10000 pa=0x80000000 size=0x1000 perm=rw\n"
                          "map did=1 iova=0x40000000 pa=0x90000000 size=0x1000 perm=rw\n";

// A text trace in a temporary file, replayed by a TracePlayer through the
// timing model with `cfg` (one run per test process: SystemC elaborates once).
struct PlayerRun {
    ims_sim_cfg cfg;
    ims::Clock clk;
    ims::Memory memory;
    ims::DataSink sink;
    ims::Iommu iommu;
    std::string path;
    ims_trace_reader *reader = nullptr;
    ims_replay *rp = nullptr;
    std::unique_ptr<ims::TracePlayer> player;

    PlayerRun(const ims_sim_cfg &c, const std::string &body)
        : cfg(c), clk(c.clock_mhz), memory("memory", cfg, clk), sink("sink"), iommu("iommu", cfg, clk)
    {
        char p[] = "/tmp/ims-test-tlm-XXXXXX";
        const int fd = mkstemp(p);
        ck_assert_int_ge(fd, 0);
        const std::string text = std::string(kTraceHead) + body;
        ck_assert_int_eq(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
        close(fd);
        path = p;
        char err[512];
        reader = ims_trace_open(p, err, sizeof err);
        ck_assert_msg(reader != nullptr, "open: %s", err);
        ims_replay_cfg rc;
        ims_replay_cfg_default(&rc);
        rc.iommu = cfg.iommu;
        rc.tb.caps = cfg.iommu.caps;
        rc.fault_drain_every = cfg.fault_drain_every;
        rp = ims_replay_create(ims_trace_header(reader), &rc, &ims::Iommu::kMemOps, &iommu, err, sizeof err);
        ck_assert_msg(rp != nullptr, "replay: %s", err);
        memory.bind_backing(ims_replay_mem(rp));
        iommu.bind_core(ims_replay_iommu(rp));
        player.reset(new ims::TracePlayer("player", cfg, clk, reader, p, rp, iommu, false));
        player->set_memory(&memory.timing());
        player->isock.bind(iommu.dma_in);
        player->ats.bind(iommu.ats_in);
        iommu.dma_out.bind(sink.tsock);
        iommu.mem.bind(memory.tsock);
        kcheck::run();
        ck_assert(player->done());
    }
    ~PlayerRun()
    {
        player.reset();
        ims_replay_destroy(rp);
        ims_trace_close(reader);
        unlink(path.c_str());
    }
    ims::ReportInputs inputs() const
    {
        return ims::ReportInputs{&cfg,   path.c_str(), "test", &player->stats(), &player->core_stats(),
                                 &player->timing_stats(), &memory.timing(), iommu.walkers(), 0};
    }
    // The JSON report, as report_json writes it.
    std::string json() const
    {
        ck_assert_msg(!player->failed(), "run failed: %s", player->error().c_str());
        const std::string out = path + ".json";
        std::string err;
        ck_assert_msg(ims::report_json(inputs(), out.c_str(), &err), "%s", err.c_str());
        std::string s;
        if (std::FILE *f = std::fopen(out.c_str(), "r")) {
            char buf[4096];
            std::size_t n;
            while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
                s.append(buf, n);
            std::fclose(f);
        }
        unlink(out.c_str());
        ck_assert(!s.empty());
        return s;
    }
    // The text report.
    std::string text() const
    {
        char *buf = nullptr;
        std::size_t len = 0;
        std::FILE *f = open_memstream(&buf, &len);
        ims::report_text(inputs(), f);
        std::fclose(f);
        std::string s(buf, len);
        std::free(buf);
        return s;
    }
};

// The number after `"key": ` in the JSON, searched from the first occurrence
// of `within` (an enclosing key; "" for the start). Fails the test if absent.
std::uint64_t jnum(const std::string &js, const char *within, const char *key)
{
    std::size_t at = 0;
    if (*within) {
        at = js.find(std::string("\"") + within + "\": ");
        ck_assert_msg(at != std::string::npos, "no %s in the JSON", within);
    }
    const std::string k = std::string("\"") + key + "\": ";
    const std::size_t p = js.find(k, at);
    ck_assert_msg(p != std::string::npos, "no %s.%s in the JSON", within, key);
    return std::strtoull(js.c_str() + p + k.size(), nullptr, 10);
}

double jdbl(const std::string &js, const char *within, const char *key)
{
    std::size_t at = *within ? js.find(std::string("\"") + within + "\": ") : 0;
    ck_assert(at != std::string::npos);
    const std::string k = std::string("\"") + key + "\": ";
    const std::size_t p = js.find(k, at);
    ck_assert_msg(p != std::string::npos, "no %s.%s in the JSON", within, key);
    return std::strtod(js.c_str() + p + k.size(), nullptr);
}

bool has(const std::string &s, const char *needle) { return s.find(needle) != std::string::npos; }

// A miss that arrives while the walk for its page is in flight merges into
// it: the core saw an IOTLB hit (and a context-cache hit on the context
// entry still being read); the report counts both as misses, merged. A
// later lookup of the filled entry is a true hit.
START_TEST(merged_miss_is_a_miss)
{
    PlayerRun r(test_cfg(), "dma t=100 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                            "dma t=101 rid=00:03.0 iova=0x10040 size=64 r expect=0x80000040\n"
                            "dma t=100000 rid=00:03.0 iova=0x10080 size=64 r expect=0x80000080\n");
    const std::string js = r.json();
    ck_assert_uint_eq(r.player->core_stats().iotlb.hits, 2);  // what the core saw
    ck_assert_uint_eq(jnum(js, "iotlb", "lookups"), 3);
    ck_assert_uint_eq(jnum(js, "iotlb", "hits"), 1);
    ck_assert_uint_eq(jnum(js, "iotlb", "misses"), 2);
    ck_assert_uint_eq(jnum(js, "iotlb", "merged"), 1);
    ck_assert_double_eq_tol(jdbl(js, "iotlb", "hit_rate"), 1.0 / 3, 1e-6);
    ck_assert_uint_eq(jnum(js, "", "merged_misses"), 1);
    ck_assert_uint_eq(jnum(js, "context_cache", "hits"), 1);
    ck_assert_uint_eq(jnum(js, "context_cache", "misses"), 2);
    ck_assert_uint_eq(jnum(js, "context_cache", "merged"), 1);
    ck_assert_double_eq_tol(jdbl(js, "devices", "iotlb_hit_rate"), 1.0 / 3, 1e-6);
    ck_assert(has(r.text(), "merged"));
}
END_TEST

// A paging-structure-cache hit on an entry a walk in flight is still filling
// is a merged miss of that cache too.
START_TEST(merged_psc_miss_is_a_miss)
{
    ims_sim_cfg c = test_cfg();
    c.iommu.psc[2].sets = 1;
    c.iommu.psc[2].ways = 4;
    // 0x10000 and 0x11000 share their PDE (level 2): the second walk starts
    // below the PDE the first walk is still reading.
    PlayerRun r(c, "map did=1 iova=0x11000 pa=0x80001000 size=0x1000 perm=rw\n"
                   "dma t=100 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                   "dma t=101 rid=00:03.0 iova=0x11000 size=64 r expect=0x80001000\n");
    const std::string js = r.json();
    const ims_stats &core = r.player->core_stats();
    ck_assert_uint_ge(core.psc[2].hits, 1);
    ck_assert_uint_eq(r.player->timing_stats().psc_merged[2], 1);
    ck_assert_uint_eq(jnum(js, "l2", "merged"), 1);
    ck_assert_uint_eq(jnum(js, "l2", "hits"), core.psc[2].hits - 1);
    ck_assert_uint_eq(jnum(js, "l2", "misses"), core.psc[2].misses + 1);
}
END_TEST

// Open loop: a record stamped before the current issue cycle (another
// device's later record came first) is issued late and counted.
START_TEST(reordered_is_reported)
{
    PlayerRun r(test_cfg(), "dma t=50 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                            "dma t=40 rid=00:04.0 iova=0x10000 size=64 r expect=0x80000000\n"
                            "dma t=60 rid=00:04.0 iova=0x10000 size=64 r expect=0x80000000\n");
    ck_assert_uint_eq(r.player->stats().reordered, 1);
    ck_assert_uint_eq(jnum(r.json(), "", "reordered"), 1);
    ck_assert(has(r.text(), "reordered"));
}
END_TEST

// The player's translated requests go on to dma_out (here a DataSink): each
// that translated, at its translated size; a fault goes nowhere. The same
// with player.pipeline on (Iommu::time_direct counts into the sink) and off
// (the socket path's dma_out call).
START_TEST(translated_requests_reach_the_sink)
{
    ims_sim_cfg c = test_cfg();
    c.player_mode = IMS_PLAYER_OPEN;
    c.pipeline = _i;
    PlayerRun r(c, "dma t=100 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                   "dma t=200 rid=00:04.0 iova=0x40000000 size=256 w expect=0x90000000\n"
                   "dma t=300 rid=00:03.0 iova=0x20000 size=64 r fault=0x6\n");
    ck_assert_uint_eq(jnum(r.json(), "", "mismatches"), 0);
    ck_assert_uint_eq(r.player->stats().faults, 1);
    ck_assert_uint_eq(r.sink.requests(), 2);
    ck_assert_uint_eq(r.sink.bytes(), 320);
}
END_TEST

// Simulated time starts at 0; the first DMA comes 1 ms later (a guest's
// boot). The measured span runs from the first request after warm-up to the
// last completion; throughput uses it.
START_TEST(measured_span_excludes_time_before_dma)
{
    PlayerRun r(test_cfg(), "dma t=1000000 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                            "mark warmup-end\n"
                            "dma t=2000000 rid=00:03.0 iova=0x10040 size=64 r expect=0x80000040\n"
                            "dma t=2000100 rid=00:03.0 iova=0x10080 size=64 r expect=0x80000080\n");
    const std::string js = r.json();
    const ims::Cycles hit = r.cfg.ctx_latency + r.cfg.iotlb_latency;  // 1 GHz: 1 ns = 1 cycle
    ck_assert_uint_eq(jnum(js, "time", "first_dma_cycle"), 1000000);
    ck_assert_uint_eq(jnum(js, "time", "measured_start_cycle"), 2000000);
    ck_assert_uint_eq(jnum(js, "time", "total_cycles"), 2000100 + hit);
    ck_assert_uint_eq(jnum(js, "time", "dma_span_cycles"), 1000100 + hit);
    ck_assert_uint_eq(jnum(js, "time", "measured_cycles"), 100 + hit);
    ck_assert_uint_eq(jnum(js, "", "cycles"), 100 + hit);
    ck_assert_double_eq_tol(jdbl(js, "throughput", "translations_per_us"), 2.0 * 1000 / (100 + hit), 1e-5);
    ck_assert_double_eq_tol(jdbl(js, "throughput", "gbytes_per_s"), 128.0 / (100 + hit), 1e-5);
}
END_TEST

// Open loop with every timestamp equal: a warning with a stable code, in the
// JSON and the text; the closed loop (which ignores timestamps) has none.
START_TEST(untimed_open_loop_warns)
{
    {
        const bool closed = _i;
        ims_sim_cfg c = test_cfg();
        c.player_mode = closed ? IMS_PLAYER_CLOSED : IMS_PLAYER_OPEN;
        PlayerRun r(c, "dma t=0 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                       "dma t=0 rid=00:04.0 iova=0x40000000 size=64 r expect=0x90000000\n");
        const std::string js = r.json();
        ck_assert_int_eq(has(js, "{\"code\": \"untimed_open_loop\""), !closed);
        ck_assert_int_eq(has(r.text(), "WARNING [untimed_open_loop]"), !closed);
        if (closed)
            ck_assert(has(js, "\"warnings\": [],"));
    }
}
END_TEST

// Open-loop overload: 1 walker, a miss to a new page every 10 ns, each walk
// ~400 cycles: the backlog grows and waiting dominates latency. The same
// misses 1 us apart: no warning.
START_TEST(open_loop_overload_warns)
{
    {
        const bool slow = _i;
        ims_sim_cfg c = test_cfg();
        c.walkers = 1;
        std::string body;
        char line[256];
        for (int i = 0; i < 64; i++) {
            std::snprintf(line, sizeof line, "map did=1 iova=0x%x pa=0x%x size=0x1000 perm=rw\n",
                          0x100000 + 0x200000 * i, 0x1000000 + 0x1000 * i);
            body += line;
        }
        for (int i = 0; i < 64; i++) {
            std::snprintf(line, sizeof line, "dma t=%d rid=00:03.0 iova=0x%x size=64 r expect=0x%x\n",
                          (slow ? 1000 : 10) * (i + 1), 0x100000 + 0x200000 * i, 0x1000000 + 0x1000 * i);
            body += line;
        }
        PlayerRun r(c, body);
        const std::string js = r.json();
        const double f = jdbl(js, "walker", "wait_fraction");
        const ims::IommuTimingStats &t = r.player->timing_stats();
        ck_assert_double_eq_tol(f, double(t.input_stall_cycles + t.queue_cycles) / r.player->stats().latency.sum(),
                                1e-6);
        if (slow) {
            ck_assert_double_eq_tol(f, 0.0, 1e-9);
            ck_assert(has(js, "\"warnings\": [],"));
        } else {
            ck_assert_double_gt(f, 0.5);
            ck_assert(has(js, "{\"code\": \"open_loop_overload\""));
            ck_assert(has(r.text(), "WARNING [open_loop_overload]"));
        }
    }
}
END_TEST

// The overload warning's threshold: a wait fraction above 50 % warns, one at
// or below does not. One walker and 64 misses to new pages at a fixed
// interval a little shorter than a walk: the backlog, and so the fraction,
// grows as the interval shrinks. The intervals give fractions just above
// and just below 0.5 (each checked to lie in its band, so that the case
// keeps testing the threshold if the timing changes).
START_TEST(open_loop_overload_threshold)
{
    {
        static const struct {
            int interval;
            double lo, hi;  // the band the fraction must lie in
        } cases[] = {{384, 0.6, 0.8}, {400, 0.5, 0.54}, {402, 0.46, 0.5}, {406, 0.3, 0.46}};
        const auto &k = cases[_i];
        ims_sim_cfg c = test_cfg();
        c.walkers = 1;
        std::string body;
        char line[256];
        for (int i = 0; i < 64; i++) {
            std::snprintf(line, sizeof line, "map did=1 iova=0x%x pa=0x%x size=0x1000 perm=rw\n",
                          0x100000 + 0x200000 * i, 0x1000000 + 0x1000 * i);
            body += line;
        }
        for (int i = 0; i < 64; i++) {
            std::snprintf(line, sizeof line, "dma t=%d rid=00:03.0 iova=0x%x size=64 r expect=0x%x\n",
                          k.interval * (i + 1), 0x100000 + 0x200000 * i, 0x1000000 + 0x1000 * i);
            body += line;
        }
        PlayerRun r(c, body);
        const std::string js = r.json();
        const double f = jdbl(js, "walker", "wait_fraction");
        ck_assert_msg(f > k.lo && f <= k.hi, "interval %d: wait fraction %.6f outside (%.2f, %.2f]", k.interval, f,
                      k.lo, k.hi);
        const bool warn = f > 0.5;
        ck_assert_int_eq(has(js, "{\"code\": \"open_loop_overload\""), warn);
        ck_assert_int_eq(has(r.text(), "WARNING [open_loop_overload]"), warn);
    }
}
END_TEST

// The CSV's run-wide line counts a merged miss as a miss too: of three
// lookups (a walk, a miss merged into it, a true hit) the IOTLB hit rate is
// 1/3, as in the JSON, and so is the device's.
START_TEST(csv_merged_miss_is_a_miss)
{
    PlayerRun r(test_cfg(), "dma t=100 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                            "dma t=101 rid=00:03.0 iova=0x10040 size=64 r expect=0x80000040\n"
                            "dma t=100000 rid=00:03.0 iova=0x10080 size=64 r expect=0x80000080\n");
    ck_assert_uint_eq(r.player->core_stats().iotlb.hits, 2);  // what the core saw
    const std::string out = r.path + ".csv";
    std::string err;
    ck_assert_msg(ims::report_csv(r.inputs(), out.c_str(), &err), "%s", err.c_str());
    std::string s;
    if (std::FILE *f = std::fopen(out.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
            s.append(buf, n);
        std::fclose(f);
    }
    unlink(out.c_str());
    // device,seen_as,name,translations,faults,mismatches,iotlb_hit_rate,...
    ck_assert_msg(has(s, "\nall,all,all,3,0,0,0.333333,"), "%s", s.c_str());
    ck_assert_msg(has(s, "\n00:03.0,00:03.0,a,3,0,0,0.333333,"), "%s", s.c_str());
}
END_TEST

// The untimed warning needs two or more DMA records with one timestamp: a
// trace of one DMA record has nothing issued "at once" and does not warn;
// equal timestamps other than 0 (a clock that never advanced) warn as 0 does.
START_TEST(untimed_warning_cases)
{
    {
        static const char *const bodies[] = {
            "dma t=0 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n",
            "dma t=7 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
            "dma t=7 rid=00:04.0 iova=0x40000000 size=64 r expect=0x90000000\n"
            "dma t=7 rid=00:03.0 iova=0x10040 size=64 r expect=0x80000040\n",
            "dma t=7 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
            "dma t=8 rid=00:04.0 iova=0x40000000 size=64 r expect=0x90000000\n",
        };
        const bool warns = _i == 1;
        ims_sim_cfg c = test_cfg();
        c.player_mode = IMS_PLAYER_OPEN;
        PlayerRun r(c, bodies[_i]);
        const std::string js = r.json();
        ck_assert_int_eq(has(js, "{\"code\": \"untimed_open_loop\""), warns);
        ck_assert_int_eq(has(r.text(), "WARNING [untimed_open_loop]"), warns);
        if (warns)
            ck_assert(has(js, "the same timestamp (7 ns)"));
        else
            ck_assert(has(js, "\"warnings\": [],"));
    }
}
END_TEST

// The closed loop waits for the window, not for the trace's clock: even with
// most of the latency spent waiting for the one walker (checked to be above
// the threshold), it gives no overload warning.
START_TEST(closed_loop_never_overloaded)
{
    ims_sim_cfg c = test_cfg();
    c.walkers = 1;
    c.player_mode = IMS_PLAYER_CLOSED;
    std::string body;
    char line[256];
    for (int i = 0; i < 64; i++) {
        std::snprintf(line, sizeof line, "map did=1 iova=0x%x pa=0x%x size=0x1000 perm=rw\n", 0x100000 + 0x200000 * i,
                      0x1000000 + 0x1000 * i);
        body += line;
    }
    for (int i = 0; i < 64; i++) {
        std::snprintf(line, sizeof line, "dma t=%d rid=00:03.0 iova=0x%x size=64 r expect=0x%x\n", 10 * (i + 1),
                      0x100000 + 0x200000 * i, 0x1000000 + 0x1000 * i);
        body += line;
    }
    PlayerRun r(c, body);
    const std::string js = r.json();
    const double f = jdbl(js, "walker", "wait_fraction");
    ck_assert_msg(f > 0.5, "wait fraction %.6f: the case no longer tests the closed loop above the threshold", f);
    ck_assert(has(js, "\"warnings\": [],"));
    ck_assert(!has(r.text(), "WARNING"));
}
END_TEST

// ns -> cycles beyond 64 bits saturates, and is refused: at 2000 MHz a
// timestamp of 2^63 + 5 ns is 2^64 + 10 cycles, which must not wrap to
// cycle 10 and run.
START_TEST(timestamp_cycles_do_not_wrap)
{
    ims_sim_cfg c = test_cfg();
    c.clock_mhz = 2000;
    PlayerRun r(c, "dma t=9223372036854775813 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n");
    ck_assert(r.player->failed());
    ck_assert_msg(has(r.player->error(), "record 4 (dma): timestamp 9223372036854775813 ns is beyond what the model "
                                         "can represent at 2000 MHz"),
                  "%s", r.player->error().c_str());
}
END_TEST

// Hostile timestamps and warm-up: each run stops with an error naming the
// trace and the record (iommusim run exits 2 on it), in both player modes
// where the rule applies.
START_TEST(hostile_timestamps_refused)
{
    {
        const bool closed = _i;
        ims_sim_cfg c = test_cfg();
        c.player_mode = closed ? IMS_PLAYER_CLOSED : IMS_PLAYER_OPEN;
        // A device's timestamp going back: the rule trace validate checks.
        PlayerRun r(c, "dma t=50 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                       "dma t=40 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n");
        ck_assert(r.player->failed());
        ck_assert_msg(has(r.player->error(), "record 5 (dma): timestamp 40 before the previous dma of 00:03.0 at 50"),
                      "%s", r.player->error().c_str());
        ck_assert(has(r.player->error(), r.path.c_str()));
    }
}
END_TEST

START_TEST(unrepresentable_timestamp_refused)
{
    {
        const bool closed = _i;
        ims_sim_cfg c = test_cfg();
        c.player_mode = closed ? IMS_PLAYER_CLOSED : IMS_PLAYER_OPEN;
        // 2^64 - 2: the largest timestamp a trace may hold (2^64 - 1 is refused by the reader).
        PlayerRun r(c, "dma t=18446744073709551614 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n");
        if (closed) {  // the closed loop never converts timestamps
            ck_assert(!r.player->failed());
        } else {
            ck_assert(r.player->failed());
            ck_assert_msg(has(r.player->error(), "record 4 (dma): timestamp 18446744073709551614 ns is beyond what the "
                                                 "model can represent"),
                          "%s", r.player->error().c_str());
        }
    }
}
END_TEST

// The largest representable timestamp still runs; one more ns does not.
START_TEST(timestamp_range_boundary)
{
    {
        const bool over = _i;
        ims_sim_cfg c = test_cfg();  // 1 GHz: 1 ns = 1 cycle
        const ims::Clock probe(c.clock_mhz);
        const std::uint64_t max = probe.max_cycles();
        ck_assert_uint_eq(max, UINT64_MAX / 1000 / 2);  // 1 ps resolution, 1000 ps per cycle
        char body[256];
        std::snprintf(body, sizeof body, "dma t=%" PRIu64 " rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n",
                      max + (over ? 1 : 0));
        PlayerRun r(c, body);
        ck_assert_int_eq(r.player->failed(), over);
    }
}
END_TEST

// Warm-up that covers every DMA record is an error, not a silent number:
// by count (player.warmup >= the DMA records) or by a mark after the last
// DMA. One DMA record short of that measures that one record.
START_TEST(warmup_covering_trace_refused)
{
    {
        const int variant = _i;
        ims_sim_cfg c = test_cfg();
        std::string body = "dma t=10 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                           "dma t=20 rid=00:04.0 iova=0x10000 size=64 r expect=0x80000000\n";
        const char *want = "warm-up covers the whole trace";
        bool fails = true;
        switch (variant) {
        case 0: c.warmup = 2; break;
        case 1: c.warmup = 3; break;
        case 2: body += "mark warmup-end\n"; break;
        case 3: c.warmup = 1; fails = false; break;
        }
        PlayerRun r(c, body);
        ck_assert_int_eq(r.player->failed(), fails);
        if (fails)
            ck_assert_msg(has(r.player->error(), want), "%s", r.player->error().c_str());
        else
            ck_assert_uint_eq(r.player->stats().translations, 1);
        if (variant == 2)
            ck_assert(has(r.player->error(), "mark warmup-end` at record 6"));
    }
}
END_TEST

// Warm-up is excluded from the core's statistics, the timing statistics and
// the latency histogram: the warm-up walks (two misses) vanish, the measured
// hits remain, by count or by mark.
START_TEST(warmup_excluded_everywhere)
{
    {
        const bool by_mark = _i;
        ims_sim_cfg c = test_cfg();
        if (!by_mark)
            c.warmup = 2;
        std::string body = "dma t=100 rid=00:03.0 iova=0x10000 size=64 r expect=0x80000000\n"
                           "dma t=10000 rid=00:03.0 iova=0x40000000 size=64 r expect=0x90000000\n";
        if (by_mark)
            body += "mark warmup-end\n";
        body += "dma t=20000 rid=00:03.0 iova=0x10040 size=64 r expect=0x80000040\n"
                "dma t=20100 rid=00:03.0 iova=0x40000040 size=64 r expect=0x90000040\n"
                "dma t=20200 rid=00:04.0 iova=0x10080 size=64 r expect=0x80000080\n";
        PlayerRun r(c, body);
        const std::string js = r.json();
        const ims::Cycles hit = c.ctx_latency + c.iotlb_latency;
        ck_assert_uint_eq(jnum(js, "", "warmup_dma_records"), 2);
        ck_assert_uint_eq(jnum(js, "", "translations"), 3);
        ck_assert_uint_eq(jnum(js, "", "checked"), 5);  // checking covers the whole run
        ck_assert_uint_eq(jnum(js, "iotlb", "lookups"), 3);
        ck_assert_uint_eq(jnum(js, "iotlb", "hits"), 3);
        ck_assert_uint_eq(jnum(js, "", "walks"), 0);
        ck_assert_uint_eq(jnum(js, "", "ptw_reads"), 0);
        // Device 00:04.0's first lookup misses the context cache: its root
        // and context entries are the only timed accesses measured.
        ck_assert_uint_gt(jnum(js, "", "ctx_reads"), 0);
        ck_assert_uint_eq(jnum(js, "", "ctx_reads"), r.player->core_stats().ctx_reads);
        ck_assert_uint_eq(jnum(js, "memory", "accesses"), 2);  // of 12 in the whole run
        ck_assert_uint_eq(r.memory.timing().accesses(), 12);
        ck_assert_uint_eq(r.player->core_stats().translations, 3);
        ck_assert_uint_eq(r.player->timing_stats().requests, 3);
        ck_assert_uint_eq(r.player->timing_stats().walks, 0);
        const ims::LatHist &h = r.player->stats().latency;
        ck_assert_uint_eq(h.count(), 3);
        ck_assert_uint_eq(h.min(), hit);
        ck_assert_uint_eq(h.max(), hit + 2 * c.mem_latency);  // the context miss
        ck_assert_uint_eq(jnum(js, "latency_cycles", "max"), hit + 2 * c.mem_latency);
        std::uint64_t in_hist = 0;
        for (std::uint64_t v : h.log2_counts())
            in_hist += v;
        ck_assert_uint_eq(in_hist, 3);
        ck_assert_uint_eq(r.player->stats().queue_delay.count(), 3);
        ck_assert_uint_eq(r.player->stats().devices[0].requests, 2);
        ck_assert_uint_eq(r.player->stats().devices[0].latency.count(), 2);
    }
}
END_TEST

// A fault queue of 4 records (a ring: it holds 3) that software drains only
// after 1,000: of 10 faults, 3 are recorded and 7 dropped, and the JSON says so.
START_TEST(dropped_faults_reported)
{
    ims_sim_cfg c = test_cfg();
    c.iommu.fq_records = 4;
    c.fault_drain_every = 1000;
    std::string body;
    char line[160];
    for (int i = 0; i < 10; i++) {
        std::snprintf(line, sizeof line, "dma t=%d rid=00:03.0 iova=0x%x size=64 w fault=0x%x\n", 1000 * (i + 1),
                      0x200000 + 0x1000 * i, IMS_FR_WRITE);
        body += line;
    }
    PlayerRun r(c, body);
    const std::string js = r.json();
    ck_assert_uint_eq(jnum(js, "", "faults"), 10);
    ck_assert_uint_eq(jnum(js, "fault_queue", "records"), 3);
    ck_assert_uint_eq(jnum(js, "fault_queue", "dropped"), 7);
    ck_assert_uint_eq(jnum(js, "fault_queue", "suppressed"), 0);
    ck_assert(has(r.text(), "3 records written, 7 dropped (full)"));
}
END_TEST

// Percentiles are ranks: the smallest value with at least ceil(p * count)
// samples at or below it, exact below 1,024 cycles.
START_TEST(percentile_ranks_exact)
{
    ims::LatHist h;  // 1..100, once each
    for (ims::Cycles v = 100; v >= 1; v--)
        h.add(v);
    ck_assert_uint_eq(h.percentile(0.5), 50);
    ck_assert_uint_eq(h.percentile(0.9), 90);
    ck_assert_uint_eq(h.percentile(0.99), 99);
    ck_assert_uint_eq(h.percentile(0.999), 100);  // rank ceil(99.9) = 100
    ck_assert_uint_eq(h.percentile(0.0), 1);
    ck_assert_uint_eq(h.max(), 100);
    ck_assert_uint_eq(h.min(), 1);

    ims::LatHist t;  // 1..10: the rank boundaries
    for (ims::Cycles v = 1; v <= 10; v++)
        t.add(v);
    ck_assert_uint_eq(t.percentile(0.5), 5);
    ck_assert_uint_eq(t.percentile(0.51), 6);  // rank 5.1 -> 6
    ck_assert_uint_eq(t.percentile(0.9), 9);
    ck_assert_uint_eq(t.percentile(0.91), 10);
    ck_assert_uint_eq(t.percentile(0.1), 1);
    ck_assert_uint_eq(t.percentile(0.11), 2);

    ims::LatHist m;  // 900 x 10, 90 x 20, 9 x 30, 1 x 1000
    for (int i = 0; i < 900; i++)
        m.add(10);
    for (int i = 0; i < 90; i++)
        m.add(20);
    for (int i = 0; i < 9; i++)
        m.add(30);
    m.add(1000);
    ck_assert_uint_eq(m.percentile(0.5), 10);
    ck_assert_uint_eq(m.percentile(0.9), 10);    // rank 900: the last 10
    ck_assert_uint_eq(m.percentile(0.901), 20);  // rank 901: the first 20
    ck_assert_uint_eq(m.percentile(0.99), 20);   // rank 990
    ck_assert_uint_eq(m.percentile(0.999), 30);  // rank 999
    ck_assert_uint_eq(m.percentile(1.0), 1000);
    ck_assert_uint_eq(m.max(), 1000);
    ck_assert_uint_eq(m.sum(), 900 * 10 + 90 * 20 + 9 * 30 + 1000);
}
END_TEST

// The JSON percentiles are the histogram's, of the measured translations:
// 1 walk + 99 hits: p50 and p90 the hit latency, max the walk.
START_TEST(json_percentiles)
{
    ims_sim_cfg c = test_cfg();
    std::string body;
    char line[160];
    for (int i = 0; i < 100; i++) {
        std::snprintf(line, sizeof line, "dma t=%d rid=00:03.0 iova=0x%x size=64 r expect=0x%x\n", 10000 * (i + 1),
                      0x10000 + 64 * (i % 64), 0x80000000u + 64 * (i % 64));
        body += line;
    }
    PlayerRun r(c, body);
    const std::string js = r.json();
    const ims::Cycles hit = c.ctx_latency + c.iotlb_latency;
    const ims::Cycles first = hit + c.psc_latency + 4 * (c.walk_step + c.mem_latency) + c.fill_latency + 2 * c.mem_latency;
    ck_assert_uint_eq(jnum(js, "latency_cycles", "min"), hit);
    ck_assert_uint_eq(jnum(js, "latency_cycles", "p50"), hit);
    ck_assert_uint_eq(jnum(js, "latency_cycles", "p99"), hit);   // rank 99 of 100
    ck_assert_uint_eq(jnum(js, "latency_cycles", "p999"), first); // rank 100
    ck_assert_uint_eq(jnum(js, "latency_cycles", "max"), first);
}
END_TEST

// MemTiming, exactly: bandwidth admits mem.bytes_per_cycle x 4 bytes per
// 4-cycle bucket; later accesses move to the next bucket with room.
START_TEST(memory_bandwidth_exact)
{
    ims_sim_cfg c = test_cfg();
    c.mem_latency = 100;
    c.mem_bytes_per_cycle = 16;  // 64 bytes per bucket: one 64-byte read
    ims::MemTiming m(c);
    ck_assert_uint_eq(m.access(0, 64), 100);
    ck_assert_uint_eq(m.access(0, 64), 104);
    ck_assert_uint_eq(m.access(1, 64), 108);
    ck_assert_uint_eq(m.access(2, 32), 112);
    ck_assert_uint_eq(m.access(2, 32), 112);  // two halves share a bucket
    ck_assert_uint_eq(m.stall_cycles(), 4 + 7 + 10 + 10);
    ck_assert_uint_eq(m.access(40, 256), 40 + 12 + 100);  // 4 whole buckets, from the issue bucket
    ck_assert_uint_eq(m.access(40, 64), 56 + 100);        // after them

    ims_sim_cfg d = c;
    d.mem_bytes_per_cycle = 32;  // two reads per bucket
    ims::MemTiming w(d);
    ck_assert_uint_eq(w.access(0, 64), 100);
    ck_assert_uint_eq(w.access(0, 64), 100);
    ck_assert_uint_eq(w.access(0, 64), 104);
}
END_TEST

// The outstanding limit, exactly, for a short latency (bucket counting) and
// a long one (the list of accesses in flight): an access starts only where
// every bucket it occupies has a free slot, also between accesses placed out
// of time order.
START_TEST(memory_outstanding_exact)
{
    {
        const bool long_lat = _i;
        ims_sim_cfg c = test_cfg();
        c.mem_latency = long_lat ? 100000 : 100;  // the allowed maximum, or 25 buckets
        c.mem_outstanding = 1;
        const ims::Cycles L = c.mem_latency;
        ims::MemTiming m(c);
        ck_assert_uint_eq(m.access(0, 64), L);
        ck_assert_uint_eq(m.access(0, 64), 2 * L);             // after the first
        ck_assert_uint_eq(m.access(L / 2, 64), 3 * L);         // after both
        ck_assert_uint_eq(m.access(5 * L, 64), 6 * L);         // free again
        ck_assert_uint_eq(m.access(3 * L + 4, 64), 4 * L + 4); // in the gap [3L, 5L) before it
        // No gap of L between 4L+4 and 5L: skip past the access at 5L.
        ck_assert_uint_eq(m.access(3 * L, 64), 7 * L);
        ims_sim_cfg d = c;
        d.mem_outstanding = 2;
        ims::MemTiming two(d);
        ck_assert_uint_eq(two.access(0, 64), L);
        ck_assert_uint_eq(two.access(0, 64), L);
        ck_assert_uint_eq(two.access(4, 64), 2 * L);
        ck_assert_uint_eq(two.access(8, 64), 2 * L);  // beside the third: the first two have ended by L
    }
}
END_TEST

// Domain and global IOTLB invalidations, and global, domain and device
// context invalidations, arriving while a walk or a context read is in
// flight: with drain they complete after that fill, with discard at once;
// either way the fill leaves no stale entry: the next request to the page
// walks again from the root (paging-structure caches included) or reads the
// context again.
START_TEST(invalidation_overlaps_fills)
{
    {
        const int variant = _i / 2, policy = _i % 2 ? IMS_INV_DISCARD : IMS_INV_DRAIN;
        ims_sim_cfg c = test_cfg();
        c.inv_policy = static_cast<std::uint8_t>(policy);
        for (unsigned l = 2; l <= 4; l++) {
            c.iommu.psc[l].sets = 1;
            c.iommu.psc[l].ways = 4;
        }
        Rig r(c);
        r.map(0x10000, 0x80000000);
        r.map(0x40000000, 0x90000000);
        const ims::Cycles t = 5000;
        if (variant < 2) {  // IOTLB: domain, global; a walk in flight
            r.xlate(0, 0x10000);  // context cached
            const ims::ReqExt miss = r.xlate(t, 0x40000000);
            ck_assert(miss.xlate.flags & IMS_XLATE_WALKED);
            const ims::Cycles walk_done = t + miss.latency;
            const ims::Cycles done =
                r.iommu.invalidate_iotlb(t + 10, variant == 0 ? IMS_INV_DOMAIN : IMS_INV_GLOBAL, kDid, 0, 0, false);
            ck_assert_uint_eq(done, policy == IMS_INV_DRAIN ? walk_done + c.inv_latency : t + 10 + c.inv_latency);
            const ims::ReqExt again = r.xlate(t + 20, 0x40000000);
            ck_assert(again.xlate.flags & IMS_XLATE_WALKED);
            ck_assert_uint_eq(again.xlate.psc_level, 0);  // from the root: the PSC entries went too
            ck_assert(!again.merged);
            unsigned ptes = 0;
            for (unsigned i = 0; i < again.xlate.n_reads; i++)
                ptes += again.xlate.reads[i].kind == IMS_MEM_PTE;
            ck_assert_uint_eq(ptes, 4);
        } else {  // context: global, domain, device; the first request's context read in flight
            const ims::ReqExt first = r.xlate(t, 0x40000000);
            ck_assert(!(first.xlate.flags & IMS_XLATE_CTX_HIT));
            const ims::Cycles ctx_ready = t + c.ctx_latency + 2 * c.mem_latency;  // root + context entry
            const ims_inv_gran g = variant == 2 ? IMS_INV_GLOBAL : variant == 3 ? IMS_INV_DOMAIN : IMS_INV_DEVICE;
            const ims::Cycles done = r.iommu.invalidate_context(t + 10, g, kDid, kRid, 0);
            ck_assert_uint_eq(done, policy == IMS_INV_DRAIN ? ctx_ready + c.inv_latency : t + 10 + c.inv_latency);
            const ims::ReqExt again = r.xlate(t + 20, 0x10000);
            ck_assert(!(again.xlate.flags & IMS_XLATE_CTX_HIT));  // read again, not the stale entry
            ck_assert_uint_eq(again.xlate.pa, 0x80000000);
        }
        // Another domain's invalidation never waits for these fills.
        ck_assert_uint_eq(r.iommu.invalidate_iotlb(t + 30, IMS_INV_DOMAIN, kDid + 1, 0, 0, false), t + 30 + c.inv_latency);
    }
}
END_TEST

// A domain context invalidation names a 16-bit domain id: with drain, one of
// domain 0x123 waits for that domain's context fill in flight, and one of
// domain 0x23 (the same low 8 bits) or 0x122 does not.
START_TEST(context_invalidation_wide_domain_id)
{
    {
        ims_sim_cfg c = test_cfg();
        c.inv_policy = IMS_INV_DRAIN;
        Rig r(c);
        constexpr std::uint16_t did = 0x123, rid = IMS_BDF(2, 5, 0);
        ims_rec a{};
        a.kind = IMS_REC_ATTACH;
        a.rid = rid;
        a.did = did;
        a.levels = 4;
        a.tt = IMS_TT_UNTRANSLATED;
        r.apply(a);
        ims_rec m{};
        m.kind = IMS_REC_MAP;
        m.did = did;
        m.iova = 0x10000;
        m.pa = 0x80000000;
        m.size = 4096;
        m.perm = IMS_PERM_RW;
        r.apply(m);
        ims_req q{};
        q.rid = rid;
        q.pasid = IMS_NO_PASID;
        q.iova = 0x10000;
        q.size = 64;
        q.access = IMS_PERM_R;
        q.at = IMS_AT_UNTRANSLATED;
        const ims::Cycles t = 5000;
        ims::ReqExt e;
        r.iommu.translate(t, q, e);
        ck_assert(!(e.xlate.flags & IMS_XLATE_CTX_HIT));
        ck_assert_uint_eq(e.xlate.pa, 0x80000000);
        const ims::Cycles ctx_ready = t + c.ctx_latency + 2 * c.mem_latency;  // root + context entry
        ck_assert_uint_eq(r.iommu.invalidate_context(t + 10, IMS_INV_DOMAIN, 0x23, 0, 0), t + 10 + c.inv_latency);
        ck_assert_uint_eq(r.iommu.invalidate_context(t + 20, IMS_INV_DOMAIN, did - 1, 0, 0), t + 20 + c.inv_latency);
        ck_assert_uint_eq(r.iommu.invalidate_context(t + 30, IMS_INV_DOMAIN, did, 0, 0), ctx_ready + c.inv_latency);
    }
}
END_TEST

Suite *tlm_suite()
{
    Suite *s = suite_create("tlm");
    TCase *tc = tcase_create("timing");
    tcase_add_test(tc, isolated_hit_and_miss_latency);
    tcase_add_test(tc, latency_follows_config);
    tcase_add_test(tc, simultaneous_misses_one_walk);
    tcase_add_test(tc, walker_contention);
    tcase_add_test(tc, hit_under_miss);
    tcase_add_test(tc, queue_backpressure);
    tcase_add_loop_test(tc, invalidation_ordering, IMS_INV_DRAIN, IMS_INV_DISCARD + 1);
    tcase_add_test(tc, fault_record_lands_in_memory);
    tcase_add_test(tc, sockets_forward_and_ats);
    tcase_add_test(tc, cosim_lockstep_ats);
    tcase_add_test(tc, cosim_rtl_ats);
    tcase_add_test(tc, socket_protocols);
    tcase_add_test(tc, dmi_table_reads_follow_frees);
    tcase_add_test(tc, latency_histogram);
    tcase_add_test(tc, latency_histogram_sparse_equals_dense);

    tcase_add_test(tc, memory_limits);
    tcase_add_test(tc, walk_observer_sees_walks);
    tcase_add_test(tc, percentile_ranks_exact);
    tcase_add_test(tc, memory_bandwidth_exact);
    tcase_add_loop_test(tc, memory_outstanding_exact, 0, 2);
    tcase_add_loop_test(tc, invalidation_overlaps_fills, 0, 10);
    tcase_add_test(tc, context_invalidation_wide_domain_id);
    suite_add_tcase(s, tc);

    TCase *run = tcase_create("run");  // whole runs through the trace player
    tcase_add_test(run, merged_miss_is_a_miss);
    tcase_add_test(run, merged_psc_miss_is_a_miss);
    tcase_add_test(run, reordered_is_reported);
    tcase_add_test(run, measured_span_excludes_time_before_dma);
    tcase_add_loop_test(run, translated_requests_reach_the_sink, 0, 2);
    tcase_add_loop_test(run, untimed_open_loop_warns, 0, 2);
    tcase_add_loop_test(run, open_loop_overload_warns, 0, 2);
    tcase_add_loop_test(run, open_loop_overload_threshold, 0, 4);
    tcase_add_test(run, csv_merged_miss_is_a_miss);
    tcase_add_loop_test(run, untimed_warning_cases, 0, 3);
    tcase_add_test(run, closed_loop_never_overloaded);
    tcase_add_test(run, timestamp_cycles_do_not_wrap);
    tcase_add_loop_test(run, hostile_timestamps_refused, 0, 2);
    tcase_add_loop_test(run, unrepresentable_timestamp_refused, 0, 2);
    tcase_add_loop_test(run, timestamp_range_boundary, 0, 2);
    tcase_add_loop_test(run, warmup_covering_trace_refused, 0, 4);
    tcase_add_loop_test(run, warmup_excluded_everywhere, 0, 2);
    tcase_add_test(run, dropped_faults_reported);
    tcase_add_test(run, json_percentiles);
    suite_add_tcase(s, run);
    return s;
}

}  // namespace

int main()
{
    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
    return ims_check_run(tlm_suite());
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **) { return 2; }
