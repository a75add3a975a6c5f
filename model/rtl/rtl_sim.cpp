// RtlWalkerSim: the verilated walker, ticked from C++ (cosim.hpp says why;
// docs/rtl.md has the measurements).
//
// One cycle c: drive the inputs of cycle c with the clock low and eval (the
// combinational outputs settle; the handshakes of cycle c are read off
// them), then raise the clock and eval (the edge that ends cycle c). A
// memory read issued in cycle c is answered in the cycle its RtlMemory
// says; at most one response per cycle goes back, the oldest walk's first.
// The request port presents, each cycle, the oldest walk that is ready and
// not yet accepted.
//
// Rollback. The model needs each walk's answer when the walk arrives, so
// the RTL runs ahead of the model's time to give it; the next walk may be
// ready before the cycle the RTL reached (it runs in parallel with the
// earlier ones), or even before the earlier walk was ready (its context or
// paging-structure-cache entry came sooner). So at every walk's start the
// simulator keeps a snapshot (the verilated model's state and this file's
// timeline), a few dozen deep; a walk restores the latest snapshot not
// after its start and the RTL runs forward again with every walk it knows.
// Every event of an earlier walk met again must equal its first occurrence
// (accept, each read's cycle and address, the answer's cycle and result):
// that is checked, never assumed. A later walk that would change an earlier
// one's events (it took a slot, the memory port or the response port the
// earlier walk had in the first run) is detected at that event and made
// again, entering the RTL after every earlier walk (arrival order), where
// it cannot change them; cosim.retries counts those.
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

#include "Vims_walker.h"
#include "Vims_walker___024root.h"
#pragma GCC diagnostic pop

namespace ims {

const unsigned RtlWalkerSim::kSlots = IMS_RTL_NUM_WALKERS;

namespace {

constexpr unsigned kTagMask = 0xff;  // TagWidth 8: walks in flight are far fewer than 256
// A walk with no event (accept, read, response) for this many evaluated
// cycles has hung the RTL.
constexpr Cycles kHang = 100000;
// Snapshots kept: how far back (in walks) a walk may start before the
// walks that arrived before it and still run beside them.
constexpr std::size_t kSnapshots = 32;

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
    std::vector<ReadLog> reads;  // in issue order, as first seen
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
    std::int64_t presented = -1;         // walk on the request port, not accepted (held: valid until ready)
};

struct Snapshot {
    Timeline tl;  // tl.cycle: the snapshot's cycle (its state at the cycle's start)
    std::vector<unsigned char> model;
};

}  // namespace

struct RtlWalkerSim::Impl {
    RtlSimCfg cfg;
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vims_walker> top;
    std::unique_ptr<VerilatedFstC> fst;
    std::string wave_tmp;             // written here, renamed to cfg.wave by finish()
    std::size_t model_bytes = 0;
    Timeline tl;
    std::deque<Snapshot> snaps;       // by cycle, oldest first
    std::vector<Snapshot> spare;      // recycled snapshot buffers
    Snapshot scratch;                 // the current state while a commit runs
    std::deque<WalkRec> walks;        // walks a rollback may meet again, by seq
    std::uint64_t next_seq = 0;
    Cycles last_ready = 0;            // latest start of any walk so far
    bool dumping = false;             // a commit is running: dump what is in the window
    Cycles dumped_to = 0;             // cycles below this are in the waveform
    std::uint64_t evaluated = 0, replayed = 0, retries = 0, rebooked = 0;
    bool replaying = false;           // the cycles evaluated were evaluated before
    bool diverged = false;            // a walk changed an earlier walk's events
    std::string error;
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
    // A replayed event differs: a divergence while the newest walk entered
    // early (walk() retries it), otherwise an error.
    bool diverge(const char *what)
    {
        diverged = true;
        return fail(what);
    }
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
    bool attempt(std::uint64_t seq, Cycles ready, bool after_failure);

    void trim();
};

void RtlWalkerSim::Impl::reset()
{
    Vims_walker &t = *top;
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
    for (unsigned s = 0; s < IMS_RTL_NUM_WALKERS; s++) {
        tl.slot_seq[s] = -1;
        tl.slot_reads[s] = 0;
    }
}

void RtlWalkerSim::Impl::save_to(Snapshot &s) const
{
    s.tl = tl;
    s.model.resize(model_bytes);
    std::memcpy(s.model.data(), static_cast<const void *>(top->rootp), model_bytes);
}

void RtlWalkerSim::Impl::restore(const Snapshot &s)
{
    tl = s.tl;
    std::memcpy(static_cast<void *>(top->rootp), s.model.data(), model_bytes);
}

// Walks made since this timeline's snapshot enter it (as not yet accepted).
void RtlWalkerSim::Impl::learn()
{
    for (; tl.known < next_seq; tl.known++)
        tl.waiting.push_back(tl.known);
}

// The first cycle >= tl.cycle in which something can happen while active_o
// is low: a response due, or a ready walk and a free slot; `limit` if
// nothing comes before it.
Cycles RtlWalkerSim::Impl::next_event(Cycles limit) const
{
    Cycles e = limit;
    for (const Pending &p : tl.pending)
        e = std::min(e, p.due);
    if (top->req_ready_o)  // (a walk waiting for a slot needs a response first)
        for (const std::uint64_t q : tl.waiting)
            e = std::min(e, walks[q - walks.front().seq].ready);
    return std::max(e, tl.cycle);
}

// Evaluates cycle tl.cycle. `newest`: the walk being made (its events are
// new; every other walk's must be what they were).
bool RtlWalkerSim::Impl::step(std::uint64_t newest)
{
    Vims_walker &t = *top;
    const Cycles c = tl.cycle;

    // Inputs of cycle c: the walk presented before and not yet accepted (a
    // request is held until ready: rtl-if), else the oldest ready walk not
    // yet accepted...
    WalkRec *pres = nullptr;
    std::size_t pres_i = 0;
    for (std::size_t i = 0; i < tl.waiting.size(); i++) {
        WalkRec *w = rec(tl.waiting[i]);
        if (tl.presented >= 0) {
            if (w->seq == static_cast<std::uint64_t>(tl.presented)) {
                pres = w;
                pres_i = i;
            }
        } else if (w->ready <= c && (!pres || w->seq < pres->seq)) {
            pres = w;
            pres_i = i;
        }
    }
    // A held younger walk keeps an older one that entered in this cycle
    // before off the port: that changes the older walk.
    for (const std::uint64_t q : tl.waiting) {
        const WalkRec *w = rec(q);
        if (w != pres && w->accepted && w->out.accept == c)
            return diverge("an earlier walk entered the walker in another cycle");
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
    const std::uint32_t busy_before = t.busy_o;
    t.clk_i = 0;
    t.eval();

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
            for (unsigned s = 0; s < cfg.walkers; s++)
                if (tl.slot_seq[s] >= 0 && (static_cast<std::uint64_t>(tl.slot_seq[s]) & kTagMask) == (pres->seq & kTagMask))
                    return fail("a walk 256 walks older is still in flight: its tag would be reused");
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
        if (k < w->reads.size()) {
            const ReadLog &r = w->reads[k];
            if (r.issue != c || r.addr != t.mem_req_addr_o)
                return diverge("an earlier walk read another address, or in another cycle");
            p.due = r.due;
            p.data = r.data;
            p.err = r.err;
        } else if (batch) {
            const std::uint64_t addr = t.mem_req_addr_o;
            ReadLog r{c, 0, addr, 0, false};
            r.due = std::max(batch->read(static_cast<std::size_t>(seq), c, addr, k, &r.data, &r.err), c + 1);
            w->reads.push_back(r);
            w->out.read_addr[k] = addr;
            w->out.read_level[k] = static_cast<std::uint8_t>(t.mem_req_level_o);
            w->out.read_issue[k] = c;
            w->out.nlog = static_cast<std::uint8_t>(k + 1);
            p.due = r.due;
            p.data = r.data;
            p.err = r.err;
        } else if (seq == newest && !replaying) {
            // The port is the newest walk's only if no earlier walk read in this cycle before.
            for (unsigned s = 0; s < cfg.walkers; s++) {

                if (s == id || tl.slot_seq[s] < 0)
                    continue;
                const WalkRec *o = rec(static_cast<std::uint64_t>(tl.slot_seq[s]));
                if (o && tl.slot_reads[s] < o->reads.size() && o->reads[tl.slot_reads[s]].issue <= c)
                    return diverge("the newest walk took the memory port from an earlier one");
            }
            const std::uint64_t addr = t.mem_req_addr_o;
            ReadLog r{c, 0, addr, 0, false};
            r.due = std::max(mem->read(c, addr, k, &r.data, &r.err), c + 1);
            w->reads.push_back(r);
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
            for (unsigned s = 0; !batch && s < cfg.walkers; s++) {
                const WalkRec *o = tl.slot_seq[s] < 0 ? nullptr : rec(static_cast<std::uint64_t>(tl.slot_seq[s]));
                if (s != slot && o && o->answered && o->out.done <= c)

                    return diverge("the newest walk took the response port from an earlier one");
            }
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
    t.clk_i = 1;
    t.eval();
    if (dump) {
        fst->dump(c * cfg.period_ps + cfg.period_ps / 2);
        dumped_to = c + 1;
    }
    if (ctx->errorCount())
        return fail("an assertion in the RTL failed (its message is above)");
    evaluated++;
    replayed += replaying;
    if (event)
        last_event = evaluated;
    else if (evaluated - last_event > kHang)
        return fail("no request, read or response for 100000 cycles: the walker hangs");
    tl.cycle = c + 1;
    return true;
}

// Evaluates cycles until tl.cycle reaches `until` (cycles < until are done).
bool RtlWalkerSim::Impl::run_to(Cycles until, std::uint64_t newest)
{
    while (tl.cycle < until) {
        if (!step(newest))
            return false;
        if (cfg.skip_idle && !top->active_o)
            tl.cycle = std::min(next_event(until), until);
    }
    return true;
}

// Evaluates cycles until walk `seq` has been answered.
bool RtlWalkerSim::Impl::run_until_answered(std::uint64_t seq)
{
    const WalkRec *w = rec(seq);
    while (!w->answered) {
        if (!step(seq))
            return false;
        if (w->answered || !cfg.skip_idle || top->active_o)
            continue;
        const Cycles e = next_event(~Cycles{0});
        if (e == ~Cycles{0})
            return fail("the walker is idle and nothing is due, but walk " + std::to_string(seq) + " has no answer");
        tl.cycle = e;
    }
    return true;
}

// Evaluates cycles until every known walk has been answered.
bool RtlWalkerSim::Impl::run_out(std::uint64_t newest)
{
    for (;;) {
        bool left = !tl.waiting.empty() || !tl.pending.empty();  // a walk not yet answered
        for (unsigned s = 0; !left && s < cfg.walkers; s++)
            left = tl.slot_seq[s] >= 0;
        if (!left && !top->active_o)
            return true;
        if (!step(newest))
            return false;
        if (!cfg.skip_idle || top->active_o)
            continue;
        const Cycles e = next_event(~Cycles{0});
        if (e != ~Cycles{0})
            tl.cycle = e;
        else if (!tl.waiting.empty() || !tl.pending.empty() || std::any_of(tl.slot_seq, tl.slot_seq + cfg.walkers,
                                                                             [](std::int64_t q) { return q >= 0; }))
            return fail("the walker is idle and nothing is due, but walks are unanswered");
    }
}

// The waveform of the cycles from the oldest snapshot to the next (or to the
// end), final now: run them once more with the waveform on, then drop the
// oldest snapshot.
bool RtlWalkerSim::Impl::commit_oldest()
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
    spare.push_back(std::move(snaps.front()));
    snaps.pop_front();
    return ok;
}

// One try at walk `seq` entering from cycle `ready`: restore the latest
// snapshot not after `ready` (or go on from the current state if nothing
// started after it and the RTL has not passed it), run to `ready`, keep a
// snapshot there, and run until the walk is answered.
bool RtlWalkerSim::Impl::attempt(std::uint64_t seq, Cycles ready, bool after_failure)
{
    std::size_t i = snaps.size();
    while (i > 0 && snaps[i - 1].tl.cycle > ready)
        i--;
    if (i < snaps.size() || tl.cycle > ready || after_failure) {

        if (i == 0)
            return fail("internal: no snapshot before a walk's start");
        restore(snaps[i - 1]);
        replaying = true;
    }
    // Snapshots after `ready` lack this walk: gone.
    while (snaps.size() > i) {
        spare.push_back(std::move(snaps.back()));
        snaps.pop_back();
    }
    tl.known = std::min(tl.known, seq);  // the new walk enters at `ready`, after the snapshot
    learn();
    tl.waiting.erase(std::remove(tl.waiting.begin(), tl.waiting.end(), seq), tl.waiting.end());
    tl.known = seq;
    bool ok = run_to(ready, seq);
    replaying = false;
    if (!ok)
        return false;
    // The snapshot at `ready`, the walk not yet in it.
    if (spare.empty())
        spare.emplace_back();
    save_to(spare.back());
    snaps.push_back(std::move(spare.back()));
    spare.pop_back();
    learn();
    ok = run_until_answered(seq);
    // A walk that entered before an earlier one changes that walk only in an
    // event still to come when it is answered: run on (checking) to the
    // last event of every earlier walk, so that the change is seen now and
    // this walk retried, not blamed on a later one.
    if (ok && ready < last_ready) {
        Cycles end = 0;
        for (const WalkRec &w : walks)
            if (w.seq < seq)
                end = std::max(end, w.out.done + 1);
        ok = run_to(end, seq);
    }
    if (ok && fst && snaps.size() > kSnapshots)
        ok = commit_oldest();
    else if (ok && snaps.size() > kSnapshots) {
        spare.push_back(std::move(snaps.front()));
        snaps.pop_front();
    }
    return ok;
}

// Forgets walks that no rollback can meet again: answered before the oldest
// snapshot's cycle, with no response left for them in it.
void RtlWalkerSim::Impl::trim()
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

RtlWalkerSim::RtlWalkerSim(std::unique_ptr<Impl> impl) : m(std::move(impl)) {}
RtlWalkerSim::~RtlWalkerSim()
{
    if (m && m->fst) {  // finish() was not called: the waveform is not kept
        m->fst->close();
        std::remove(m->wave_tmp.c_str());
    }
}

std::unique_ptr<RtlWalkerSim> RtlWalkerSim::create(const RtlSimCfg &cfg, std::string *err)
{
    if (cfg.walkers < 1 || cfg.walkers > kSlots) {
        *err = "walker.count: " + std::to_string(cfg.walkers) + " walkers, but the RTL walker has " +
               std::to_string(kSlots) + " slots (1.." + std::to_string(kSlots) + " with walker.impl rtl or lockstep)";
        return nullptr;
    }
    auto impl = std::make_unique<Impl>();
    impl->cfg = cfg;
    impl->ctx = std::make_unique<VerilatedContext>();
    impl->ctx->errorLimit(1 << 30);  // an assertion is counted (checked each cycle), never an abort
    if (!cfg.wave.empty())
        impl->ctx->traceEverOn(true);
    impl->top = std::make_unique<Vims_walker>(impl->ctx.get(), "walker");
    impl->model_bytes = sizeof(*impl->top->rootp);
    impl->reset();
    if (!cfg.wave.empty()) {
        impl->wave_tmp = cfg.wave + ".tmp";
        impl->fst = std::make_unique<VerilatedFstC>();
        impl->top->trace(impl->fst.get(), 99);
        impl->fst->set_time_unit("1ps");
        impl->fst->set_time_resolution("1ps");
        impl->fst->open(impl->wave_tmp.c_str());
        if (!impl->fst->isOpen()) {
            *err = "--wave " + cfg.wave + ": cannot write " + impl->wave_tmp;
            impl->fst.reset();
            return nullptr;
        }
    }
    // The state before the first walk: the first snapshot.
    impl->snaps.emplace_back();
    impl->save_to(impl->snaps.back());
    return std::unique_ptr<RtlWalkerSim>(new RtlWalkerSim(std::move(impl)));
}

bool RtlWalkerSim::walk(Cycles ready, const RtlWalkIn &in, RtlMemory &mem, RtlWalkOut &out)
{
    Impl &s = *m;
    if (!s.error.empty())
        return false;
    WalkRec w;
    w.seq = s.next_seq++;
    w.ready = ready;
    w.in = in;
    s.walks.push_back(std::move(w));
    s.mem = &mem;
    const std::uint64_t seq = s.next_seq - 1;
    bool ok = s.attempt(seq, ready, false);

    if (!ok && s.diverged && ready < s.last_ready) {
        // It changed an earlier walk: make it again, entering after every
        // earlier walk has (they cannot be changed then).
        WalkRec &r = *s.rec(seq);
        s.rebooked += r.reads.size();
        r = WalkRec{};
        r.seq = seq;
        r.ready = s.last_ready;
        r.in = in;
        s.error.clear();
        s.diverged = false;
        s.retries++;
        ok = s.attempt(seq, s.last_ready, true);

    }
    if (!ok)
        return false;
    s.last_ready = std::max(s.last_ready, s.rec(seq)->ready);
    out = s.rec(seq)->out;
    s.trim();
    return true;
}

bool RtlWalkerSim::finish()
{
    Impl &s = *m;
    bool ok = s.error.empty();
    while (ok && s.fst && !s.snaps.empty())
        ok = s.commit_oldest();
    if (s.fst) {
        s.fst->close();
        s.fst.reset();
        if (ok && std::rename(s.wave_tmp.c_str(), s.cfg.wave.c_str()) != 0)
            ok = s.fail("--wave " + s.cfg.wave + ": cannot rename " + s.wave_tmp + " to it");
        if (!ok)
            std::remove(s.wave_tmp.c_str());
    }
    return ok;
}

const std::string &RtlWalkerSim::error() const { return m->error; }
std::uint64_t RtlWalkerSim::cycles_evaluated() const { return m->evaluated; }
std::uint64_t RtlWalkerSim::cycles_spanned() const { return m->tl.cycle; }
std::uint64_t RtlWalkerSim::cycles_replayed() const { return m->replayed; }
std::uint64_t RtlWalkerSim::retries() const { return m->retries; }
std::uint64_t RtlWalkerSim::rebooked_reads() const { return m->rebooked; }
void RtlWalkerSim::set_wave_window(Cycles from, Cycles to)
{
    m->cfg.wave_from = from;
    m->cfg.wave_to = to;
}

}  // namespace ims

namespace ims {

bool RtlWalkerSim::run_batch(const std::vector<Cycles> &ready, const std::vector<RtlWalkIn> &in, BatchMemory &mem,
                             std::vector<RtlWalkOut> *out)
{
    Impl &s = *m;
    if (s.next_seq != 0 || ready.size() != in.size())
        return s.fail("run_batch: needs a fresh simulator and one start cycle per walk");
    for (std::size_t i = 0; i < in.size(); i++) {
        WalkRec w;
        w.seq = s.next_seq++;
        w.ready = ready[i];
        w.in = in[i];
        s.walks.push_back(std::move(w));
    }
    s.learn();
    s.batch = &mem;
    const bool ok = s.run_out(s.next_seq);
    s.batch = nullptr;
    out->clear();
    for (const WalkRec &w : s.walks)
        out->push_back(w.out);
    return ok;
}

}  // namespace ims
