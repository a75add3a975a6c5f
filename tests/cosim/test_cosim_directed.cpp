// Directed co-simulation through RtlWalkerSim (the adapter the model uses,
// not raw pins): page tables from the table builder, edited by hand where a
// case needs one entry wrong; the C core's ims_translate gives the expected
// answer and where the walk starts (ims_xlate.walk). Every walk is compared
// with the core: fault, PA, page size, permissions, the read count and each
// read's address and level, in order (cosim_harness.hpp: differs()).
//
// Cases: every level count (3/4/5) x leaf size (4 KiB/2 MiB/1 GiB) x start
// level (no paging-structure-cache hit, or a hit leaving the walk at each
// level from the leaf's up), with permissions accumulated above the start
// (the hit's R/W: the walk may then fault with no read); every walker fault
// reason at every level: 0x5 / 0x6 (not present, W or R missing), 0x7 (the
// read answered with an error), 0xc for each reserved-bit rule of that
// level, and bits that are ignored, not reserved; the capability-dependent
// rules (SLLPS without 2 MiB / 1 GiB, ECAP.DT off: TM of a leaf reserved).
//
// Each set of walks runs one at a time at a fixed latency (also checking
// the timing contract: n reads at latency L take n * L + 2 cycles), then all
// in flight at once with random per-read latency (responses out of order)
// on 16 slots and on 1.
#include <cinttypes>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cosim_harness.hpp"

// After the C++ headers: check.h defines a macro `fail` that std::ios uses.
#include <check.h>
#include "ims_check.h"

using namespace ims;
using namespace ims::test;

namespace {

// Case k of a level count has the top-level entry k + 1 to itself, so an
// entry edited for one case is on no other case's path.
std::uint64_t region(unsigned levels, unsigned k) { return static_cast<std::uint64_t>(k + 1) << ims_level_shift(levels); }
// Output frames: 1 GiB-aligned, one per case, above 64 GiB (below HAW 46).
std::uint64_t frame(unsigned k) { return 64 * kGiB + static_cast<std::uint64_t>(k) * kGiB; }

struct Case {
    Expect e;
    std::string what;
};

// The core's walk of `iova` from start level `start`: an IOMMU with empty
// caches; if start < levels, first a walk of a primer IOVA that shares the
// path above `start` and leaves it there (so its entries down to level
// start + 1 are in the paging-structure caches), then the walk itself.
Case walk_from(World &w, unsigned levels, std::uint64_t iova, unsigned access, unsigned start, unsigned primer_access,
               const std::string &what)
{
    w.fresh_iommu();
    Case c;
    c.what = what;
    if (start < levels) {
        Expect p;
        ck_assert(w.expect(levels, iova ^ (std::uint64_t{1} << ims_level_shift(start)), primer_access, &p));
    }
    ck_assert_msg(w.expect(levels, iova, access, &c.e), "%s: the core did not walk", what.c_str());
    ck_assert_msg(c.e.in.start == start, "%s: the walk starts at level %u, not %u", what.c_str(), c.e.in.start, start);
    ck_assert_uint_eq(c.e.in.levels, levels);
    // The request's table is the one the first read indexes.
    if (c.e.n)
        ck_assert_uint_eq(c.e.x.reads[c.e.first].pa,
                          c.e.in.table + ((iova >> ims_level_shift(start)) & 511) * 8);
    return c;
}

const char *acc_name(unsigned a) { return a == IMS_PERM_R ? "read" : "write"; }

// Every (levels, leaf size, start level) with leaf permissions R/W, R, W and
// (start below the top) permissions accumulated above the start: R/W, R, W.
std::vector<Case> leaf_cases(World &w)
{
    std::vector<Case> cs;
    char b[160];
    for (unsigned levels = 3; levels <= 5; levels++) {
        unsigned k = 0;
        for (unsigned leaf = 1; leaf <= 3; leaf++)
            for (unsigned start = leaf; start <= levels; start++)
                for (unsigned lperm : {IMS_PERM_RW, IMS_PERM_R, IMS_PERM_W})
                    for (unsigned uperm : {IMS_PERM_RW, IMS_PERM_R, IMS_PERM_W}) {
                        if (start == levels && uperm != IMS_PERM_RW)
                            continue;  // nothing above the top level
                        const std::uint64_t size = std::uint64_t{1} << ims_level_shift(leaf);
                        const std::uint64_t base = region(levels, k);
                        // Index bits below the top, and an offset inside the page.
                        const std::uint64_t page = base + (0x15ull << ims_level_shift(levels - 1)) % (std::uint64_t{1} << ims_level_shift(levels)) / size * size;
                        ck_assert_int_eq(w.map(levels, page, frame(k), size, lperm), 0);
                        if (uperm != IMS_PERM_RW) {
                            const std::uint64_t pa = w.entry_pa(levels, page, levels);
                            w.wr(pa, (w.rd(pa) & ~std::uint64_t{3}) | uperm);
                        }
                        const std::uint64_t iova = page + ((0x2345678ull & (size - 1)) & ~7ull);
                        for (unsigned a : {IMS_PERM_R, IMS_PERM_W}) {
                            std::snprintf(b, sizeof b, "levels %u leaf %u start %u leaf perm %u above %u %s", levels,
                                          leaf, start, lperm, uperm, acc_name(a));
                            const unsigned primer = (uperm & IMS_PERM_R) ? IMS_PERM_R : IMS_PERM_W;
                            cs.push_back(walk_from(w, levels, iova, a, start, primer, b));
                        }
                        k++;
                    }
    }
    return cs;
}

// Every fault at every level of every level count, from the top (no hit)
// and from the level itself (a hit just above it).
std::vector<Case> fault_cases(World &w)
{
    std::vector<Case> cs;
    const unsigned haw = w.cfg.caps.haw;
    for (unsigned levels = 3; levels <= 5; levels++) {
        unsigned k = 400;  // after leaf_cases' regions
        for (unsigned lv = 1; lv <= levels; lv++) {
            // kind: a name, the leaf size to map, the entry edit, accesses.
            struct Edit {
                const char *name;
                unsigned leaf;     // level of the mapping's leaf
                std::uint64_t clear, set;
                bool error;
            };
            std::vector<Edit> edits = {
                {"not present", 1, 3, 0, false},
                {"no W", 1, IMS_SLPTE_W, 0, false},
                {"no R", 1, IMS_SLPTE_R, 0, false},
                {"read error", 1, 0, 0, true},
                {"SNP", 1, 0, IMS_SLPTE_SNP, false},
                {"address bit HAW", 1, 0, std::uint64_t{1} << haw, false},
                {"address bit 51", 1, 0, std::uint64_t{1} << 51, false},
                {"ignored bits 63, 61:52", 1, 0, 0xbff0000000000000ull, false},
            };
            if (lv >= 2)
                edits.push_back({"TM in a non-leaf entry", 1, 0, IMS_SLPTE_TM, false});
            if (lv >= 2)
                edits.push_back({"ignored bits 10:8, 6:3 of a non-leaf entry", 1, 0, 0x778, false});
            if (lv >= 4)
                edits.push_back({"PS at level 4/5", 1, 0, IMS_SLPTE_PS, false});
            if (lv == 2 || lv == 3) {
                edits.push_back({"superpage address bit 12", lv, 0, std::uint64_t{1} << 12, false});
                edits.push_back({"superpage top reserved address bit", lv, 0,
                                 std::uint64_t{1} << (ims_level_shift(lv) - 1), false});
                edits.push_back({"TM in a superpage leaf (ECAP.DT: ignored)", lv, 0, IMS_SLPTE_TM, false});
            }
            if (lv == 1)
                edits.push_back({"TM in a 4 KiB leaf (ECAP.DT: ignored)", 1, 0, IMS_SLPTE_TM, false});
            for (const Edit &ed : edits) {
                if (ed.leaf > lv && ed.leaf != 1)
                    continue;
                const std::uint64_t size = std::uint64_t{1} << ims_level_shift(ed.leaf);
                const std::uint64_t page = region(levels, k) + (ed.leaf < levels - 1 ? 3 * (std::uint64_t{1} << ims_level_shift(levels - 1)) : 0);
                ck_assert_int_eq(w.map(levels, page, frame(k % 300), size, IMS_PERM_RW), 0);
                const std::uint64_t pa = w.entry_pa(levels, page, lv);
                ck_assert_msg(pa != 0, "levels %u: no level-%u entry for %s", levels, lv, ed.name);
                w.wr(pa, (w.rd(pa) & ~ed.clear) | ed.set);
                if (ed.error)
                    w.err.insert(pa);
                const std::uint64_t iova = page + (0x1238ull & (size - 1));
                for (unsigned start : {levels, lv}) {
                    for (unsigned a : {IMS_PERM_R, IMS_PERM_W}) {
                        char b[200];
                        std::snprintf(b, sizeof b, "levels %u level %u: %s, start %u, %s", levels, lv, ed.name, start,
                                      acc_name(a));
                        cs.push_back(walk_from(w, levels, iova, a, start, IMS_PERM_R, b));
                    }
                    if (start == lv)
                        break;
                }
                k++;
            }
        }
    }
    return cs;
}

// The rules that depend on the capabilities: without ECAP.DT, TM of a leaf
// is reserved; without the SLLPS bit of its size, PS of a level-2 / level-3
// entry is.
std::vector<Case> caps_cases(World &w)
{
    std::vector<Case> cs;
    const bool has2m = w.cfg.caps.sllps & IMS_SLLPS_2M, has1g = w.cfg.caps.sllps & IMS_SLLPS_1G;
    for (unsigned levels = 3; levels <= 5; levels++) {
        unsigned k = 0;
        auto page4k = [&]() {
            const std::uint64_t p = region(levels, k) + 0x5000;
            ck_assert_int_eq(w.map(levels, p, frame(k), 4 * kKiB, IMS_PERM_RW), 0);
            k++;
            return p;
        };
        char b[160];
        // TM in a 4 KiB leaf.
        std::uint64_t p = page4k();
        std::uint64_t pa = w.entry_pa(levels, p, 1);
        w.wr(pa, w.rd(pa) | IMS_SLPTE_TM);
        std::snprintf(b, sizeof b, "levels %u: TM in a 4 KiB leaf, DT %d", levels, w.cfg.caps.dt);
        cs.push_back(walk_from(w, levels, p + 8, IMS_PERM_R, levels, IMS_PERM_R, b));
        // Hand-written 2 MiB and 1 GiB leaves (PS set), with and without TM.
        for (unsigned lv : {2u, 3u})
            for (bool tm : {false, true}) {
                p = page4k();
                pa = w.entry_pa(levels, p, lv);
                const std::uint64_t sz = std::uint64_t{1} << ims_level_shift(lv);
                w.wr(pa, frame(k) | IMS_SLPTE_PS | IMS_SLPTE_R | IMS_SLPTE_W | (tm ? IMS_SLPTE_TM : 0));
                std::snprintf(b, sizeof b, "levels %u: a level-%u leaf, SLLPS %u, TM %d, DT %d", levels, lv,
                              w.cfg.caps.sllps, tm, w.cfg.caps.dt);
                cs.push_back(walk_from(w, levels, (p & ~(sz - 1)) + 0x1238, IMS_PERM_W, levels, IMS_PERM_R, b));
                cs.push_back(walk_from(w, levels, (p & ~(sz - 1)) + 0x1238, IMS_PERM_R, lv, IMS_PERM_R, b));
                const bool allowed = lv == 2 ? has2m : has1g;
                const unsigned want = allowed && !(tm && !w.cfg.caps.dt) ? 0u : unsigned{IMS_FR_PAGING_ENTRY_RSVD};
                ck_assert_msg(cs.back().e.x.fault == want, "%s: core fault 0x%x, expected 0x%x", b,
                              cs.back().e.x.fault, want);
            }
    }
    return cs;
}

// ---- Running them -----------------------------------------------------------

struct RandomLat {
    std::uint64_t seed;
    Cycles lo, hi;
};
Cycles random_latency(const void *ctx, std::size_t walk, unsigned k)
{
    const RandomLat &r = *static_cast<const RandomLat *>(ctx);
    return r.lo + mix(r.seed, walk, k) % (r.hi - r.lo + 1);
}

// Runs the walks through RtlWalkerSim; every one must equal the core's.
// Walk i starts at (i / group) * gap (groups of walks arriving in one cycle).
// Returns the RTL's answers.
std::vector<RtlWalkOut> run(World &w, const std::vector<Case> &cs, unsigned walkers, TestMemory &mem, Cycles gap,
                            bool one_at_a_time, std::size_t group = 1)
{
    std::string err;
    auto sim = RtlWalkerSim::create(w.sim_cfg(walkers), &err);
    ck_assert_msg(sim != nullptr, "%s", err.c_str());
    std::vector<RtlWalkOut> out(cs.size());
    Cycles t = 0;
    unsigned bad = 0;
    for (std::size_t i = 0; i < cs.size(); i++) {
        mem.walk = i;
        ck_assert_msg(sim->walk(t, cs[i].e.in, mem, out[i]), "walk %zu (%s): %s", i, cs[i].what.c_str(),
                      sim->error().c_str());
        const std::string d = differs(cs[i].e, out[i]);
        if (!d.empty() && bad++ < 20)
            std::printf("walk %zu (%s; %s): %s\n", i, cs[i].what.c_str(), describe(cs[i].e).c_str(), d.c_str());
        t = one_at_a_time ? out[i].done + 5 : (i + 1) / group * gap;
    }
    ck_assert_msg(sim->finish(), "%s", sim->error().c_str());
    ck_assert_msg(bad == 0, "%u of %zu walks differ from the core", bad, cs.size());
    return out;
}

// One at a time at latency L: results, and the timing contract.
void run_fixed(World &w, const std::vector<Case> &cs, Cycles lat)
{
    TestMemory mem(w, fixed_latency, &lat);
    std::vector<RtlWalkOut> out = run(w, cs, 4, mem, 0, true);
    for (std::size_t i = 0; i < cs.size(); i++) {
        const RtlWalkOut &o = out[i];
        const Cycles n = cs[i].e.n;
        if (n == 0) {
            ck_assert_msg(o.done - o.accept >= 1 && o.done - o.accept <= 2, "walk %zu (%s): no reads, %" PRIu64 " cycles",
                          i, cs[i].what.c_str(), o.done - o.accept);
            continue;
        }
        ck_assert_msg(o.done - o.accept == n * lat + 2, "walk %zu (%s): %" PRIu64 " reads at latency %" PRIu64
                      " took %" PRIu64 " cycles, not n * L + 2", i, cs[i].what.c_str(), n, lat, o.done - o.accept);
        ck_assert_uint_eq(o.read_issue[0], o.accept + 1);
        for (unsigned k = 1; k < n; k++)  // the next level's read leaves in the cycle its entry arrives
            ck_assert_uint_eq(o.read_issue[k], o.read_done[k - 1]);
    }
}

// Overlapped, random latency 1..60 per read (responses out of order): groups
// of 24 walks arriving in one cycle every 150 cycles on 16 slots; a walk
// every 3 cycles on 4 slots; one every 100 cycles on 1 slot (some queue).
// (RtlWalkerSim replays from the latest walk start not after the new one's,
// so hundreds of walks starting in one cycle would cost quadratic time.)
void run_overlapped(World &w, const std::vector<Case> &cs, std::uint64_t seed)
{
    RandomLat rl{seed, 1, 60};
    TestMemory mem(w, random_latency, &rl);
    run(w, cs, 16, mem, 150, false, 24);
    if (quick())
        return;
    run(w, cs, 4, mem, 3, false);
    run(w, cs, 1, mem, 100, false);
}

void count(const std::vector<Case> &cs, std::set<std::tuple<unsigned, unsigned, unsigned>> *leaf,
           std::set<std::tuple<unsigned, unsigned, unsigned>> *fault, unsigned *no_read)
{
    for (const Case &c : cs) {
        if (c.e.x.fault)
            fault->insert({c.e.in.levels, c.e.in.start, c.e.x.fault});
        else
            leaf->insert({c.e.in.levels, c.e.in.start, c.e.x.page_shift});
        *no_read += c.e.n == 0;
    }
}

START_TEST(leaves_levels_sizes_starts)
{
    World w;
    std::vector<Case> cs = leaf_cases(w);
    std::set<std::tuple<unsigned, unsigned, unsigned>> leaf, fault;
    unsigned no_read = 0;
    count(cs, &leaf, &fault, &no_read);
    // The cases reach what they claim: every levels x start x leaf size
    // possible (3 + 4 + 5 starts with a 4 KiB leaf, one fewer per size up),
    // faults from the permissions above the start, walks with no read.
    ck_assert_uint_eq(leaf.size(), (3 + 2 + 1) + (4 + 3 + 2) + (5 + 4 + 3));
    ck_assert(fault.size() > 0 && no_read > 0);
    std::printf("leaves: %zu walks, %zu levels x start x size, %u with no read\n", cs.size(), leaf.size(), no_read);
    for (Cycles lat : {1, 4, 25})
        if (!quick() || lat == 4)
            run_fixed(w, cs, lat);
    run_overlapped(w, cs, 1);
}
END_TEST

START_TEST(faults_every_code_every_level)
{
    World w;
    std::vector<Case> cs = fault_cases(w);
    std::set<std::tuple<unsigned, unsigned, unsigned>> leaf, fault;
    unsigned no_read = 0, by_code[256] = {};
    count(cs, &leaf, &fault, &no_read);
    for (const Case &c : cs)
        by_code[c.e.x.fault]++;
    // Every walker fault code at every levels x start level.
    for (unsigned levels = 3; levels <= 5; levels++)
        for (unsigned start = 1; start <= levels; start++)
            for (unsigned code : {IMS_FR_WRITE, IMS_FR_READ, IMS_FR_PAGING_ENTRY_INV, IMS_FR_PAGING_ENTRY_RSVD})
                ck_assert_msg(fault.count({levels, start, code}), "no fault 0x%x at levels %u start %u", code, levels,
                              start);
    // Ignored bits translate.
    ck_assert_uint_gt(by_code[0], 0);
    std::printf("faults: %zu walks: 0x5 %u, 0x6 %u, 0x7 %u, 0xc %u, none %u\n", cs.size(), by_code[5], by_code[6],
                by_code[7], by_code[0xc], by_code[0]);
    run_fixed(w, cs, 3);
    run_overlapped(w, cs, 2);
}
END_TEST

START_TEST(faults_capabilities)
{
    for (unsigned sllps : {0u, unsigned{IMS_SLLPS_2M}, unsigned{IMS_SLLPS_1G}, unsigned{IMS_SLLPS_2M | IMS_SLLPS_1G}})
        for (bool dt : {false, true}) {
            if (quick() && (sllps == 3) != dt)
                continue;
            WorldCfg wc;
            wc.sllps = sllps;
            wc.dt = dt;
            World w(wc);
            std::vector<Case> cs = caps_cases(w);
            run_fixed(w, cs, 2);
            run_overlapped(w, cs, 3 + sllps);
        }
}
END_TEST

// The check can fail: a wrong expectation is reported, with the field named.
START_TEST(compare_names_fields)
{
    World w;
    ck_assert_int_eq(w.map(4, 0x40000000, frame(0), 4 * kKiB, IMS_PERM_RW), 0);
    Case c = walk_from(w, 4, 0x40000010, IMS_PERM_R, 4, IMS_PERM_R, "plain");
    Cycles lat = 2;
    TestMemory mem(w, fixed_latency, &lat);
    std::string err;
    auto sim = RtlWalkerSim::create(w.sim_cfg(4), &err);
    RtlWalkOut o;
    ck_assert(sim->walk(0, c.e.in, mem, o));
    ck_assert_uint_eq(differs(c.e, o).size(), 0);
    Expect bad = c.e;
    bad.x.pa ^= 0x1000;
    char want[96];
    std::snprintf(want, sizeof want, "pa rtl 0x%" PRIx64 " core 0x%" PRIx64, o.pa, bad.x.pa);
    const std::string got = differs(bad, o);
    ck_assert_str_eq(got.c_str(), want);
    bad = c.e;
    bad.x.reads[bad.first + 2].pa += 8;
    ck_assert(differs(bad, o).find("read 2 rtl") != std::string::npos);
    bad = c.e;
    bad.x.fault = IMS_FR_READ;
    ck_assert(differs(bad, o).find("fault rtl 0x0 core 0x6") != std::string::npos);
}
END_TEST

// Walks that start earlier than a walk made before them (the model's order:
// a context or paging-structure-cache hit came sooner), with every slot
// busy: the younger one is on the request port when the older becomes
// ready, and a request is held until accepted (docs/rtl.md, "Interfaces"; SVA ReqHeld_A). All
// must equal the core, and the online run must equal run_batch() with the
// start cycles the adapter used.
START_TEST(early_arrival_slots_full)
{
    World w;
    ck_assert_int_eq(w.map(4, 0x40000000, frame(0), 4 * kKiB, IMS_PERM_RW), 0);
    ck_assert_int_eq(w.map(4, 0x80000000, frame(1), 2 * kMiB, IMS_PERM_R), 0);
    std::vector<Case> cs;
    for (unsigned i = 0; i < 6; i++)
        cs.push_back(walk_from(w, 4, i % 2 ? 0x80001008 : 0x40000010, i % 3 ? IMS_PERM_R : IMS_PERM_W, 4, IMS_PERM_R, "w"));
    const Cycles ready[6] = {0, 20, 10, 30, 25, 26};
    Cycles lat = 50;
    TestMemory mem(w, fixed_latency, &lat);
    for (unsigned walkers : {1u, 2u}) {
        std::string err;
        auto sim = RtlWalkerSim::create(w.sim_cfg(walkers), &err);
        std::vector<RtlWalkOut> out(cs.size()), ref;
        std::vector<Cycles> eff;
        Cycles latest = 0;
        for (std::size_t i = 0; i < cs.size(); i++) {
            ck_assert_msg(sim->walk(ready[i], cs[i].e.in, mem, out[i]), "walkers %u, walk %zu: %s", walkers, i,
                          sim->error().c_str());
            ck_assert_msg(differs(cs[i].e, out[i]).empty(), "walkers %u, walk %zu: %s", walkers, i,
                          differs(cs[i].e, out[i]).c_str());
            eff.push_back(out[i].ready);  // arrival order: max(start, latest start before)
            ck_assert_uint_eq(eff.back(), std::max(ready[i], latest));
            latest = eff.back();
        }
        ck_assert(sim->finish());
        sim.reset();  // one verilated model at a time (Verilator's thread context)
        auto b = RtlWalkerSim::create(w.sim_cfg(walkers), &err);
        std::vector<RtlWalkIn> in;
        for (const Case &c : cs)
            in.push_back(c.e.in);
        ck_assert(b->run_batch(eff, in, mem, &ref));
        for (std::size_t i = 0; i < cs.size(); i++)
            ck_assert_msg(same_run(out[i], ref[i]).empty(), "walkers %u, walk %zu: online and batch differ: %s", walkers,
                          i, same_run(out[i], ref[i]).c_str());
    }
}
END_TEST

}  // namespace

int main()
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // Check's forked child: lines out as they come
    Suite *s = suite_create("cosim_directed");
    TCase *tc = tcase_create("directed");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, leaves_levels_sizes_starts);
    tcase_add_test(tc, faults_every_code_every_level);
    tcase_add_test(tc, faults_capabilities);
    tcase_add_test(tc, compare_names_fields);
    tcase_add_test(tc, early_arrival_slots_full);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
