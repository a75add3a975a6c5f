// Edges of the timing model's building blocks that the end-to-end runs pass
// over: the latency histogram's minimum and its bucket lower bounds above
// the exact range, the fills in flight (a second fill of a key, a table
// rebuild), and the range of a fractional configuration key. Expected values
// are worked out in the comments.
#include <cstring>

#include "iommusim/run.hpp"
#include "iommusim/simcfg.h"
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

static ims_key key(std::uint64_t tag) { return ims_key{tag, 1, IMS_KEY_IOTLB, 12}; }

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

int main()
{
    Suite *s = suite_create("tlm_edges");
    TCase *tc = tcase_create("edges");
    tcase_add_test(tc, hist_min_zero);
    tcase_add_test(tc, hist_large_lower_bound);
    tcase_add_test(tc, inflight_second_fill_keeps_latest);
    tcase_add_test(tc, inflight_rebuild_keeps_pending);
    tcase_add_test(tc, cfg_probability_range);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **) { return 2; }
