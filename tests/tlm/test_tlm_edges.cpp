// Edges of the timing model's building blocks that the end-to-end runs pass
// over: the latency histogram's minimum and its bucket lower bounds above
// the exact range, the fills in flight (a second fill of a key, a table
// rebuild), the range of a fractional configuration key, and a DMA through the
// socket that its translation does not cover whole. Expected values
// are worked out in the comments.
#include <cstring>

#include "iommusim/run.hpp"
#include "iommusim/simcfg.h"
#include "kernel_check.hpp"
// The fills-in-flight table is internal to model/tlm.
#include "../../model/tlm/inflight.hpp"
// Check last: its fail() macro clashes with <ios>.
#include <check.h>
#include "ims_check.h"

using ims::Cycles;

// A sample of 0 is the minimum (0 is a valid latency: a translation that
// costs nothing), below every other sample.
START_TEST(hist_min_zero)
{
    ims::LatHist h;
    h.add(7);
    h.add(0);
    h.add(3000);
    ck_assert_uint_eq(h.min(), 0);
    ck_assert_uint_eq(h.max(), 3000);
    ck_assert_uint_eq(h.percentile(0.0), 0);
}
END_TEST

// Above 1023 cycles a bucket spans 2^(e-6) cycles and a percentile is its
// lower bound. 5000 = 2^12 + 904: e = 12, sub-bucket (5000 >> 6) & 63 = 14,
// lower bound 4096 + 14 * 64 = 4992. 2000 lies in a 16-cycle bucket whose
// lower bound is 2000 itself (1024 + 61 * 16).
START_TEST(hist_large_lower_bound)
{
    ims::LatHist h;
    h.add(2000);
    h.add(5000);
    ck_assert_uint_eq(h.percentile(0.5), 2000);
    ck_assert_uint_eq(h.percentile(1.0), 4992);
    ck_assert_uint_eq(h.max(), 5000); // max and min are exact
    ck_assert_uint_eq(h.min(), 2000);
    ims::LatHist g;
    g.add(1u << 20);
    g.add((1u << 20) + (1u << 14) + 5); // e = 20, bucket width 2^14: sub-bucket 1
    ck_assert_uint_eq(g.percentile(1.0), (1u << 20) + (1u << 14));
}
END_TEST

static ims_key key(std::uint64_t tag)
{
    return ims_key{tag, 1, IMS_KEY_IOTLB, 12};
}

// Two fills of one key in flight: a lookup waits for the later one, whichever
// was put first.
START_TEST(inflight_second_fill_keeps_latest)
{
    ims::InFlightFills f;
    f.put(key(5), 100, 0);
    f.put(key(5), 50, 0);
    ck_assert_uint_eq(f.wait_for(key(5), 0), 100);
    ck_assert_uint_eq(f.wait_for(key(5), 120), 120); // done by then
    ck_assert_uint_eq(f.wait_for(key(6), 0), 0);     // another key: no wait
}
END_TEST

// The table is rebuilt (fills done by `now` dropped) when it fills up; a fill
// that completes one cycle after `now` is still in flight and survives.
START_TEST(inflight_rebuild_keeps_pending)
{
    ims::InFlightFills f;
    f.put(key(1), 101, 0);
    f.put(key(2), 100, 0);
    for (std::uint64_t t = 10; t < 2010; t++)
        f.put(key(t), 200, 100); // 2000 more keys: at least one rebuild at now = 100
    ck_assert_uint_eq(f.wait_for(key(1), 0), 101);
    ck_assert_uint_eq(f.wait_for(key(2), 0), 0); // done at 100 = now: dropped, no wait
    ck_assert_uint_eq(f.wait_for(key(2009), 0), 200);
}
END_TEST

// mem.ptw_cache_hit is a probability: [0, 1]; -0.5 and 1.5 are refused.
START_TEST(cfg_probability_range)
{
    ims_sim_cfg cfg;
    ims_sim_cfg_default(&cfg);
    char err[256];
    ck_assert_int_eq(ims_sim_cfg_set(&cfg, "mem.ptw_cache_hit", "0", err, sizeof err), 0);
    ck_assert_int_eq(ims_sim_cfg_set(&cfg, "mem.ptw_cache_hit", "1", err, sizeof err), 0);
    ck_assert_int_ne(ims_sim_cfg_set(&cfg, "mem.ptw_cache_hit", "-0.5", err, sizeof err), 0);
    ck_assert_msg(std::strstr(err, "out of range") != nullptr, "%s", err);
    ck_assert_int_ne(ims_sim_cfg_set(&cfg, "mem.ptw_cache_hit", "1.5", err, sizeof err), 0);
}
END_TEST

// ---- The DMA socket: a request the translation does not cover whole

struct Dev : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Dev> dma, ats;
    explicit Dev(sc_core::sc_module_name n) : sc_module(n), dma("dma"), ats("ats") {}
};

constexpr std::uint16_t kRid = IMS_BDF(0, 3, 0);

// One IOMMU between a device and a data sink, kRid attached to domain 1
// (4 levels), the pages at 0x10000 and 0x11000 mapped to 0x80000000 and
// 0x90000000 (not contiguous).
struct Rig {
    ims_sim_cfg cfg;
    ims::Clock clk;
    ims::Memory memory;
    ims::DataSink sink;
    ims::Iommu iommu;
    Dev dev;
    ims_trace_hdr hdr{};
    ims_replay *rp = nullptr;
    static ims_sim_cfg defaults()
    {
        ims_sim_cfg c;
        ims_sim_cfg_default(&c);
        return c;
    }
    Rig()
        : cfg(defaults()), clk(cfg.clock_mhz), memory("memory", cfg, clk), sink("sink"), iommu("iommu", cfg, clk),
          dev("dev")
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
        kcheck::run(sc_core::SC_ZERO_TIME);
        ims_rec a{};
        a.kind = IMS_REC_ATTACH;
        a.rid = kRid;
        a.did = 1;
        a.levels = 4;
        control(a);
        const std::uint64_t pa[2] = {0x80000000, 0x90000000};
        for (unsigned i = 0; i < 2; i++) {
            ims_rec m{};
            m.kind = IMS_REC_MAP;
            m.did = 1;
            m.iova = 0x10000 + i * 0x1000;
            m.pa = pa[i];
            m.size = 0x1000;
            m.perm = IMS_PERM_RW;
            control(m);
        }
    }
    ~Rig() { ims_replay_destroy(rp); }
    void control(const ims_rec &r)
    {
        char err[256];
        ck_assert_msg(ims_replay_control(rp, &r, err, sizeof err) == 0, "control: %s", err);
    }
    // A device read of len bytes at iova through the DMA socket; its response.
    tlm::tlm_response_status read(std::uint64_t iova, unsigned len)
    {
        unsigned char buf[256] = {};
        ims::ReqExt ext;
        ext.rid = kRid;
        tlm::tlm_generic_payload t;
        t.set_extension(&ext);
        t.set_command(tlm::TLM_READ_COMMAND);
        t.set_address(iova);
        t.set_data_ptr(buf);
        t.set_data_length(len);
        t.set_streaming_width(len);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        dev.dma->b_transport(t, d);
        t.clear_extension(&ext);
        return t.get_response_status();
    }
};

// A DMA that ends on its page's last byte is forwarded; one byte more crosses
// into a page mapped elsewhere, which one translation cannot cover: a burst
// error, nothing forwarded (the player splits DMAs at pages before this).
START_TEST(dma_crossing_page_is_burst_error)
{
    Rig r;
    ck_assert_int_eq(r.read(0x10fc0, 64), tlm::TLM_OK_RESPONSE);
    ck_assert_uint_eq(r.sink.requests(), 1);
    ck_assert_int_eq(r.read(0x10fc0, 65), tlm::TLM_BURST_ERROR_RESPONSE);
    ck_assert_uint_eq(r.sink.requests(), 1);
    ck_assert_int_eq(r.read(0x10fff, 2), tlm::TLM_BURST_ERROR_RESPONSE);
    ck_assert_uint_eq(r.sink.requests(), 1);
    ck_assert_int_eq(r.read(0x11000, 64), tlm::TLM_OK_RESPONSE);
    ck_assert_uint_eq(r.sink.requests(), 2);
}
END_TEST

int main()
{
    Suite *s = suite_create("tlm_edges");
    TCase *tc = tcase_create("edges");
    tcase_add_test(tc, hist_min_zero);
    tcase_add_test(tc, hist_large_lower_bound);
    tcase_add_test(tc, inflight_second_fill_keeps_latest);
    tcase_add_test(tc, inflight_rebuild_keeps_pending);
    tcase_add_test(tc, cfg_probability_range);
    tcase_add_test(tc, dma_crossing_page_is_burst_error);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **)
{
    return 2;
}
