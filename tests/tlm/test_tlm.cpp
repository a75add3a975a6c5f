// Timing-model tests: each case builds its own SystemC world (Check forks a
// process per test), elaborates it, then drives Iommu::translate() and the
// sockets directly with chosen arrival cycles.
#include <cstring>
#include <memory>

#include "iommusim/run.hpp"

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
        sc_core::sc_start(sc_core::SC_ZERO_TIME);  // elaborate: sockets resolve
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
    tcase_add_test(tc, socket_protocols);
    tcase_add_test(tc, dmi_table_reads_follow_frees);
    tcase_add_test(tc, latency_histogram);
    tcase_add_test(tc, memory_limits);
    tcase_add_test(tc, walk_observer_sees_walks);
    suite_add_tcase(s, tc);
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
