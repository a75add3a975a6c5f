// Constrained-random co-simulation of the RTL walker (cosim_random.hpp says
// what a round draws and checks), and the soak driver.
//
//   test_cosim_random                 the CTest: 16 rounds (walker counts
//                                     1..16) of 320 walks, Check suite
//   test_cosim_random --walks N       N walks (rounds of 320), no Check:
//                                     the soak (bench/: --walks 1000000)
//   test_cosim_random --seed S --round R
//                                     replays round R of seed S alone
//   --idle-check-every N              the skip_idle-off rerun (the costly
//                                     one: every cycle evaluated) only in
//                                     every Nth round (soak; default 1)
//   --quiet                           a line per 100 rounds
//   --no-early-arrivals               no walks that start before the
//                                     previous walk (IMS_COSIM_EARLY=0); by
//                                     default one in twenty does (the
//                                     adapter presents it from the previous
//                                     walk's start: arrival order)
// The seed: --seed S, or IMS_COSIM_SEED=S (a number, or `random` for one
// from the clock); default 1. It is printed first, with the command that
// replays it; a failure names its round.
//
// Coverage (built with -DIMS_RTL_COVERAGE=ON; `make coverage`): with
// --coverage DIR or IMS_COSIM_COVERAGE_DIR=DIR, every simulator's counters
// are written to DIR/cosim-N.dat when it ends (verilator_coverage merges
// them). Asking for coverage from a build without it is an error (exit 2).
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cosim_random.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "Vims_walker.h"
#include "verilated.h"
#if VM_COVERAGE
#include "verilated_cov.h"
#endif
#pragma GCC diagnostic pop

// After the C++ headers: check.h defines a macro `fail` that std::ios uses.
#include <check.h>
#include "ims_check.h"

using namespace ims;
using namespace ims::test;

namespace {

struct Options {
    std::uint64_t seed = 1;
    std::uint64_t walks = 16 * 320;
    unsigned per_round = 320;
    long only_round = -1;
    std::string coverage;
    bool quiet = false;  // soak: a line per 100 rounds, not per round
    unsigned idle_every = 1;  // the skip_idle-off rerun in every Nth round
    bool early = true;        // walks that start before the previous one (see the header)
};
Options g_opt;
[[maybe_unused]] unsigned g_cov_files = 0;

std::uint64_t round_seed(std::uint64_t seed, unsigned r) { return mix(seed, r, 0x5eed); }

SimHook coverage_hook()
{
    if (g_opt.coverage.empty())
        return nullptr;
#if VM_COVERAGE
    return [](RtlWalkerSim &) {
        // The simulator's VerilatedContext is the thread's latest one
        // (Verilator: constructing a context makes it threadContextp), and
        // simulators here live one at a time.
        const std::string f = g_opt.coverage + "/cosim-" + std::to_string(g_cov_files++) + ".dat";
        // Per instance: the cover points of generate blocks (levels, start
        // level, leaf, walkers busy) are separate bins, not summed into one.
        Verilated::threadContextp()->coveragep()->forcePerInstance(true);
        Verilated::threadContextp()->coveragep()->write(f.c_str());
    };
#else
    return nullptr;
#endif
}

// ---- Port back-pressure, on the pins -------------------------------------
// RtlWalkerSim keeps mem_req_ready_i and rsp_ready_i at 1 (the model's memory
// takes every read; its bandwidth and queueing are latency), so no walk made
// through it can stall a port. This driver makes the round's walks once more
// on the verilated walker directly, with each ready low in 30 % of cycles and
// responses in random order, and checks every answer against the core the
// same way (differs()); in coverage builds it writes its counters too
// (the MemReqStall_C bin needs it).
std::string pin_stalls(const World &w, const std::vector<Expect> &ex, const RoundSetup &su, std::uint64_t rseed)
{
    VerilatedContext ctx;
    ctx.errorLimit(1 << 30);
    Vims_walker v(&ctx, "walker");
    Rng g(mix(rseed, 4));
    const RoundLat rl{mix(rseed, 5), su.lat_lo, su.lat_hi};
    v.cfg_walkers_i = static_cast<CData>(su.walkers);
    v.cfg_rsvd_i = ims_iommu_pte_rsvd(w.mmu);
    v.cfg_sllps_i = w.cfg.caps.sllps & 3u;
    v.req_valid_i = 0;
    v.mem_rsp_valid_i = 0;
    v.rsp_ready_i = 1;
    v.mem_req_ready_i = 1;
    v.clk_i = 0;
    v.rst_ni = 0;
    v.eval();
    v.clk_i = 1;
    v.eval();
    v.clk_i = 0;
    v.rst_ni = 1;
    v.eval();
    struct Rd {
        unsigned slot;
        std::uint64_t addr;
        Cycles due;
    };
    std::vector<Rd> pend;
    std::vector<RtlWalkOut> out(ex.size());
    std::vector<bool> done(ex.size(), false);
    int slot_walk[32];
    for (int &s : slot_walk)
        s = -1;
    std::size_t next = 0, finished = 0;
    // Tags: the walk's index mod 256, in order (the RTL ranks walks by tag in
    // serial-number order, every tag in flight within half the tag space: a
    // walk 128 or more younger than one still in flight waits for it).
    std::vector<unsigned> tag_of(ex.size(), 0);
    int next_tag = -1;  // tag of the walk on the request port (held there until accepted)
    auto window_ok = [&](std::size_t n) {
        for (unsigned k = 0; k < 32; k++)
            if (slot_walk[k] >= 0 && n - static_cast<std::size_t>(slot_walk[k]) >= 128)
                return false;
        return true;
    };
    for (Cycles c = 0; finished < ex.size(); c++) {
        if (c > 2000000 + 2000 * ex.size())
            return "pins: the walker hangs (" + std::to_string(finished) + " of " + std::to_string(ex.size()) + " answered)";
        const bool present = next < ex.size() && (next_tag >= 0 || window_ok(next));
        v.req_valid_i = present;
        if (present) {
            const RtlWalkIn &in = ex[next].in;
            next_tag = static_cast<int>(next & 0xff);
            v.req_tag_i = static_cast<CData>(next_tag);
            v.req_did_i = in.did;
            v.req_table_i = in.table;
            v.req_levels_i = in.levels;
            v.req_start_i = in.start;
            v.req_perm_i = in.perm;
            v.req_iova_i = in.iova;
            v.req_access_i = in.access;
        }
        std::vector<std::size_t> due;
        for (std::size_t i = 0; i < pend.size(); i++)
            if (pend[i].due <= c)
                due.push_back(i);
        v.mem_rsp_valid_i = !due.empty();
        std::size_t pick = due.empty() ? 0 : due[g.below(due.size())];
        if (!due.empty()) {
            bool e = false;
            v.mem_rsp_id_i = static_cast<CData>(pend[pick].slot);
            v.mem_rsp_data_i = w.read(pend[pick].addr, &e);
            v.mem_rsp_err_i = e;
        }
        v.mem_req_ready_i = !g.pct(30);
        v.rsp_ready_i = !g.pct(30);
        const unsigned busy_before = v.busy_o;
        v.eval();
        const bool acc = v.req_valid_i && v.req_ready_o;
        if (!due.empty())
            pend.erase(pend.begin() + static_cast<long>(pick));
        if (v.mem_req_valid_o && v.mem_req_ready_i) {
            const unsigned id = v.mem_req_id_o;
            if (id >= 32 || slot_walk[id] < 0)
                return "pins: a read from a free slot";
            RtlWalkOut &o = out[static_cast<std::size_t>(slot_walk[id])];
            if (o.nlog < RtlWalkOut::kMaxReads) {
                o.read_addr[o.nlog] = v.mem_req_addr_o;
                o.read_level[o.nlog] = v.mem_req_level_o;
            }
            o.nlog++;
            pend.push_back({id, v.mem_req_addr_o, c + round_latency(&rl, c, 0)});
        }
        if (v.rsp_valid_o && v.rsp_ready_i) {
            const unsigned tag = v.rsp_tag_o;
            int s = -1;
            for (unsigned k = 0; k < 32; k++)
                if (slot_walk[k] >= 0 && tag_of[static_cast<std::size_t>(slot_walk[k])] == tag)
                    s = static_cast<int>(k);
            if (s < 0)
                return "pins: a response with a tag no walk in flight has";
            RtlWalkOut &o = out[static_cast<std::size_t>(slot_walk[s])];
            o.pa = v.rsp_pa_o;
            o.shift = v.rsp_shift_o;
            o.perm = v.rsp_perm_o;
            o.fault = v.rsp_fault_o;
            o.reads = v.rsp_reads_o;
            done[static_cast<std::size_t>(slot_walk[s])] = true;
            slot_walk[s] = -1;
            finished++;
        }
        v.clk_i = 1;
        v.eval();
        v.clk_i = 0;
        v.eval();
        if (acc) {
            const unsigned fresh = v.busy_o & ~busy_before;
            unsigned s = 0;
            while (s < 32 && !(fresh >> s & 1u))
                s++;
            if (s >= 32)
                return "pins: an accepted request took no slot";
            tag_of[next] = static_cast<unsigned>(next_tag);
            next_tag = -1;
            slot_walk[s] = static_cast<int>(next++);
        }
        if (ctx.errorCount())
            return "pins: an assertion in the RTL failed (its message is above)";
    }
    for (std::size_t i = 0; i < ex.size(); i++) {
        const std::string d = differs(ex[i], out[i]);
        if (!d.empty())
            return "pins: walk " + std::to_string(i) + " (" + describe(ex[i]) + "): " + d;
    }
#if VM_COVERAGE
    if (!g_opt.coverage.empty()) {
        ctx.coveragep()->forcePerInstance(true);
        ctx.coveragep()->write((g_opt.coverage + "/cosim-" + std::to_string(g_cov_files++) + ".dat").c_str());
    }
#endif
    return "";
}

struct Totals {
    std::uint64_t walks = 0, mismatches = 0, delayed = 0, replayed = 0, cycles_skip = 0, cycles_all = 0;
    unsigned rounds = 0, rounds_skipping = 0, idle_checked = 0;
    std::string first_error;
};

// Runs the rounds asked for; prints one line per round (or per 100).
Totals run_rounds()
{
    Totals t;
    const SimHook hook = coverage_hook();
    std::printf("cosim random: seed %" PRIu64 " (replay: IMS_COSIM_SEED=%" PRIu64 " or test_cosim_random --seed %" PRIu64
                ")\n",
                g_opt.seed, g_opt.seed, g_opt.seed);
    const auto t0 = std::chrono::steady_clock::now();
    for (unsigned r = 0; t.walks < g_opt.walks || g_opt.only_round >= 0; r++) {
        if (g_opt.only_round >= 0 && r != static_cast<unsigned>(g_opt.only_round))
            continue;
        const RoundSetup su = round_setup(round_seed(g_opt.seed, r), r);
        RoundResult res = run_round(round_seed(g_opt.seed, r), r, g_opt.per_round, hook, 8, r % g_opt.idle_every == 0,
                                    r % g_opt.idle_every == 0 ? pin_stalls : WalksHook(), g_opt.early);
        t.rounds++;
        t.walks += res.walks;
        t.mismatches += res.mismatches;
        t.delayed += res.delayed;
        t.replayed += res.replayed;
        t.cycles_skip += res.cycles_skip;
        t.cycles_all += res.cycles_all;
        t.rounds_skipping += res.cycles_skip < res.cycles_all;
        t.idle_checked += r % g_opt.idle_every == 0;
        if (!g_opt.quiet || !res.error.empty() || res.mismatches || r % 100 == 0)
            std::printf("round %u: walkers %u, HAW %u, DT %d, SLLPS %u, latency %" PRIu64 "..%" PRIu64 ": %" PRIu64
                        " walks, %" PRIu64 " mismatches, %" PRIu64 " delayed, cycles %" PRIu64 " (skip_idle on) / %" PRIu64
                        " (off)\n",
                        r, su.walkers, su.wc.haw, su.wc.dt, su.wc.sllps, su.lat_lo, su.lat_hi, res.walks, res.mismatches,
                        res.delayed, res.cycles_skip, res.cycles_all);
        std::fflush(stdout);
        for (const std::string &m : res.reports)
            std::printf("  mismatch: %s\n", m.c_str());
        if (!res.error.empty()) {
            std::printf("  error: %s\n", res.error.c_str());
            if (t.first_error.empty())
                t.first_error = "round " + std::to_string(r) + ": " + res.error;
        }
        if ((res.mismatches || !res.error.empty()))
            std::printf("  replay: test_cosim_random --seed %" PRIu64 " --round %u\n", g_opt.seed, r);
        if (g_opt.only_round >= 0)
            break;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("cosim random: seed %" PRIu64 ", %u rounds, %" PRIu64 " walks, %" PRIu64 " mismatches, %" PRIu64
                " delayed, %" PRIu64 " RTL cycles (skip_idle on) / %" PRIu64 " (off), %.1f s, %.0f walks/s\n",
                g_opt.seed, t.rounds, t.walks, t.mismatches, t.delayed, t.cycles_skip, t.cycles_all, s,
                s > 0 ? static_cast<double>(t.walks) / s : 0.0);
    return t;
}

START_TEST(random_rounds)
{
    const Totals t = run_rounds();
    ck_assert_msg(t.first_error.empty(), "%s", t.first_error.c_str());
    ck_assert_msg(t.mismatches == 0, "%" PRIu64 " of %" PRIu64 " walks differ from the C core (seed %" PRIu64 ")",
                  t.mismatches, t.walks, g_opt.seed);
    ck_assert_uint_ge(t.walks, g_opt.walks);
    // The stimulus does what it is for: the RTL ran ahead and rolled back,
    // cycles were skipped, and (early arrivals) some walks entered after their start.
    if (g_opt.only_round < 0 && g_opt.walks >= 5000) {
        if (g_opt.early)
            ck_assert_uint_gt(t.delayed, 0);
        ck_assert_uint_gt(t.replayed, 0);
        ck_assert_uint_gt(t.rounds_skipping, t.idle_checked / 2);
    }
}
END_TEST

[[noreturn]] void usage(const char *why)
{
    std::fprintf(stderr,
                 "test_cosim_random: %s\n"
                 "usage: test_cosim_random [--seed N|random] [--walks N] [--walks-per-round N] [--round R] "
                 "[--idle-check-every N] [--no-early-arrivals] [--coverage DIR] [--quiet]\n",
                 why);
    std::exit(2);
}

std::uint64_t number(const char *opt, const char *s)
{
    char *end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 0);
    if (!*s || *end || errno || s[0] == '-')
        usage((std::string(opt) + ": not a number: '" + s + "'").c_str());
    return v;
}

std::uint64_t parse_seed(const char *opt, const char *s)
{
    if (std::strcmp(s, "random") == 0)
        return static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    return number(opt, s);
}

}  // namespace

int main(int argc, char **argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // Check's forked child: lines out as they come
    if (const char *s = std::getenv("IMS_COSIM_SEED"); s && *s)
        g_opt.seed = parse_seed("IMS_COSIM_SEED", s);
    if (const char *s = std::getenv("IMS_COSIM_EARLY"); s && *s)
        g_opt.early = std::strcmp(s, "0") != 0;
    if (const char *s = std::getenv("IMS_COSIM_COVERAGE_DIR"); s && *s)
        g_opt.coverage = s;
    bool driver = false;  // arguments given: run as the soak / replay driver, not as a Check suite
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto val = [&]() -> const char * {
            if (i + 1 >= argc)
                usage((a + " needs a value").c_str());
            return argv[++i];
        };
        driver = true;
        if (a == "--seed")
            g_opt.seed = parse_seed("--seed", val());
        else if (a == "--walks")
            g_opt.walks = number("--walks", val());
        else if (a == "--walks-per-round") {
            g_opt.per_round = static_cast<unsigned>(number("--walks-per-round", val()));
            if (g_opt.per_round < 1 || g_opt.per_round > 100000)
                usage("--walks-per-round: 1..100000");
        } else if (a == "--round")
            g_opt.only_round = static_cast<long>(number("--round", val()));
        else if (a == "--coverage")
            g_opt.coverage = val();
        else if (a == "--idle-check-every") {
            g_opt.idle_every = static_cast<unsigned>(number("--idle-check-every", val()));
            if (g_opt.idle_every < 1)
                usage("--idle-check-every: at least 1");
        } else if (a == "--no-early-arrivals")
            g_opt.early = false;
        else if (a == "--quiet")
            g_opt.quiet = true;
        else
            usage(("unknown argument '" + a + "'").c_str());
    }
#if !VM_COVERAGE
    if (!g_opt.coverage.empty())
        usage("coverage asked for, but this build's walker has none (configure with -DIMS_RTL_COVERAGE=ON)");
#endif
    if (!driver && quick())
        g_opt.walks = g_opt.per_round;  // one round (walkers 16)
    if (driver) {
        const Totals t = run_rounds();
        if (!t.first_error.empty())
            std::fprintf(stderr, "test_cosim_random: %s\n", t.first_error.c_str());
        return t.first_error.empty() && t.mismatches == 0 ? 0 : 1;
    }
    Suite *s = suite_create("cosim_random");
    TCase *tc = tcase_create("random");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, random_rounds);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
