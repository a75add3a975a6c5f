// Page walkers: the interface through which the IOMMU model times its
// second-level walks, and the transaction-level walker behind it.
//
// The C core makes every walk functionally first (ims_translate: which
// entries, in which order, with what result); a Walker then says when that
// walk's reads complete and when its result is ready. Two implementations
// exist: TlmWalker (here: per-level step + memory timing + fill latency),
// and the RTL walker of model/rtl (iommusim/cosim.hpp), which runs the same
// walk on a verilated SystemVerilog walker and may replace the core's
// answer with its own (walker.impl = rtl) or check it (lockstep).
//
// Contract: walk() is called once per walk, from Iommu::translate, in
// arrival order; job.begin never decreases by more than the model's own
// reordering (context reads of different lengths); the walker may not call
// wait(). All times are IOMMU clock cycles.
#ifndef IMS_WALKER_HPP
#define IMS_WALKER_HPP

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "iommusim/iommu.h"
#include "iommusim/simcfg.h"

namespace ims {

using Cycles = std::uint64_t;

// The IOMMU's memory port as a walker sees it.
class WalkMemory {
public:
    virtual ~WalkMemory() = default;
    // A timed table read issued in cycle t (never before the current
    // request's arrival); returns the cycle its data arrives.
    virtual Cycles read_timed(Cycles t, std::uint64_t pa) = 0;
    // The 64-bit entry at pa, now, without time or side effects.
    virtual std::uint64_t read_data(std::uint64_t pa) = 0;
};

struct WalkJob {
    const ims_req *req;
    const ims_xlate *x;      // the core's walk: x->walk, and x->reads from `first` on
    unsigned first;          // index in x->reads of the walk's first paging-entry read
    Cycles start;            // cycle a walker was granted
    Cycles begin;            // cycle the walk itself begins (PSC looked up, its fill waited for)
    std::uint64_t record;    // trace record index, for reports (UINT64_MAX: not from a trace)
    Cycles arrival;          // the request's arrival: no later walk begins before it
};

struct WalkOutcome {
    Cycles done;             // result ready: IOTLB fill and response

    // Per paging-entry read i of the job (x->reads[job.first + i]): the cycle
    // it was issued and the cycle its data arrived.
    Cycles read_issue[IMS_XLATE_MAX_READS];  // (not zeroed: per walk)
    Cycles read_done[IMS_XLATE_MAX_READS];
    // The walker's own functional answer replaces the core's (rtl mode).
    bool replaced = false;
    std::uint64_t pa;        // (the answer: set only when replaced)
    std::uint8_t page_shift, perm, fault;

};

class Walker {
public:
    virtual ~Walker() = default;
    virtual void walk(const WalkJob &job, WalkMemory &mem, WalkOutcome &out) = 0;
};

// walker.rtl_timing = 1: the TLM walker times each walk as the RTL walker
// (rtl/iommusim_walker.sv, as the co-simulation drives it: docs/rtl.md,
// "Calibration") does, ports included. Walks come in arrival order, which is
// the RTL's priority order (oldest first on every port), so a walk's cycles
// depend only on the walks before it: each port keeps the cycles earlier
// walks took, and a walk takes the first free cycle at or after the one it
// wants. The rules:
// - the request port presents walks in arrival order from their start (not
//   before an earlier walk's), accepts one per cycle, into a free slot
//   (walker.count slots; a slot freed by a response in cycle d takes a
//   request in d + 1);
// - the first read wants the memory request port the cycle after the accept;
//   each next read the cycle its entry arrives; one read leaves per cycle;
// - one memory response arrives per cycle (the read's data, when due);
// - the result wants the response port the cycle after the last entry
//   arrives (after the accept if no read is made); one per cycle.
// The result is ready in the cycle of its response handshake; a read's data
// arrives in the cycle its response is taken. walker.step and
// walker.fill_latency are not used (the RTL's cycles are fixed by its
// design). Not modelled: the RTL's 8-bit tag window (a walk 128 walks younger
// than one in flight waits for it), far outside walker.count <= 16 unless a
// read takes thousands of cycles.
class RtlTiming {
public:
    explicit RtlTiming(std::uint32_t walkers) : m_slot_free(walkers ? walkers : 1, 0) {}
    template <class Mem, class OnRead> Cycles run(const WalkJob &job, Mem &mem, OnRead &&on_read)
    {
        const unsigned n = job.x->n_reads - job.first;
        const Cycles ready = std::max(job.begin, m_last_ready);
        m_last_ready = ready;
        std::size_t slot = 0;
        for (std::size_t s = 1; s < m_slot_free.size(); s++)
            if (m_slot_free[s] < m_slot_free[slot])
                slot = s;
        Cycles a = std::max(ready, m_slot_free[slot]);
        if (m_accepted)
            a = std::max(a, m_last_accept + 1);
        m_accepted = true;
        m_last_accept = a;
        // No later walk wants a cycle before this accept.
        for (std::set<Cycles> *p : {&m_read, &m_mem_rsp, &m_rsp})
            p->erase(p->begin(), p->lower_bound(a));
        Cycles t = a + 1;  // the first read's cycle, or the result's with no read
        for (unsigned i = 0; i < n; i++) {
            const Cycles issue = take(m_read, t);
            const Cycles due = std::max(mem.read_timed(issue, job.x->reads[job.first + i].pa), issue + 1);
            t = take(m_mem_rsp, due);
            on_read(i, issue, t);
            if (i + 1 == n)
                t++;
        }
        const Cycles done = take(m_rsp, t);
        m_slot_free[slot] = done + 1;
        return done;
    }

private:
    // The first cycle >= t that `port` has free, now taken.
    static Cycles take(std::set<Cycles> &port, Cycles t)
    {
        for (auto it = port.lower_bound(t); it != port.end() && *it == t; ++it)
            t++;
        port.insert(t);
        return t;
    }
    std::vector<Cycles> m_slot_free;  // per slot: first cycle it can take a request
    std::set<Cycles> m_read, m_mem_rsp, m_rsp;  // cycles taken on each port
    Cycles m_last_ready = 0, m_last_accept = 0;
    bool m_accepted = false;
};

// The transaction-level walker: each read leaves walker.step cycles after
// the previous one's data (or after job.begin), and the result is ready
// walker.fill_latency cycles after the last read's data. With
// walker.rtl_timing, walk() times it as the RTL does instead (RtlTiming;
// run(), the IOMMU's hot path, is never used then: iommu_tlm.cpp).
class TlmWalker final : public Walker {
public:
    explicit TlmWalker(const ims_sim_cfg &cfg)
        : m_step(cfg.walk_step), m_fill(cfg.fill_latency),
          m_rtl(cfg.walk_rtl_timing ? std::make_unique<RtlTiming>(cfg.walkers) : nullptr)
    {
    }
    bool rtl_timing() const { return m_rtl != nullptr; }
    void walk(const WalkJob &job, WalkMemory &mem, WalkOutcome &out) override
    {
        const auto log = [&out](unsigned i, Cycles issue, Cycles done) {
            out.read_issue[i] = issue;
            out.read_done[i] = done;
        };
        out.done = m_rtl ? m_rtl->run(job, mem, log) : run(job, mem, log);
    }
    // The walk's timing, for a memory of known type (the IOMMU's own port:
    // no virtual call), telling on_read(i, issue, done) of each read as it
    // is timed instead of filling a WalkOutcome (hot: every walk). Returns
    // the cycle the result is ready.
    template <class Mem, class OnRead> Cycles run(const WalkJob &job, Mem &mem, OnRead &&on_read)
    {
        Cycles w = job.begin;
        const unsigned n = job.x->n_reads - job.first;
        for (unsigned i = 0; i < n; i++) {
            const Cycles issue = w + m_step;
            w = mem.read_timed(issue, job.x->reads[job.first + i].pa);
            on_read(i, issue, w);
        }
        return w + m_fill;
    }

private:
    Cycles m_step, m_fill;
    std::unique_ptr<RtlTiming> m_rtl;
};

// What a co-simulated walker found, for the report (all zero with walker.impl = tlm).
struct CosimStats {
    bool enabled = false;
    std::uint8_t impl = IMS_WALKER_TLM;  // enum ims_walker_impl
    std::uint64_t walks = 0;             // walks the RTL made
    std::uint64_t not_checked = 0;       // walks it could not make (x.walk.levels 0: first-level, nested; cosim.cpp)
    std::uint64_t mismatches = 0;        // walks where the RTL and the C core disagreed
    // Per differing field: how many walks differed in it.
    std::uint64_t field_mismatches[5] = {};  // pa, page_size, perm, fault, reads
    // Lockstep: the RTL's measured walk latency against the TLM walker's
    // predicted one (from walker grant to result).
    std::uint64_t latency_compared = 0;
    double latency_error_pct_sum = 0;    // sum of |rtl - tlm| / tlm * 100
    std::uint64_t latency_error_max = 0; // cycles
    std::uint64_t latency_exact = 0;     // walks with equal latency
    std::uint64_t rtl_cycles = 0;        // RTL clock cycles evaluated (skipped idle cycles excluded)
    std::uint64_t rtl_cycles_spanned = 0; // RTL cycles simulated time covered, skipped included
    std::uint64_t replays = 0;           // cycles evaluated again after a later walk arrived earlier
    std::uint64_t delayed_entries = 0;   // walks presented after their start: arrival order (cosim.hpp)
    std::uint64_t late_entries = 0;      // walks that entered the RTL later than they started (cosim.hpp)

    double rtl_seconds = 0;              // wall time inside the RTL (text report only)
    std::vector<std::string> reports;    // the first cosim.report_limit mismatches, one line each
};
static constexpr const char *kCosimFields[5] = {"pa", "page_size", "perm", "fault", "reads"};

}  // namespace ims

#endif  // IMS_WALKER_HPP
