// RtlWalkerSim: the verilated walker, ticked from C++ (cosim.hpp says why;
// docs/rtl.md has the measurements).
//
// The verilated model is the simulation top iommusim_walker_sim: the walker
// behind a flop on every input (rtl/iommusim_walker_sim.sv says why). One
// cycle c: set the inputs of cycle c and raise the clock, eval (the edge
// ends the last cycle evaluated and loads the inputs of c; the walker's
// outputs settle to cycle c's, and its handshakes are read off them), then
// lower the clock and eval (nothing but the clock changes). A
// memory read issued in cycle c is answered in the cycle its RtlMemory
// says; at most one response per cycle goes back, the oldest walk's first.
// The request port presents, each cycle, the oldest walk that is ready and
// not yet accepted.
//
// Walks enter the RTL in arrival order: a walk whose start lies before an
// earlier-arriving walk's (its context or paging-structure-cache entry came
// sooner) is presented from that walk's start instead (cosim.delayed_entries
// counts them). Then a walk is the youngest in the RTL's age order when it
// enters, and the RTL (oldest first on every port, slots taken in order)
// never lets it change an earlier walk. (Letting it enter early was tried:
// it can take a slot or a port an earlier walk had, which then has to be
// detected and the walk made again; the random tests found cases the
// detection missed, so arrival order it is.)
//
// Rollback. The model needs each walk's answer when the walk arrives, so
// the RTL runs ahead of the model's time to give it, and the next walk may
// start before the cycle the RTL reached (it runs beside the earlier ones).
// So the simulator keeps a snapshot (the verilated model's state and this
// file's timeline) at every cycle it evaluates while a walk runs; a walk
// restores the latest snapshot not after its start and the RTL runs forward
// again with every walk it knows. Every event of an earlier walk met again
// must equal its first occurrence (accept, each read's cycle and address,
// the answer's cycle and result): that is checked, never assumed; a
// difference is an error.
//
// Waves. A cycle is final once no walk can start before it: when the oldest
// snapshot is dropped, the cycles from it to the next one are run once more
// with the waveform on ("committed"), and finish() commits the rest.
//
// The verilated model's state is its root object, plain data whose pointers
// lead only into itself and its context: a snapshot copies its bytes
// (Verilator's --savable serialisation does the same through a stream).
// tests/rtl compares runs with rollbacks against runs without.
#include "iommusim/cosim.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

// Verilator's headers and the generated ones are not written for -Wextra.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "verilated.h"
#include "verilated_fst_c.h"

#if IMS_RTL_HAVE_4
#include "Vims_walker_sim4.h"
#include "Vims_walker_sim4___024root.h"
#endif
#if IMS_RTL_HAVE_8
#include "Vims_walker_sim8.h"
#include "Vims_walker_sim8___024root.h"
#endif
#include "Vims_walker_sim.h"
#include "Vims_walker_sim___024root.h"

#pragma GCC diagnostic pop

namespace ims {

const unsigned RtlWalkerSim::kSlots = IMS_RTL_NUM_WALKERS;

namespace {

constexpr unsigned kTagMask = 0xff;  // TagWidth 8: walks in flight are far fewer than 256
// A walk with no event (accept, read, response) for this many evaluated
// cycles has hung the RTL.
constexpr Cycles kHang = 100000;
// Snapshots kept at most (one per cycle evaluated while a walk runs; those
// before the floor that walk() is given go as soon as a later one is before
// it too). More are dropped oldest first: a walk that starts before the
// oldest enters at its cycle (counted: late_entries).
constexpr std::size_t kSnapshots = 8192;

struct ReadLog {
    Cycles issue, due;
    std::uint64_t addr, data;
    bool err;
};

struct WalkRec {
    std::uint64_t seq = 0;
    Cycles ready = 0;
    RtlWalkIn in;
    bool accepted = false, answered = false;
    RtlWalkOut out;
    unsigned nreads = 0;
    ReadLog reads[RtlWalkOut::kMaxReads];  // in issue order, as first seen
};

struct Pending {
    Cycles due;
    std::uint64_t seq;
    unsigned slot;
    std::uint64_t data;
    bool err;
};

// Everything besides the verilated model that a rollback restores.
struct Timeline {
    Cycles cycle = 0;                    // the next cycle to evaluate
    std::uint64_t known = 0;             // walks with seq < known are in this timeline
    std::vector<std::uint64_t> waiting;  // known walks not yet accepted, by seq
    std::int64_t slot_seq[IMS_RTL_NUM_WALKERS];  // walk in each slot, -1 free
    std::uint8_t slot_reads[IMS_RTL_NUM_WALKERS];
    std::vector<Pending> pending;        // read responses not yet delivered
    std::int64_t presented = -1;         // walk on the request port, not accepted: held there until it is

};

struct Snapshot {
    Timeline tl;  // tl.cycle: the snapshot's cycle (its state at the cycle's start)
    std::vector<unsigned char> model;
};

// The snapshots kept, by cycle, oldest first: a ring whose elements keep
// their buffers when they are dropped and taken again (one snapshot is
// taken at every cycle evaluated while a walk runs: no allocation once the
// ring has grown to the depth in use).
class SnapRing {
public:
    std::size_t size() const { return m_n; }
    bool empty() const { return m_n == 0; }
    Snapshot &operator[](std::size_t i) { return m_v[(m_head + i) & (m_v.size() - 1)]; }
    Snapshot &front() { return (*this)[0]; }
    Snapshot &back() { return (*this)[m_n - 1]; }
    // A new newest element, to be filled (it holds an old snapshot's buffers).
    Snapshot &push()
    {
        if (m_n == m_v.size())
            grow();
        m_n++;
        return back();
    }
    void pop_front()
    {
        m_head = (m_head + 1) & (m_v.size() - 1);
        m_n--;
    }
    void pop_back() { m_n--; }

private:
    void grow()  // (a power of two: the index is masked)
    {
        std::vector<Snapshot> v(m_v.empty() ? 16 : 2 * m_v.size());
        for (std::size_t i = 0; i < m_n; i++)
            v[i] = std::move((*this)[i]);
        m_v.swap(v);
        m_head = 0;
    }
    std::vector<Snapshot> m_v;
    std::size_t m_head = 0, m_n = 0;
};

}  // namespace

// What RtlWalkerSim sees of the simulator; Sim<M> is it for the verilated
// model M (one per slot count built: rtl/CMakeLists.txt).
struct RtlWalkerSim::Impl {
    virtual ~Impl() = default;
    virtual bool walk(Cycles ready, const RtlWalkIn &in, RtlMemory &mem, RtlWalkOut &out, Cycles floor) = 0;
    virtual bool finish() = 0;
    virtual bool run_batch(const std::vector<Cycles> &ready, const std::vector<RtlWalkIn> &in, BatchMemory &mem,
                           std::vector<RtlWalkOut> *out) = 0;
    virtual void set_wave_window(Cycles from, Cycles to) = 0;
    virtual Cycles spanned() const = 0;
    std::string error;
    std::uint64_t evaluated = 0, replayed = 0, delayed = 0, late = 0;
};

namespace {

template <class M> struct Sim final : RtlWalkerSim::Impl {
    RtlSimCfg cfg;
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<M> top;
    std::unique_ptr<VerilatedFstC> fst;
    std::string wave_tmp;             // written here, renamed to cfg.wave by finish()
    std::size_t model_bytes = 0;
    Timeline tl;
    SnapRing snaps;                   // by cycle, oldest first
    Snapshot scratch;                 // the current state while a commit runs
    std::deque<WalkRec> walks;        // walks a rollback may meet again, by seq
    std::uint64_t next_seq = 0;
    Cycles last_ready = 0;            // latest start of any walk so far
    bool dumping = false;             // a commit is running: dump what is in the window
    Cycles dumped_to = 0;             // cycles below this are in the waveform
    bool replaying = false;           // the cycles evaluated were evaluated before
    std::uint64_t last_event = 0;     // `evaluated` at the last event
    RtlMemory *mem = nullptr;         // the newest walk's memory
    RtlWalkerSim::BatchMemory *batch = nullptr;  // run_batch(): every walk's reads are new

    WalkRec *rec(std::uint64_t seq)
    {
        if (walks.empty() || seq < walks.front().seq || seq > walks.back().seq)
            return nullptr;
        return &walks[seq - walks.front().seq];
    }
    bool fail(const std::string &why)
    {
        if (error.empty()) {
            char b[64];
            std::snprintf(b, sizeof b, "RTL walker, cycle %llu: ", static_cast<unsigned long long>(tl.cycle));
            error = b + why;
        }
        return false;
    }
    // A replayed event differs from its first occurrence.
    bool diverge(const char *what) { return fail(std::string("internal: ") + what); }
    void reset();
    void save_to(Snapshot &s) const;
    void restore(const Snapshot &s);
    void learn();
    bool step(std::uint64_t newest);
    Cycles next_event(Cycles limit) const;
    bool run_to(Cycles until, std::uint64_t newest);
    bool run_until_answered(std::uint64_t seq);
    bool run_out(std::uint64_t newest);
    bool commit_oldest();
    bool enter(std::uint64_t seq, Cycles ready);
    bool push_snapshot();
    // Tags are seq mod 256, ordered by serial-number arithmetic (the RTL's
    // priority): every tag in flight must lie within half the tag space of
    // the one presented. A walk 128 or more walks younger than one still in
    // flight waits for it, as hardware with 8-bit tags would.
    bool tag_blocked(std::uint64_t seq) const
    {
        for (unsigned s = 0; s < cfg.walkers; s++)
            if (tl.slot_seq[s] >= 0 && seq - static_cast<std::uint64_t>(tl.slot_seq[s]) >= (kTagMask + 1) / 2)
                return true;
        return false;
    }
    // A walk is in the RTL, or one is due to enter it, or a response is due.

    bool in_flight() const
    {
        if (!tl.pending.empty())
            return true;
        for (unsigned s = 0; s < cfg.walkers; s++)
            if (tl.slot_seq[s] >= 0)
                return true;
        for (const std::uint64_t q : tl.waiting)
            if (walks[q - walks.front().seq].ready <= tl.cycle)
                return true;
        return false;
    }

    void trim();
    ~Sim() override;
    bool walk(Cycles ready, const RtlWalkIn &in, RtlMemory &mem, RtlWalkOut &out, Cycles floor) override;
    bool finish() override;
    bool run_batch(const std::vector<Cycles> &ready, const std::vector<RtlWalkIn> &in,
                   RtlWalkerSim::BatchMemory &mem, std::vector<RtlWalkOut> *out) override;
    void set_wave_window(Cycles from, Cycles to) override
    {
        cfg.wave_from = from;
        cfg.wave_to = to;
    }
    Cycles spanned() const override { return tl.cycle; }
    static std::unique_ptr<RtlWalkerSim::Impl> create(const RtlSimCfg &cfg, std::string *err);

};

template <class M> void Sim<M>::reset()
{
    M &t = *top;
    t.cfg_walkers_i = static_cast<CData>(cfg.walkers);
    t.cfg_rsvd_i = cfg.rsvd;
    t.cfg_sllps_i = cfg.sllps & 3u;
    t.req_valid_i = 0;
    t.rsp_ready_i = 1;
    t.mem_req_ready_i = 1;
    t.mem_rsp_valid_i = 0;
    t.clk_i = 0;
    t.rst_ni = 0;
    t.eval();
    for (int i = 0; i < 2; i++) {
        t.clk_i = 1;
        t.eval();
        t.clk_i = 0;
        t.eval();
    }
    t.rst_ni = 1;
    t.eval();
    // One edge out of reset loads the input flops (the configuration); the
    // walker, whose inputs were the flops' reset values, stays idle.
    t.clk_i = 1;
    t.eval();
    t.clk_i = 0;
    t.eval();
    for (unsigned s = 0; s < IMS_RTL_NUM_WALKERS; s++) {
        tl.slot_seq[s] = -1;
        tl.slot_reads[s] = 0;
    }
}

template <class M> void Sim<M>::save_to(Snapshot &s) const
{
    s.tl = tl;
    s.model.resize(model_bytes);
    std::memcpy(s.model.data(), static_cast<const void *>(top->rootp), model_bytes);
}

template <class M> void Sim<M>::restore(const Snapshot &s)
{
    tl = s.tl;
    std::memcpy(static_cast<void *>(top->rootp), s.model.data(), model_bytes);
}

// Walks made since this timeline's snapshot enter it (as not yet accepted).
template <class M> void Sim<M>::learn()
{
    for (; tl.known < next_seq; tl.known++)
        tl.waiting.push_back(tl.known);
}

// The first cycle >= tl.cycle in which something can happen while
// next_active_o is low: a response due, or a ready walk and a free slot;
// `limit` if nothing comes before it.
template <class M> Cycles Sim<M>::next_event(Cycles limit) const
{
    Cycles e = limit;
    for (const Pending &p : tl.pending)
        e = std::min(e, p.due);
    if (top->next_ready_o)  // (a walk waiting for a slot, or for a tag, needs a response first)
        for (const std::uint64_t q : tl.waiting)
            if (!tag_blocked(q))
                e = std::min(e, walks[q - walks.front().seq].ready);

    return std::max(e, tl.cycle);
}

// Evaluates cycle tl.cycle. `newest`: the walk being made (its events are
// new; every other walk's must be what they were).
template <class M> bool Sim<M>::step(std::uint64_t newest)
{
    M &t = *top;
    const Cycles c = tl.cycle;

    // Inputs of cycle c: the walk presented before and not yet accepted (a
    // request is held until ready: docs/rtl.md), else the oldest ready walk
    // not yet accepted...
    WalkRec *pres = nullptr;
    std::size_t pres_i = 0;
    for (std::size_t i = 0; i < tl.waiting.size(); i++) {
        WalkRec *w = rec(tl.waiting[i]);
        if (tl.presented >= 0 ? w->seq == static_cast<std::uint64_t>(tl.presented)
                              : w->ready <= c && !tag_blocked(w->seq) && (!pres || w->seq < pres->seq)) {
            pres = w;
            pres_i = i;
        }
    }

    t.req_valid_i = pres != nullptr;
    if (pres) {
        const RtlWalkIn &in = pres->in;
        t.req_tag_i = static_cast<CData>(pres->seq & kTagMask);
        t.req_did_i = in.did;
        t.req_table_i = in.table;
        t.req_levels_i = in.levels;
        t.req_start_i = in.start;
        t.req_perm_i = in.perm;
        t.req_iova_i = in.iova;
        t.req_access_i = in.access;
    }
    // ...and the due response of the oldest walk.
    std::size_t rsp = tl.pending.size();
    for (std::size_t i = 0; i < tl.pending.size(); i++)
        if (tl.pending[i].due <= c && (rsp == tl.pending.size() || tl.pending[i].seq < tl.pending[rsp].seq))
            rsp = i;
    t.mem_rsp_valid_i = rsp < tl.pending.size();
    if (rsp < tl.pending.size()) {
        const Pending &p = tl.pending[rsp];
        t.mem_rsp_id_i = static_cast<CData>(p.slot);
        t.mem_rsp_data_i = p.data;
        t.mem_rsp_err_i = p.err;
        WalkRec *w = rec(p.seq);
        const unsigned k = tl.slot_reads[p.slot];
        if (w && k && k <= RtlWalkOut::kMaxReads)
            w->out.read_done[k - 1] = c;
    }
    // The edge that ends the last cycle evaluated (the walker's inputs of
    // that cycle are in the simulation top's input flops), loading the
    // inputs of cycle c: the walker's outputs are now those of cycle c.
    t.clk_i = 1;
    t.eval();
    const std::uint32_t busy_before = t.busy_o;

    // Handshakes of cycle c.
    bool event = false;
    if (pres) {
        const bool acc = t.req_ready_o;
        if (pres->accepted && acc != (pres->out.accept == c))
            return diverge("an earlier walk entered the walker in another cycle");
        if (acc) {
            unsigned slot = 0;
            while (slot < cfg.walkers && (busy_before >> slot & 1u))
                slot++;
            if (slot >= cfg.walkers)
                return fail("a request was accepted with every slot busy");
            if (!pres->accepted) {
                pres->accepted = true;
                pres->out.accept = c;
            }
            tl.slot_seq[slot] = static_cast<std::int64_t>(pres->seq);
            tl.slot_reads[slot] = 0;
            tl.waiting.erase(tl.waiting.begin() + static_cast<long>(pres_i));
            event = true;
        }
        tl.presented = acc ? -1 : static_cast<std::int64_t>(pres->seq);
    }

    if (rsp < tl.pending.size()) {
        tl.pending.erase(tl.pending.begin() + static_cast<long>(rsp));
        event = true;
    }
    if (t.mem_req_valid_o) {  // mem_req_ready_i is always 1
        const unsigned id = t.mem_req_id_o;
        if (id >= cfg.walkers || tl.slot_seq[id] < 0)
            return fail("a table read from a free slot");
        const std::uint64_t seq = static_cast<std::uint64_t>(tl.slot_seq[id]);
        WalkRec *w = rec(seq);
        const unsigned k = tl.slot_reads[id]++;
        if (k >= RtlWalkOut::kMaxReads)
            return fail("a walk read more than 8 entries");
        Pending p{0, seq, id, 0, false};
        if (k < w->nreads) {
            const ReadLog &r = w->reads[k];
            if (r.issue != c || r.addr != t.mem_req_addr_o)
                return diverge("an earlier walk read another address, or in another cycle");
            p.due = r.due;
            p.data = r.data;
            p.err = r.err;
        } else if (batch || (seq == newest && !replaying)) {  // a read made for the first time
            const std::uint64_t addr = t.mem_req_addr_o;
            ReadLog r{c, 0, addr, 0, false};
            const Cycles due = batch ? batch->read(static_cast<std::size_t>(seq), c, addr, k, &r.data, &r.err)
                                     : mem->read(c, addr, k, &r.data, &r.err);
            r.due = std::max(due, c + 1);
            w->reads[w->nreads++] = r;
            w->out.read_addr[k] = addr;
            w->out.read_level[k] = static_cast<std::uint8_t>(t.mem_req_level_o);
            w->out.read_issue[k] = c;
            w->out.nlog = static_cast<std::uint8_t>(k + 1);
            p.due = r.due;
            p.data = r.data;
            p.err = r.err;
        } else {
            return diverge("an earlier walk made a read it did not make before");
        }
        tl.pending.push_back(p);
        event = true;
    }
    if (t.rsp_valid_o) {  // rsp_ready_i is always 1
        const unsigned tag = t.rsp_tag_o;
        unsigned slot = 0;
        while (slot < cfg.walkers &&
               !(tl.slot_seq[slot] >= 0 && (static_cast<std::uint64_t>(tl.slot_seq[slot]) & kTagMask) == tag))
            slot++;
        if (slot >= cfg.walkers)
            return fail("a response with a tag no walk in flight has");
        WalkRec *w = rec(static_cast<std::uint64_t>(tl.slot_seq[slot]));
        if (w->answered) {
            if (w->out.done != c || w->out.pa != t.rsp_pa_o || w->out.fault != t.rsp_fault_o ||
                w->out.perm != t.rsp_perm_o || w->out.shift != t.rsp_shift_o)
                return diverge("an earlier walk answered differently, or in another cycle");
        } else {
            w->answered = true;
            w->out.done = c;
            w->out.pa = t.rsp_pa_o;
            w->out.shift = t.rsp_shift_o;
            w->out.perm = t.rsp_perm_o;
            w->out.fault = t.rsp_fault_o;
            w->out.reads = t.rsp_reads_o;
        }
        tl.slot_seq[slot] = -1;
        event = true;
    }
    const bool dump = dumping && c >= cfg.wave_from && c <= cfg.wave_to && c >= dumped_to;
    if (dump)
        fst->dump(c * cfg.period_ps);
    t.clk_i = 0;  // (only the clock changes: no logic depends on the inputs directly)
    t.eval();
    if (dump) {
        fst->dump(c * cfg.period_ps + cfg.period_ps / 2);
        dumped_to = c + 1;
    }
    // (An assertion is checked at the edge that ends its cycle: this edge
    // checked the cycle evaluated before c.)
    if (ctx->errorCount())
        return fail("an assertion in the RTL failed (its message is above)");
    evaluated++;
    replayed += replaying;
    if (event || !in_flight())
        last_event = evaluated;
    else if (evaluated - last_event > kHang)
        return fail("no request, read or response for 100000 cycles: the walker hangs");
    tl.cycle = c + 1;
    return true;

}

// Evaluates cycles until tl.cycle reaches `until` (cycles < until are done).
template <class M> bool Sim<M>::run_to(Cycles until, std::uint64_t newest)
{
    while (tl.cycle < until) {
        // With walker.rtl_skip_idle off, only the cycles with no walk in the
        // RTL at all are skipped (they change nothing: every slot is idle).
        if (!top->next_active_o && (cfg.skip_idle || !in_flight())) {
            tl.cycle = std::min(next_event(until), until);
            if (tl.cycle >= until)
                break;
        }
        if (!step(newest))
            return false;
    }
    return true;
}

// Evaluates cycles until walk `seq` has been answered.
template <class M> bool Sim<M>::run_until_answered(std::uint64_t seq)
{
    const WalkRec *w = rec(seq);
    while (!w->answered) {
        if (cfg.skip_idle && !top->next_active_o) {
            const Cycles e = next_event(~Cycles{0});
            if (e == ~Cycles{0})
                return fail("the walker is idle and nothing is due, but walk " + std::to_string(seq) +
                            " has no answer");
            tl.cycle = e;
        }
        // A snapshot at every cycle evaluated: a walk that starts during
        // this one runs again from just before its start.
        if (tl.cycle > snaps.back().tl.cycle && !push_snapshot())
            return false;
        if (!step(seq))
            return false;
    }
    return true;
}

// Evaluates cycles until every known walk has been answered.
template <class M> bool Sim<M>::run_out(std::uint64_t newest)
{
    for (;;) {
        bool left = !tl.waiting.empty() || !tl.pending.empty();  // a walk not yet answered
        for (unsigned s = 0; !left && s < cfg.walkers; s++)
            left = tl.slot_seq[s] >= 0;
        if (!left && !top->next_active_o)
            return true;
        if (cfg.skip_idle && !top->next_active_o) {
            const Cycles e = next_event(~Cycles{0});
            if (e == ~Cycles{0})
                return fail("the walker is idle and nothing is due, but walks are unanswered");
            tl.cycle = e;
        }
        if (!step(newest))
            return false;
    }
}

// The waveform of the cycles from the oldest snapshot to the next (or to the
// end), final now: run them once more with the waveform on, then drop the
// oldest snapshot.
template <class M> bool Sim<M>::commit_oldest()
{
    save_to(scratch);
    restore(snaps.front());
    learn();
    replaying = true;
    dumping = true;
    const bool ok = snaps.size() > 1 ? run_to(snaps[1].tl.cycle, next_seq) : run_out(next_seq);
    replaying = false;
    dumping = false;
    restore(scratch);
    snaps.pop_front();
    return ok;
}

// Walk `seq` enters from cycle `ready` (never before an earlier walk's
// start): restore the latest snapshot not after `ready` (or go on from the
// current state if the RTL has not passed it), run to `ready`, keep a
// snapshot there, and run until the walk is answered.
template <class M> bool Sim<M>::enter(std::uint64_t seq, Cycles ready)
{
    std::size_t i = snaps.size();
    while (i > 0 && snaps[i - 1].tl.cycle > ready)
        i--;
    if (i == 0) {
        // It starts before the oldest snapshot kept: it enters there instead.
        ready = snaps.front().tl.cycle;
        rec(seq)->ready = ready;
        late++;
        i = 1;
    }
    if (i < snaps.size() || tl.cycle > ready) {
        restore(snaps[i - 1]);
        replaying = true;
    }
    // Snapshots after `ready` lack this walk: gone.
    while (snaps.size() > i)
        snaps.pop_back();
    learn();  // the walks made since the snapshot (this one comes after the run to `ready`)
    tl.waiting.erase(std::remove(tl.waiting.begin(), tl.waiting.end(), seq), tl.waiting.end());
    tl.known = seq;
    bool ok = run_to(ready, seq);
    replaying = false;
    if (!ok)
        return false;
    // The snapshot at `ready`, the walk not yet in it.
    if (!push_snapshot())
        return false;
    learn();
    return run_until_answered(seq);
}

// Keeps a snapshot of the state now (the start of cycle tl.cycle); beyond
// kSnapshots the oldest goes (its cycles written to the waveform first).
template <class M> bool Sim<M>::push_snapshot()
{
    save_to(snaps.push());
    if (snaps.size() <= kSnapshots)
        return true;
    if (fst)
        return commit_oldest();
    snaps.pop_front();
    return true;
}

// Forgets walks that no rollback can meet again: answered before the oldest
// snapshot's cycle, with no response left for them in it.
template <class M> void Sim<M>::trim()
{
    if (snaps.empty())
        return;
    const Timeline &old = snaps.front().tl;
    while (walks.size() > 1) {
        const WalkRec &w = walks.front();
        if (!w.answered || w.out.done >= old.cycle || w.seq >= old.known)
            break;
        bool pend = false;
        for (const Pending &p : old.pending)
            pend = pend || p.seq == w.seq;
        if (pend)
            break;
        walks.pop_front();
    }
}

template <class M> Sim<M>::~Sim()
{
    if (fst) {  // finish() was not called: the waveform is not kept
        fst->close();
        std::remove(wave_tmp.c_str());
    }
}

template <class M> std::unique_ptr<RtlWalkerSim::Impl> Sim<M>::create(const RtlSimCfg &cfg, std::string *err)
{
    auto s = std::make_unique<Sim<M>>();
    s->cfg = cfg;
    s->ctx = std::make_unique<VerilatedContext>();
    s->ctx->errorLimit(1 << 30);  // an assertion is counted (checked each cycle), never an abort
    if (!cfg.wave.empty())
        s->ctx->traceEverOn(true);
    s->top = std::make_unique<M>(s->ctx.get(), "walker");
    s->model_bytes = sizeof(*s->top->rootp);
    s->reset();
    if (!cfg.wave.empty()) {
        s->wave_tmp = cfg.wave + ".tmp";
        s->fst = std::make_unique<VerilatedFstC>();
        s->top->trace(s->fst.get(), 99);
        s->fst->set_time_unit("1ps");
        s->fst->set_time_resolution("1ps");
        s->fst->open(s->wave_tmp.c_str());
        if (!s->fst->isOpen()) {
            *err = "--wave " + cfg.wave + ": cannot write " + s->wave_tmp;
            s->fst.reset();
            return nullptr;
        }
    }
    // The state before the first walk: the first snapshot.
    s->save_to(s->snaps.push());
    return s;
}

template <class M> bool Sim<M>::walk(Cycles ready, const RtlWalkIn &in, RtlMemory &m, RtlWalkOut &out, Cycles floor)
{
    if (!error.empty())
        return false;
    WalkRec w;
    w.seq = next_seq++;
    w.in = in;
    // Arrival order: never before an earlier walk's start.
    w.ready = std::max(ready, last_ready);
    delayed += w.ready > ready;
    walks.push_back(std::move(w));
    mem = &m;
    const std::uint64_t seq = next_seq - 1;
    bool ok = enter(seq, walks.back().ready);
    if (!ok)
        return false;
    last_ready = rec(seq)->ready;
    out = rec(seq)->out;
    out.ready = last_ready;
    // Snapshots before the floor but the latest of them are never needed again.
    while (snaps.size() > 1 && snaps[1].tl.cycle <= floor && ok) {
        if (fst)
            ok = commit_oldest();
        else
            snaps.pop_front();
    }
    trim();
    return ok;
}

template <class M> bool Sim<M>::finish()
{
    bool ok = error.empty();
    if (ok) {
        // One more edge, with no input: it checks the assertions (and counts
        // the cover points) of the last cycle evaluated.
        top->req_valid_i = 0;
        top->mem_rsp_valid_i = 0;
        top->clk_i = 1;
        top->eval();
        top->clk_i = 0;
        top->eval();
        if (ctx->errorCount())
            ok = fail("an assertion in the RTL failed (its message is above)");
    }
    while (ok && fst && !snaps.empty())
        ok = commit_oldest();
    if (fst) {
        fst->close();
        fst.reset();
        if (ok && std::rename(wave_tmp.c_str(), cfg.wave.c_str()) != 0)
            ok = fail("--wave " + cfg.wave + ": cannot rename " + wave_tmp + " to it");
        if (!ok)
            std::remove(wave_tmp.c_str());
    }
    return ok;
}

template <class M>
bool Sim<M>::run_batch(const std::vector<Cycles> &ready, const std::vector<RtlWalkIn> &in,
                       RtlWalkerSim::BatchMemory &m, std::vector<RtlWalkOut> *out)
{
    if (next_seq != 0 || ready.size() != in.size())
        return fail("run_batch: needs a fresh simulator and one start cycle per walk");
    for (std::size_t i = 0; i < in.size(); i++) {
        WalkRec w;
        w.seq = next_seq++;
        w.ready = ready[i];
        w.in = in[i];
        walks.push_back(std::move(w));
    }
    learn();
    batch = &m;
    const bool ok = run_out(next_seq);
    batch = nullptr;
    out->clear();
    for (const WalkRec &w : walks)
        out->push_back(w.out);
    return ok;
}

}  // namespace

// The smallest verilated walker with enough slots (cfg_walkers_i masks the
// rest): a model's cost per cycle grows with its slots.
std::unique_ptr<RtlWalkerSim> RtlWalkerSim::create(const RtlSimCfg &cfg, std::string *err)
{
    if (cfg.walkers < 1 || cfg.walkers > kSlots) {
        *err = "walker.count: " + std::to_string(cfg.walkers) + " walkers, but the RTL walker has " +
               std::to_string(kSlots) + " slots (1.." + std::to_string(kSlots) + " with walker.impl rtl or lockstep)";
        return nullptr;
    }
    std::unique_ptr<Impl> impl;
#if IMS_RTL_HAVE_4
    if (!impl && cfg.walkers <= 4)
        impl = Sim<Vims_walker_sim4>::create(cfg, err);
#endif
#if IMS_RTL_HAVE_8
    if (!impl && cfg.walkers <= 8 && err->empty())
        impl = Sim<Vims_walker_sim8>::create(cfg, err);
#endif
    if (!impl && err->empty())
        impl = Sim<Vims_walker_sim>::create(cfg, err);
    if (!impl)
        return nullptr;
    return std::unique_ptr<RtlWalkerSim>(new RtlWalkerSim(std::move(impl)));
}

RtlWalkerSim::RtlWalkerSim(std::unique_ptr<Impl> impl) : m(std::move(impl)) {}
RtlWalkerSim::~RtlWalkerSim() = default;

bool RtlWalkerSim::walk(Cycles ready, const RtlWalkIn &in, RtlMemory &mem, RtlWalkOut &out, Cycles floor)
{
    return m->walk(ready, in, mem, out, floor);
}
bool RtlWalkerSim::finish() { return m->finish(); }
bool RtlWalkerSim::run_batch(const std::vector<Cycles> &ready, const std::vector<RtlWalkIn> &in, BatchMemory &mem,
                             std::vector<RtlWalkOut> *out)
{
    return m->run_batch(ready, in, mem, out);
}
const std::string &RtlWalkerSim::error() const { return m->error; }
std::uint64_t RtlWalkerSim::cycles_evaluated() const { return m->evaluated; }
std::uint64_t RtlWalkerSim::cycles_spanned() const { return m->spanned(); }
std::uint64_t RtlWalkerSim::cycles_replayed() const { return m->replayed; }
std::uint64_t RtlWalkerSim::delayed_entries() const { return m->delayed; }
std::uint64_t RtlWalkerSim::late_entries() const { return m->late; }
void RtlWalkerSim::set_wave_window(Cycles from, Cycles to) { m->set_wave_window(from, to); }

}  // namespace ims
