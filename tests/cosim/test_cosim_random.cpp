// Constrained-random co-simulation of the RTL walker (cosim_random.hpp says
// what a round draws and checks), and the soak driver.
//
//   test_cosim_random                 the CTest: 16 rounds (walker counts
//                                     1..16) of 320 walks, Check suite
//   test_cosim_random --walks N       N walks (rounds of 320), no Check:
//                                     the soak (bench/: --walks 1000000)
//   test_cosim_random --seed S --round R
//                                     replays round R of seed S alone
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

#if VM_COVERAGE
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "verilated.h"
#include "verilated_cov.h"
#pragma GCC diagnostic pop
#endif

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
        Verilated::threadContextp()->coveragep()->write(f.c_str());
    };
#else
    return nullptr;
#endif
}

struct Totals {
    std::uint64_t walks = 0, mismatches = 0, retries = 0, replayed = 0, cycles_skip = 0, cycles_all = 0;
    unsigned rounds = 0, rounds_skipping = 0;
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
        RoundResult res = run_round(round_seed(g_opt.seed, r), r, g_opt.per_round, hook);
        t.rounds++;
        t.walks += res.walks;
        t.mismatches += res.mismatches;
        t.retries += res.retries;
        t.replayed += res.replayed;
        t.cycles_skip += res.cycles_skip;
        t.cycles_all += res.cycles_all;
        t.rounds_skipping += res.cycles_skip < res.cycles_all;
        if (!g_opt.quiet || !res.error.empty() || res.mismatches || r % 100 == 0)
            std::printf("round %u: walkers %u, HAW %u, DT %d, SLLPS %u, latency %" PRIu64 "..%" PRIu64 ": %" PRIu64
                        " walks, %" PRIu64 " mismatches, %" PRIu64 " retried, cycles %" PRIu64 " (skip_idle on) / %" PRIu64
                        " (off)\n",
                        r, su.walkers, su.wc.haw, su.wc.dt, su.wc.sllps, su.lat_lo, su.lat_hi, res.walks, res.mismatches,
                        res.retries, res.cycles_skip, res.cycles_all);
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
                " retried, %" PRIu64 " RTL cycles (skip_idle on) / %" PRIu64 " (off), %.1f s, %.0f walks/s\n",
                g_opt.seed, t.rounds, t.walks, t.mismatches, t.retries, t.cycles_skip, t.cycles_all, s,
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
    // The stimulus does what it is for: walks that entered earlier than
    // the previous one made the adapter retry some, and cycles were skipped.
    if (g_opt.only_round < 0 && g_opt.walks >= 5000) {
        ck_assert_uint_gt(t.retries, 0);
        ck_assert_uint_gt(t.replayed, 0);
        ck_assert_uint_gt(t.rounds_skipping, t.rounds / 2);
    }
}
END_TEST

[[noreturn]] void usage(const char *why)
{
    std::fprintf(stderr,
                 "test_cosim_random: %s\n"
                 "usage: test_cosim_random [--seed N|random] [--walks N] [--walks-per-round N] [--round R] "
                 "[--coverage DIR] [--quiet]\n",
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
        else if (a == "--quiet")
            g_opt.quiet = true;
        else
            usage(("unknown argument '" + a + "'").c_str());
    }
#if !VM_COVERAGE
    if (!g_opt.coverage.empty())
        usage("coverage asked for, but this build's walker has none (configure with -DIMS_RTL_COVERAGE=ON)");
#endif
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
