// ims::Memory's cycle-timed path (NeverWaits::ignore_at, which the IOMMU's
// timed table reads take) charges what its b_transport charges: two
// memories of one configuration, one driven through the socket with
// TLM_IGNORE_COMMAND payloads and one through ignore_at, see the same
// accesses and must give the same completion cycle for every one, and the
// same statistics. Short and long calendar spans, a table-read cache (random
// per access) and accesses wider than a bucket's bandwidth are covered.
#include <vector>

#include "iommusim/mem.h"
#include "iommusim/tlm.hpp"
// Check last: its fail() macro clashes with <ios>.
#include <check.h>
#include "ims_check.h"

namespace {

// Configuration _i: 0 short spans; 1 long spans (a latency of many buckets),
// wide accesses; 2 the table-read cache and a tight outstanding limit.
ims_sim_cfg config(int i)
{
    ims_sim_cfg cfg;
    ims_sim_cfg_default(&cfg);
    cfg.seed = 7;
    if (i == 1) {
        cfg.mem_latency = 4000;
        cfg.mem_access_bytes = 256;
        cfg.mem_bytes_per_cycle = 16;
    } else if (i == 2) {
        cfg.ptw_cache_hit = 0.4;
        cfg.mem_outstanding = 3;
        cfg.mem_access_bytes = 64;
    }
    return cfg;
}

std::uint64_t next_rand(std::uint64_t &s)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

START_TEST(ignore_at_is_b_transport)
{
    const ims_sim_cfg cfg = config(_i);
    ims::Clock clk(cfg.clock_mhz);
    ims_mem *backing = ims_mem_create();
    ims::Memory by_socket("by_socket", cfg, clk), direct("direct", cfg, clk);
    by_socket.bind_backing(backing);
    direct.bind_backing(backing);
    tlm::tlm_fw_transport_if<> &fw = by_socket.tsock.get_base_interface();
    ims::NeverWaits *nw = dynamic_cast<ims::NeverWaits *>(&direct.tsock.get_base_interface());
    ck_assert_ptr_nonnull(nw);

    std::uint64_t data = 0, rng = 0x1234567u;
    tlm::tlm_generic_payload tr;
    tr.set_data_ptr(reinterpret_cast<unsigned char *>(&data));
    tr.set_data_length(8);
    tr.set_streaming_width(8);
    tr.set_byte_enable_ptr(nullptr);
    ims::Cycles t = 100;
    for (int n = 0; n < 20000; n++) {
        // Bursts at one cycle (bandwidth and outstanding limits bind), steps,
        // and now and then a jump past a calendar turn.
        const std::uint64_t r = next_rand(rng);
        t += (r & 3) == 0 ? 0 : (r & 7) == 1 ? (r >> 8) % 70000 : (r >> 8) % 9;
        tr.set_command(tlm::TLM_IGNORE_COMMAND);
        tr.set_address(0x1000 + (r >> 20) % 0x100000 * 8);
        tr.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time delay = clk.to_time(t);
        fw.b_transport(tr, delay);
        const ims::Cycles want = clk.arrival(delay);
        ims::Cycles got = 0;
        ck_assert(nw->ignore_at(clk, t, 8, &got));
        ck_assert_msg(got == want, "access %d at cycle %llu: ignore_at %llu, b_transport %llu", n,
                      static_cast<unsigned long long>(t), static_cast<unsigned long long>(got),
                      static_cast<unsigned long long>(want));
    }
    ck_assert_uint_eq(direct.timing().accesses(), by_socket.timing().accesses());
    ck_assert_uint_eq(direct.timing().cache_hits(), by_socket.timing().cache_hits());
    ck_assert_uint_eq(direct.timing().stall_cycles(), by_socket.timing().stall_cycles());
    ck_assert_uint_gt(direct.timing().stall_cycles(), 0);  // the limits did bind
    ims_mem_destroy(backing);
}
END_TEST

// Another clock, or no backing memory: ignore_at declines (the caller then
// uses b_transport), and charges nothing.
START_TEST(ignore_at_declines)
{
    const ims_sim_cfg cfg = config(0);
    ims::Clock clk(cfg.clock_mhz), other(cfg.clock_mhz * 2);
    ims_mem *backing = ims_mem_create();
    ims::Memory bound("bound", cfg, clk), unbound("unbound", cfg, clk);
    bound.bind_backing(backing);
    ims::NeverWaits *b = dynamic_cast<ims::NeverWaits *>(&bound.tsock.get_base_interface());
    ims::NeverWaits *u = dynamic_cast<ims::NeverWaits *>(&unbound.tsock.get_base_interface());
    ims::Cycles done = 5;
    ck_assert(!b->ignore_at(other, 10, 8, &done));
    ck_assert(!u->ignore_at(clk, 10, 8, &done));
    ck_assert_uint_eq(done, 5);
    ck_assert_uint_eq(bound.timing().accesses(), 0);
    ck_assert(b->ignore_at(clk, 10, 8, &done));
    ck_assert_uint_eq(done, 10 + cfg.mem_latency);
    ck_assert_uint_eq(bound.timing().accesses(), 1);
    ims_mem_destroy(backing);
}
END_TEST

}  // namespace

int main()
{
    Suite *s = suite_create("mem_direct");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, ignore_at_is_b_transport, 0, 3);
    tcase_add_test(tc, ignore_at_declines);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **)
{
    return 2;
}
