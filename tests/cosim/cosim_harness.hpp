// Shared by the co-simulation tests (tests/cosim): page tables in an
// ims_mem, the C core over the same memory as the reference, and the walk-
// by-walk comparison of RtlWalkerSim's answer with the core's.
//
// The core (ims_translate) makes every walk first: its ims_xlate gives the
// expected answer (PA, page size, permissions, fault reason, the ordered
// paging-entry reads) and where the walk begins (x.walk: the table read
// first, its level, the table's level count, the permissions accumulated
// above it, the access checked), which is what the RTL's request port takes.
// The IOMMU is built without an IOTLB, so every translation walks; its
// paging-structure caches are on, so a walk starts where the deepest hit
// leaves it (start level 1..levels with the hit's permissions).
//
// Memory errors: entry addresses in World::err answer the core's reads
// (through the ops' read64_err) and the RTL's (the err flag of RtlMemory)
// with an error: fault 0x7 on both sides.
#ifndef IMS_TESTS_COSIM_HARNESS_HPP
#define IMS_TESTS_COSIM_HARNESS_HPP

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "iommusim/cosim.hpp"
#include "iommusim/iommu.h"
#include "iommusim/mem.h"
#include "iommusim/tb.h"
#include "iommusim/vtd.h"

namespace ims {
namespace test {

constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;

// splitmix64: small, seedable, the same sequence on every host.
struct Rng {
    std::uint64_t s;
    explicit Rng(std::uint64_t seed) : s(seed) {}
    std::uint64_t next()
    {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
    // [lo, hi]
    std::uint64_t range(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
    bool pct(unsigned p) { return below(100) < p; }
};
// A value derived from a seed and indices (the same whatever order it is asked in).
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0)
{
    Rng r(a ^ (b * 0x2545f4914f6cdd1dull) ^ (c * 0x9e3779b97f4a7c15ull));
    r.next();
    return r.next();
}

struct WorldCfg {
    unsigned haw = 46;
    bool dt = true;                               // ECAP.DT: TM of a leaf ignored, not reserved
    unsigned sllps = IMS_SLLPS_2M | IMS_SLLPS_1G;
};

// One walk as the core made it.
struct Expect {
    RtlWalkIn in;
    ims_xlate x{};
    unsigned first = 0;  // index in x.reads of the first paging-entry read
    unsigned n = 0;      // paging-entry reads
};

class World {
public:
    // Domain d (1, 2, 3) has a (d + 2)-level table; requester id d is attached to it.
    explicit World(const WorldCfg &wc = WorldCfg())
    {
        char err[256] = "";
        ims_iommu_cfg_default(&cfg);
        cfg.caps.sagaw = IMS_SAGAW_39 | IMS_SAGAW_48 | IMS_SAGAW_57;
        cfg.caps.mgaw = 57;
        cfg.caps.haw = static_cast<std::uint8_t>(wc.haw);
        cfg.caps.dt = wc.dt;
        cfg.caps.sllps = static_cast<std::uint8_t>(wc.sllps);
        cfg.iotlb.sets = 0;  // no IOTLB: every translation walks
        cfg.fq_base = 0xfee00000ull;
        mem = ims_mem_create();
        ims_tb_cfg tc;
        ims_tb_cfg_default(&tc);
        tc.caps = cfg.caps;
        tc.tbl_base = kGiB;  // below every HAW tried (>= 40)
        tc.tbl_size = kGiB;
        tb = ims_tb_create(mem, &tc, err, sizeof err);
        if (!tb) {
            std::fprintf(stderr, "table builder: %s\n", err);
            std::abort();
        }
        for (unsigned d = 1; d <= 3; d++) {
            if (ims_tb_domain_create(tb, static_cast<std::uint16_t>(d), d + 2) != 0 ||
                ims_tb_attach(tb, static_cast<std::uint16_t>(d), static_cast<std::uint16_t>(d), IMS_TT_UNTRANSLATED,
                              false) != 0)
                std::abort();
        }
        ops.read64 = [](void *c, std::uint64_t pa, ims_mem_kind) { return ims_mem_read64(static_cast<World *>(c)->mem, pa); };
        ops.write64 = [](void *c, std::uint64_t pa, std::uint64_t v, ims_mem_kind) {
            ims_mem_write64(static_cast<World *>(c)->mem, pa, v);
        };
        ops.read64_err = [](void *c, std::uint64_t pa, ims_mem_kind, bool *e) {
            return static_cast<World *>(c)->read(pa, e);
        };
        fresh_iommu();
    }
    ~World()
    {
        if (mmu)
            ims_iommu_destroy(mmu);
        ims_tb_destroy(tb);
        ims_mem_destroy(mem);
    }
    World(const World &) = delete;
    World &operator=(const World &) = delete;

    // A new IOMMU over the same memory: empty paging-structure caches.
    void fresh_iommu()
    {
        if (mmu)
            ims_iommu_destroy(mmu);
        char err[256] = "";
        mmu = ims_iommu_create(&cfg, &ops, this, err, sizeof err);
        if (!mmu) {
            std::fprintf(stderr, "iommu: %s\n", err);
            std::abort();
        }
        ims_iommu_set_root(mmu, ims_tb_root(tb));
    }

    static std::uint16_t did_of(unsigned levels) { return static_cast<std::uint16_t>(levels - 2); }
    // A memory read as both walkers see it.
    std::uint64_t read(std::uint64_t pa, bool *e) const
    {
        *e = err.count(pa) != 0;
        return *e ? 0 : ims_mem_read64(mem, pa);
    }
    std::uint64_t rd(std::uint64_t pa) const { return ims_mem_read64(mem, pa); }
    void wr(std::uint64_t pa, std::uint64_t v) { ims_mem_write64(mem, pa, v); }
    int map(unsigned levels, std::uint64_t iova, std::uint64_t pa, std::uint64_t size, unsigned perm)
    {
        return ims_tb_map(tb, did_of(levels), iova, pa, size, perm);
    }
    // PA of the level-`level` entry on iova's path (0 if the path ends above it).
    std::uint64_t entry_pa(unsigned levels, std::uint64_t iova, unsigned level) const
    {
        std::uint64_t pa = 0;
        return ims_tb_entry_pa(tb, did_of(levels), iova, level, &pa) == 0 ? pa : 0;
    }

    RtlSimCfg sim_cfg(unsigned walkers, bool skip_idle = true) const
    {
        RtlSimCfg c;
        c.walkers = walkers;
        c.rsvd = ims_iommu_pte_rsvd(mmu);
        c.sllps = cfg.caps.sllps & 3u;
        c.skip_idle = skip_idle;
        return c;
    }

    // The core's walk of (levels, iova, access); false if the core did not walk.
    bool expect(unsigned levels, std::uint64_t iova, unsigned access, Expect *e)
    {
        ims_req r{};
        r.rid = did_of(levels);
        r.pasid = IMS_NO_PASID;
        r.iova = iova;
        r.size = 4;
        r.access = static_cast<std::uint8_t>(access);
        r.at = IMS_AT_UNTRANSLATED;
        *e = Expect();
        ims_translate(mmu, &r, &e->x);
        if (!(e->x.flags & IMS_XLATE_WALKED))
            return false;
        const ims_xlate &x = e->x;
        e->first = x.n_reads;
        for (unsigned i = 0; i < x.n_reads; i++)
            if (x.reads[i].kind == IMS_MEM_PTE && e->first == x.n_reads)
                e->first = i;
        e->n = x.n_reads - e->first;
        e->in.table = x.walk.table;
        e->in.iova = iova;
        e->in.did = x.did;
        e->in.levels = x.walk.levels;
        e->in.start = x.walk.level;
        e->in.perm = x.walk.perm;
        e->in.access = x.walk.access;
        return true;
    }

    struct ims_iommu_cfg cfg{};
    ims_mem *mem = nullptr;
    ims_tb *tb = nullptr;
    ims_iommu *mmu = nullptr;
    ims_mem_ops ops{};
    std::unordered_set<std::uint64_t> err;  // entry addresses whose reads fail
};

// The RTL's memory: World's contents and errors; read k of walk w takes
// lat(w, k) cycles (a function, so the online run, its replays,
// and the batch reference see the same latency for the same read).
class TestMemory final : public RtlMemory, public RtlWalkerSim::BatchMemory {
public:
    using Latency = Cycles (*)(const void *ctx, std::size_t walk, unsigned k);
    TestMemory(const World &w, Latency lat, const void *ctx) : m_w(w), m_lat(lat), m_ctx(ctx) {}
    std::size_t walk = 0;  // the walk RtlMemory::read serves (online: the one being made)
    std::uint64_t reads = 0;
    Cycles read(Cycles t, std::uint64_t pa, unsigned k, std::uint64_t *data, bool *e) override
    {
        return read(walk, t, pa, k, data, e);
    }
    Cycles read(std::size_t w, Cycles t, std::uint64_t pa, unsigned k, std::uint64_t *data, bool *e) override
    {
        reads++;
        *data = m_w.read(pa, e);
        return t + m_lat(m_ctx, w, k);
    }

private:
    const World &m_w;
    Latency m_lat;
    const void *m_ctx;
};

// IMS_COSIM_QUICK=1 (set for sanitizer builds, tests/cosim/CMakeLists.txt):
// the tests run a reduced form, and say so.
inline bool quick()
{
    static const bool q = [] {
        const char *s = std::getenv("IMS_COSIM_QUICK");
        const bool on = s && *s && std::strcmp(s, "0") != 0;
        if (on)
            std::printf("IMS_COSIM_QUICK=1: the reduced form of this test (sanitizer build)\n");
        return on;
    }();
    return q;
}

inline Cycles fixed_latency(const void *ctx, std::size_t, unsigned)
{
    return *static_cast<const Cycles *>(ctx);
}

// Every field in which the RTL's walk differs from the core's, named, or ""
// (pa, page_size, perm on success; on a fault the RTL answers 0 for them;
// fault; reads: the count the RTL reports and the reads seen on its port;
// read k: address and level, in order).
inline std::string differs(const Expect &e, const RtlWalkOut &r)
{
    std::string s;
    char b[160];
    auto field = [&](const char *what, std::uint64_t rtl, std::uint64_t core) {
        std::snprintf(b, sizeof b, "%s%s rtl 0x%" PRIx64 " core 0x%" PRIx64, s.empty() ? "" : "; ", what, rtl, core);
        s += b;
    };
    const ims_xlate &x = e.x;
    const bool f = x.fault != 0;
    if (r.fault != x.fault)
        field("fault", r.fault, x.fault);
    if (r.pa != (f ? 0 : x.pa))
        field("pa", r.pa, f ? 0 : x.pa);
    if (r.shift != (f ? 0 : x.page_shift))
        field("page_size", r.shift, f ? 0 : x.page_shift);
    if (r.perm != (f ? 0 : x.perm))
        field("perm", r.perm, f ? 0 : x.perm);
    if (r.reads != e.n)
        field("reads", r.reads, e.n);
    if (r.nlog != e.n)
        field("reads_seen", r.nlog, e.n);
    for (unsigned k = 0; k < e.n && k < r.nlog && k < RtlWalkOut::kMaxReads; k++) {
        const ims_mem_read_rec &c = x.reads[e.first + k];
        if (r.read_addr[k] != c.pa || r.read_level[k] != c.level) {
            std::snprintf(b, sizeof b, "%sread %u rtl 0x%" PRIx64 " (level %u) core 0x%" PRIx64 " (level %u)",
                          s.empty() ? "" : "; ", k, r.read_addr[k], r.read_level[k], c.pa, c.level);
            s += b;
        }
    }
    return s;
}

// What identifies a walk in a failure message.
inline std::string describe(const Expect &e)
{
    char b[200];
    std::snprintf(b, sizeof b, "levels %u start %u perm %u access %u iova 0x%" PRIx64 " table 0x%" PRIx64,
                  e.in.levels, e.in.start, e.in.perm, e.in.access, e.in.iova, e.in.table);
    return b;
}

// Two runs of the same walk: every cycle and result equal, or the first difference.
inline std::string same_run(const RtlWalkOut &a, const RtlWalkOut &b)
{
    char m[200];
    auto d = [&](const char *what, std::uint64_t x, std::uint64_t y) {
        std::snprintf(m, sizeof m, "%s 0x%" PRIx64 " vs 0x%" PRIx64, what, x, y);
        return std::string(m);
    };
    if (a.accept != b.accept)
        return d("accept", a.accept, b.accept);
    if (a.done != b.done)
        return d("done", a.done, b.done);
    if (a.pa != b.pa || a.shift != b.shift || a.perm != b.perm || a.fault != b.fault)
        return d("result (pa)", a.pa, b.pa) + ", fault " + std::to_string(a.fault) + " vs " + std::to_string(b.fault);
    if (a.reads != b.reads || a.nlog != b.nlog)
        return d("reads", a.nlog, b.nlog);
    for (unsigned k = 0; k < a.nlog && k < RtlWalkOut::kMaxReads; k++) {
        if (a.read_addr[k] != b.read_addr[k])
            return d(("read " + std::to_string(k) + " address").c_str(), a.read_addr[k], b.read_addr[k]);
        if (a.read_issue[k] != b.read_issue[k])
            return d(("read " + std::to_string(k) + " issue").c_str(), a.read_issue[k], b.read_issue[k]);
        if (a.read_done[k] != b.read_done[k])
            return d(("read " + std::to_string(k) + " done").c_str(), a.read_done[k], b.read_done[k]);
    }
    return "";
}

}  // namespace test
}  // namespace ims

#endif  // IMS_TESTS_COSIM_HARNESS_HPP
