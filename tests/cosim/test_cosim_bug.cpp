// The checkers can fail. Built twice:
// - test_cosim_bug (IMS_COSIM_EXPECT_BUG) links ims_rtl_bug: model/rtl on
//   the walker verilated with IMS_RTL_BUG_DROP_W_L2 (a level-2 entry's W
//   bit is ignored). Both checkers must report it:
//   * Cosim, the Walker of walker.impl = lockstep (the comparison the model
//     runs: Cosim::compare), on walks through a level-2 entry without W:
//     stats().mismatches > 0, the differing fields counted (fault, perm,
//     reads) and named in the report lines ("fault rtl 0x0 core 0x5",
//     "perm rtl 3 core 1");
//   * the random co-simulation rounds (cosim_random.hpp, differs()): some
//     walks mismatch, every mismatch names perm or fault.
// - test_cosim_bug_control links ims_rtl: the same walks, no mismatch.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cosim_random.hpp"
#include "iommusim/simcfg.h"

// After the C++ headers: check.h defines a macro `fail` that std::ios uses.
#include <check.h>
#include "ims_check.h"

using namespace ims;
using namespace ims::test;

namespace {

#ifdef IMS_COSIM_EXPECT_BUG
constexpr bool kBug = true;
#else
constexpr bool kBug = false;
#endif

// The model's memory port as Cosim sees it: World's memory, fixed latency.
class FixedMemory final : public WalkMemory {
public:
    FixedMemory(World &w, Cycles lat) : m_w(w), m_lat(lat) {}
    Cycles read_timed(Cycles t, std::uint64_t) override { return t + m_lat; }
    std::uint64_t read_data(std::uint64_t pa) override { return m_w.rd(pa); }

private:
    World &m_w;
    Cycles m_lat;
};

START_TEST(lockstep_reports_the_bug)
{
    World w;
    struct Walk {
        ims_req req;
        Expect e;
        bool bad;
    };
    std::vector<Walk> walks;
    for (unsigned levels = 3; levels <= 5; levels++) {
        const std::uint64_t bad = (std::uint64_t{5} << ims_level_shift(levels)) + 0x3000,
                            good = (std::uint64_t{6} << ims_level_shift(levels)) + 0x3000;
        ck_assert_int_eq(w.map(levels, bad, 64 * kGiB, 4 * kKiB, IMS_PERM_RW), 0);
        ck_assert_int_eq(w.map(levels, good, 65 * kGiB, 4 * kKiB, IMS_PERM_RW), 0);
        const std::uint64_t pa = w.entry_pa(levels, bad, 2);
        w.wr(pa, w.rd(pa) & ~IMS_SLPTE_W);
        for (std::uint64_t iova : {bad, good})
            for (unsigned a : {IMS_PERM_W, IMS_PERM_R}) {
                Walk k{};
                k.req.rid = World::did_of(levels);
                k.req.pasid = IMS_NO_PASID;
                k.req.iova = iova + 0x18;
                k.req.size = 4;
                k.req.access = static_cast<std::uint8_t>(a);
                k.bad = iova == bad;
                w.fresh_iommu();  // each walk from the top: through the level-2 entry
                ck_assert(w.expect(levels, k.req.iova, a, &k.e));
                walks.push_back(k);
            }
    }
    ims_sim_cfg cfg;
    ims_sim_cfg_default(&cfg);
    cfg.iommu = w.cfg;
    cfg.walker_impl = IMS_WALKER_LOCKSTEP;
    cfg.walkers = 4;
    std::string err;
    auto cosim = Cosim::create(cfg, w.mmu, 1000, Cosim::Options(), &err);
    ck_assert_msg(cosim != nullptr, "%s", err.c_str());
    FixedMemory mem(w, cfg.mem_latency);
    Cycles t = 0;
    for (std::size_t i = 0; i < walks.size(); i++) {
        WalkJob job{&walks[i].req, &walks[i].e.x, walks[i].e.first, t, t, i, t};
        WalkOutcome out{};
        cosim->walk(job, mem, out);
        t += 1000;  // one at a time
    }
    ck_assert_msg(cosim->finish(), "%s", cosim->error().c_str());
    const CosimStats &st = cosim->stats();
    for (const std::string &r : st.reports)
        std::printf("lockstep: %s\n", r.c_str());
    std::printf("lockstep: %" PRIu64 " walks, %" PRIu64 " mismatches (pa %" PRIu64 ", page_size %" PRIu64 ", perm %" PRIu64 ", fault %" PRIu64 ", reads %" PRIu64 ")\n", st.walks, st.mismatches, st.field_mismatches[0], st.field_mismatches[1], st.field_mismatches[2], st.field_mismatches[3], st.field_mismatches[4]);
    std::fflush(stdout);
    ck_assert_uint_eq(st.walks, walks.size());
    if (!kBug) {
        ck_assert_uint_eq(st.mismatches, 0);
        return;
    }
    // Every walk through the bad entry differs, and only those: a write is
    // granted (fault 0 for 0x5, and the RTL reads the level-1 entry the
    // core did not), a read is granted R/W for R.
    ck_assert_uint_eq(st.mismatches, 6);
    ck_assert_uint_eq(st.field_mismatches[3], 3);  // fault
    ck_assert_uint_eq(st.field_mismatches[2], 3);  // perm
    ck_assert_uint_eq(st.field_mismatches[4], 3);  // reads
    ck_assert_uint_eq(st.field_mismatches[0], 0);  // pa
    unsigned fault = 0, perm = 0;
    for (const std::string &r : st.reports) {
        fault += r.find("fault rtl 0x0 core 0x5") != std::string::npos;
        perm += r.find("perm rtl 3 core 1") != std::string::npos;
    }
    ck_assert_uint_eq(fault, 3);
    ck_assert_uint_eq(perm, 3);
}
END_TEST

START_TEST(random_rounds_report_the_bug)
{
    std::uint64_t walks = 0, mismatches = 0, named = 0;
    for (unsigned r = 0; r < (quick() ? 1u : 4u); r++) {
        RoundResult res = run_round(mix(7, r, 0x5eed), r, 320);
        ck_assert_msg(res.error.empty(), "round %u: %s", r, res.error.c_str());
        walks += res.walks;
        mismatches += res.mismatches;
        named += res.by_field[0] + res.by_field[3];  // fault, perm
        for (const std::string &m : res.reports) {
            std::printf("round %u: %s\n", r, m.c_str());
            std::fflush(stdout);
            ck_assert_msg(m.find("fault rtl") != std::string::npos || m.find("perm rtl") != std::string::npos,
                          "a mismatch that names neither fault nor perm: %s", m.c_str());
        }
    }
    std::printf("random: %" PRIu64 " walks, %" PRIu64 " mismatches\n", walks, mismatches);
    if (kBug) {
        ck_assert_uint_gt(mismatches, 0);
        ck_assert_uint_ge(named, mismatches);
    } else {
        ck_assert_uint_eq(mismatches, 0);
    }
}
END_TEST

}  // namespace

int main()
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // Check's forked child: lines out as they come
    Suite *s = suite_create(kBug ? "cosim_bug" : "cosim_bug_control");
    TCase *tc = tcase_create("bug");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, lockstep_reports_the_bug);
    tcase_add_test(tc, random_rounds_report_the_bug);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
