// Constrained-random co-simulation rounds (test_cosim_random, the soak, and
// test_cosim_bug): one round is one random world and one RtlWalkerSim
// configuration, everything drawn from a 64-bit round seed.
//
// A round:
// - caps: HAW 46 mostly, else 40..52; ECAP.DT on or off; SLLPS any subset.
// - tables (table builder, domains of 3, 4 and 5 levels): mappings of 4 KiB,
//   2 MiB and 1 GiB (as SLLPS allows) clustered in a few hot regions so that
//   walks share upper levels, with R/W, R or W; then about one mapping in
//   five has one entry on its path (its leaf, or a random level) edited:
//   R, W or both cleared (non-present middle levels), a reserved bit of
//   each rule set (SNP, 51:HAW, TM, PS, superpage address bits), ignored
//   bits set, a hand-written superpage (also where SLLPS lacks it), W
//   cleared in a level-2 entry, or its read made to fail (fault 0x7).
// - walks: IOVAs on mappings (a third of them on edited ones), beside
//   them, in the hot regions or anywhere in the domain's width; reads and
//   writes; bursts of 4..24 walks to one page in one cycle; arrival gaps
//   of 0..300 cycles scaled to the walkers' capacity (60..120 % load);
//   with `early`, one walk in twenty starts earlier than the previous
//   walk (the adapter presents it from that walk's start: arrival order).
// - memory: each read's latency drawn from [lo, hi] (lo 1..10, hi up to
//   lo + 120): responses come back out of order.
// - walker count: round r uses kWalkerCounts[r % 16], every count 1..16.
//
// Every walk is compared with the C core (differs()). Then the same walks,
// with the same latencies, run again with skip_idle off (every cycle and
// result must be the same), and through run_batch() with the start cycles
// the online run used (out.ready: a walk that started before the previous
// one entered at that one's start):
// identical accept, read and response cycles for every walk. The random
// test also makes them on the pins with both ports stalling (pin_stalls).
#ifndef IMS_TESTS_COSIM_RANDOM_HPP
#define IMS_TESTS_COSIM_RANDOM_HPP

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cosim_harness.hpp"

namespace ims {
namespace test {

constexpr unsigned kWalkerCounts[16] = {16, 1, 4, 2, 8, 3, 12, 5, 16, 6, 10, 7, 14, 9, 11, 13};

struct RoundResult {
    std::uint64_t walks = 0, mismatches = 0, delayed = 0, replayed = 0;
    std::uint64_t cycles_skip = 0, cycles_all = 0;  // cycles evaluated with skip_idle on, off
    std::uint64_t by_field[6] = {};                 // fault, pa, page_size, perm, reads, read addresses
    std::vector<std::string> reports;               // mismatching walks (the first few)
    std::string error;                              // the adapter failed, or two runs differed
};
static constexpr const char *kFieldNames[6] = {"fault", "pa", "page_size", "perm", "reads", "read "};

// Called with each simulator after its last walk, before it is destroyed
// (the coverage writer).
using SimHook = std::function<void(RtlWalkerSim &)>;
struct RoundSetup;
// Called at a round's end with its world and walks; returns a failure or "".
using WalksHook = std::function<std::string(const World &, const std::vector<Expect> &, const RoundSetup &, std::uint64_t rseed)>;

struct RoundSetup {
    WorldCfg wc;
    unsigned walkers = 4;
    Cycles lat_lo = 1, lat_hi = 60;
};

struct RoundLat {
    std::uint64_t seed;
    Cycles lo, hi;
};
inline Cycles round_latency(const void *ctx, std::size_t walk, unsigned k)
{
    const RoundLat &r = *static_cast<const RoundLat *>(ctx);
    const std::uint64_t v = mix(r.seed, walk, k);
    // Mostly in [lo, hi]; one read in 16 much slower (a long tail).
    return (v >> 60) == 0 ? r.hi + 1 + (v % 400) : r.lo + v % (r.hi - r.lo + 1);
}

inline RoundSetup round_setup(std::uint64_t rseed, unsigned round)
{
    Rng g(mix(rseed, 1));
    RoundSetup s;
    s.wc.haw = g.pct(70) ? 46 : static_cast<unsigned>(g.range(40, 52));
    s.wc.dt = g.pct(75);
    s.wc.sllps = g.pct(70) ? 3u : static_cast<unsigned>(g.below(3));
    s.walkers = kWalkerCounts[round % 16];
    s.lat_lo = g.range(1, 10);
    s.lat_hi = s.lat_lo + g.range(0, 120);
    return s;
}

struct Mapping {
    unsigned levels;
    std::uint64_t iova, size;
};

// The round's tables: mappings, then edits. Returns the mappings.
inline std::vector<Mapping> build_tables(World &w, Rng &g, std::vector<std::uint64_t> hot[6], std::vector<std::size_t> *edited)
{
    std::vector<Mapping> maps;
    const unsigned haw = w.cfg.caps.haw;
    const bool m2 = w.cfg.caps.sllps & IMS_SLLPS_2M, m1 = w.cfg.caps.sllps & IMS_SLLPS_1G;
    for (unsigned levels = 3; levels <= 5; levels++) {
        const unsigned top = ims_level_shift(levels);
        for (unsigned h = 0; h < 3; h++)  // hot regions: one top-level entry and a level below it
            hot[levels].push_back((g.below(512) << top) | (g.below(512) << (top - 9)));
        const unsigned n = static_cast<unsigned>(g.range(25, 45));
        for (unsigned i = 0; i < n; i++) {
            const unsigned c = static_cast<unsigned>(g.below(100));
            std::uint64_t size = 4 * kKiB;
            if (c >= 60 && c < 85 && m2)
                size = 2 * kMiB;
            else if (c >= 85 && m1)
                size = kGiB;
            const std::uint64_t base = hot[levels][g.below(3)];
            // Within four level-(levels - 1) entries of the hot spot.
            std::uint64_t iova = (base + g.below(std::uint64_t{4} << (top - 9))) & ~(size - 1);
            const std::uint64_t frames = (std::uint64_t{1} << (haw - 30)) - 4;
            const std::uint64_t pa = ((4 + g.below(frames)) << 30) | (g.below(kGiB) & ~(size - 1));
            const unsigned p = static_cast<unsigned>(g.below(100));
            const unsigned perm = p < 60 ? IMS_PERM_RW : p < 85 ? IMS_PERM_R : IMS_PERM_W;
            if (w.map(levels, iova, pa, size, perm) == 0)
                maps.push_back({levels, iova, size});
        }
    }
    // Edits (after every mapping: the builder must not meet them).
    const std::size_t edits = maps.size() / 5 + 1;
    for (std::size_t i = 0; i < edits && !maps.empty(); i++) {
        const std::size_t mi = g.below(maps.size());
        const Mapping &m = maps[mi];
        edited->push_back(mi);
        const unsigned leaf = m.size == kGiB ? 3 : m.size == 2 * kMiB ? 2 : 1;
        // The leaf half the time (deep faults), else any level on the path.
        const unsigned lv = g.pct(50) ? leaf : static_cast<unsigned>(g.range(leaf, m.levels));
        const std::uint64_t pa = w.entry_pa(m.levels, m.iova, lv);
        if (!pa)
            continue;
        std::uint64_t e = w.rd(pa);
        switch (g.below(12)) {
        case 0: e &= ~IMS_SLPTE_R; break;
        case 1: e &= ~IMS_SLPTE_W; break;
        case 2: e &= ~std::uint64_t{3}; break;
        case 3: e |= IMS_SLPTE_SNP; break;
        case 4:
            if (haw < 52)
                e |= std::uint64_t{1} << g.range(haw, 51);
            break;
        case 5: e |= IMS_SLPTE_TM; break;
        case 6: e |= IMS_SLPTE_PS; break;
        case 7:
            if (lv >= 2)
                e |= std::uint64_t{1} << g.range(12, ims_level_shift(lv) - 1);
            break;
        case 8: e |= (g.next() & 0xbff0000000000000ull) | (lv > leaf ? g.next() & 0x778 : 0); break;
        case 9: w.err.insert(pa); break;
        case 10:
            if (lv == 2 || lv == 3)  // a hand-written superpage (whatever SLLPS says)
                e = ((4 + g.below(64)) << 30) | IMS_SLPTE_PS | (1 + g.below(3));
            break;
        default: {  // W cleared in the level-2 entry (a read-only 2 MiB range)
            const std::uint64_t p2 = leaf <= 2 ? w.entry_pa(m.levels, m.iova, 2) : 0;
            if (p2)
                w.wr(p2, w.rd(p2) & ~IMS_SLPTE_W);
            continue;
        }
        }
        w.wr(pa, e);
    }
    return maps;
}

// One round: `n` planned walks. hook: called with each simulator at its end.
inline RoundResult run_round(std::uint64_t rseed, unsigned round, unsigned n, const SimHook &hook = nullptr,
                             unsigned report_limit = 8, bool idle_check = true,
                             const WalksHook &extra = nullptr, bool early = false)
{
    RoundResult res;
    const RoundSetup su = round_setup(rseed, round);
    World w(su.wc);
    Rng g(mix(rseed, 2));
    std::vector<std::uint64_t> hot[6];
    std::vector<std::size_t> edited;
    const std::vector<Mapping> maps = build_tables(w, g, hot, &edited);

    // The walks, in arrival order, and the core's answer to each.
    std::vector<Expect> ex;
    std::vector<Cycles> ready;
    ex.reserve(n);
    // Arrival gaps scaled to the walkers' capacity (about 3 reads a walk at
    // the mean latency; the gap distribution below averages about 24 cycles),
    // at 60..120 % load: queues form and drain; bursts on top.
    const double service = 3.0 * static_cast<double>(su.lat_lo + su.lat_hi) / 2.0 / su.walkers;
    const double load = 0.6 + 0.6 * static_cast<double>(g.below(1000)) / 1000.0;
    const double scale = std::max(0.2, service / load / 24.0);
    auto gap = [&](Cycles lo, Cycles hi) { return static_cast<Cycles>(static_cast<double>(g.range(lo, hi)) * scale + 0.5); };
    Cycles t = 100;
    std::uint64_t burst_page = 0;
    unsigned burst = 0, burst_levels = 4;
    while (ex.size() < n) {
        unsigned levels = static_cast<unsigned>(g.range(3, 5));
        std::uint64_t iova;
        const unsigned c = static_cast<unsigned>(g.below(100));
        bool same_cycle = false;
        if (burst) {
            burst--;
            levels = burst_levels;
            iova = burst_page | (g.below(512) << 3);
            same_cycle = true;
        } else if (c < 55 && !maps.empty()) {
            // A third of these on a mapping with an edited entry.
            const Mapping &m = maps[!edited.empty() && g.pct(33) ? edited[g.below(edited.size())] : g.below(maps.size())];
            levels = m.levels;
            iova = m.iova + (g.below(m.size) & ~7ull);
        } else if (c < 70 && !maps.empty()) {
            const Mapping &m = maps[g.below(maps.size())];
            levels = m.levels;
            iova = m.iova + m.size * g.range(1, 3) * (g.pct(50) ? 1 : static_cast<std::uint64_t>(-1));
        } else if (c < 85) {
            iova = hot[levels][g.below(3)] + (g.below(std::uint64_t{8} << (ims_level_shift(levels) - 9)) & ~7ull);
        } else if (c < 95) {
            iova = g.below(std::uint64_t{1} << ims_level_shift(levels + 1)) & ~7ull;
        } else {
            const Mapping &m = maps.empty() ? Mapping{4, 0, 4096} : maps[g.below(maps.size())];
            burst_levels = m.levels;
            levels = m.levels;
            burst_page = (m.iova + (g.below(m.size) & ~0xfffull));
            iova = burst_page;
            burst = static_cast<unsigned>(g.range(3, std::min(23u, 3 + 2 * su.walkers)));
        }
        iova &= (std::uint64_t{1} << ims_level_shift(levels + 1)) - 1;  // within the width
        Expect e;
        if (!w.expect(levels, iova, g.pct(50) ? IMS_PERM_R : IMS_PERM_W, &e))
            continue;
        if (!same_cycle && !ex.empty()) {
            const unsigned d = static_cast<unsigned>(g.below(100));
            if (d < 35)
                ;
            else if (d < 65)
                t += gap(1, 4);
            else if (d < 85)
                t += gap(5, 50);
            else if (d < 95)
                t += gap(51, 300);
            else {  // earlier than the previous walk, but not before the walk 8 back
                const Cycles floor = ready[ex.size() >= 8 ? ex.size() - 8 : 0];
                const Cycles back = g.range(1, 40);
                if (early)
                    t = std::max(floor, t > back ? t - back : 0);
            }
        }
        ex.push_back(e);
        ready.push_back(t);
    }
    res.walks = ex.size();

    RoundLat rl{mix(rseed, 3), su.lat_lo, su.lat_hi};

    char b[512];
    std::string err;

    // Online, skip_idle on: every walk against the core.
    std::vector<RtlWalkOut> on(ex.size()), off(ex.size()), batch;
    std::vector<Cycles> eff(ex.size());
    {
        auto sim = RtlWalkerSim::create(w.sim_cfg(su.walkers, true), &err);
        if (!sim) {
            res.error = err;
            return res;
        }
        TestMemory mem(w, round_latency, &rl);
        Cycles latest = 0;
        for (std::size_t i = 0; i < ex.size(); i++) {
            mem.walk = i;
            if (!sim->walk(ready[i], ex[i].in, mem, on[i])) {
                std::snprintf(b, sizeof b, "walk %zu (%s): the adapter failed: ", i, describe(ex[i]).c_str());
                res.error = b + sim->error();
                return res;
            }
            // Where the walk entered: its start, or (arrival order) the latest start so far.
            eff[i] = on[i].ready;
            if (eff[i] != std::max(ready[i], latest)) {
                res.error = "walk " + std::to_string(i) + ": entered at " + std::to_string(eff[i]) + ", not at max(start, latest start before)";
                return res;
            }
            latest = eff[i];
            const std::string d = differs(ex[i], on[i]);
            if (d.empty())
                continue;
            res.mismatches++;
            for (unsigned f = 0; f < 6; f++)
                res.by_field[f] += d.find(std::string(kFieldNames[f]) + (f == 5 ? "" : " rtl")) != std::string::npos;
            if (res.reports.size() < report_limit) {
                std::snprintf(b, sizeof b, "walk %zu (%s, ready %" PRIu64 "): ", i, describe(ex[i]).c_str(), ready[i]);
                res.reports.push_back(b + d);
            }
        }
        if (!sim->finish()) {
            res.error = "finish: " + sim->error();
            return res;
        }
        res.delayed = sim->delayed_entries();
        res.replayed = sim->cycles_replayed();
        res.cycles_skip = sim->cycles_evaluated();
        if (hook)
            hook(*sim);
    }
    // Online, skip_idle off: the same cycles and results.
    if (idle_check) {
        auto sim = RtlWalkerSim::create(w.sim_cfg(su.walkers, false), &err);
        TestMemory mem(w, round_latency, &rl);
        for (std::size_t i = 0; i < ex.size(); i++) {
            mem.walk = i;
            if (!sim->walk(ready[i], ex[i].in, mem, off[i])) {
                res.error = "skip_idle off: walk " + std::to_string(i) + ": " + sim->error();
                return res;
            }
            const std::string d = same_run(on[i], off[i]);
            if (!d.empty()) {
                res.error = "walk " + std::to_string(i) + ": skip_idle on and off differ: " + d;
                return res;
            }
        }
        if (!sim->finish()) {
            res.error = "skip_idle off: finish: " + sim->error();
            return res;
        }
        if (sim->delayed_entries() != res.delayed) {
            res.error = "skip_idle on and off delayed different walks";
            return res;
        }
        res.cycles_all = sim->cycles_evaluated();
        if (hook)
            hook(*sim);
    }
    // The reference: one forward run, every walk known in advance.
    {
        auto sim = RtlWalkerSim::create(w.sim_cfg(su.walkers, true), &err);
        TestMemory mem(w, round_latency, &rl);
        std::vector<RtlWalkIn> in;
        for (const Expect &e : ex)
            in.push_back(e.in);
        if (!sim->run_batch(eff, in, mem, &batch) || batch.size() != ex.size()) {
            res.error = "run_batch: " + sim->error();
            return res;
        }
        for (std::size_t i = 0; i < ex.size(); i++) {
            const std::string d = same_run(on[i], batch[i]);
            if (!d.empty()) {
                std::snprintf(b, sizeof b, "walk %zu (%s, ready %" PRIu64 ", entered %" PRIu64 "): online and batch differ: ",
                              i, describe(ex[i]).c_str(), ready[i], eff[i]);
                res.error = b + d;
                return res;
            }
        }
        if (hook)
            hook(*sim);
    }
    if (extra)
        res.error = extra(w, ex, su, rseed);
    return res;
}

}  // namespace test
}  // namespace ims

#endif  // IMS_TESTS_COSIM_RANDOM_HPP
