// The cycle-approximate SystemC TLM-2.0 model of the IOMMU.
//
// Thin modules own timing, ports and concurrency; every translation decision
// is made by the C core (ims_translate), never here. Timing follows the
// loosely-timed style with temporal decoupling: a request's latency is
// computed when it arrives, from resource-availability timestamps (walkers,
// IOTLB ports, memory bandwidth and outstanding reads), and returned as the
// b_transport delay annotation. On the trace player's path nothing here
// calls wait(): hits never reach the SystemC scheduler (TimeOrder::sync, a
// memory that waits and nb_transport_fw do: docs/timing.md, "Time order").
// docs/timing.md explains the model.
//
// Contract for initiators: with Iommu::TimeOrder::caller (the default of a
// bare Iommu) requests on an Iommu's target sockets must arrive in
// non-decreasing time (sc_time_stamp() + delay); the trace player ensures it.
// With TimeOrder::sync (ims::VtdIommu's default) the IOMMU itself waits
// until each request's arrival before timing it, so initiators with temporal
// decoupling may arrive in any order (docs/timing.md, "Time order").
// All latencies are IOMMU clock cycles; sc_time is used only at sockets.
#ifndef IMS_TLM_HPP
#define IMS_TLM_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/peq_with_get.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <unordered_map>

#include "iommusim/iommu.h"
#include "iommusim/simcfg.h"
#include "iommusim/walker.hpp"

namespace ims {

// Ends an SC_THREAD's work without ending the thread: it waits for ever.
// Call it where a thread would otherwise return. SystemC 2.3.4 tells
// AddressSanitizer of every switch between coroutine stacks but the last one
// out of a thread that returns, so the sanitizer goes on taking that freed
// stack for the main thread's; LeakSanitizer scans it at exit and crashes
// when the memory has been unmapped ("Tracer caught signal 11",
// docs/fuzzing.md). run_kernel() below mends that range after sc_start(),
// but not for a program that exits inside the simulation or starts the
// kernel itself, so threads park, and run_kernel() names any that returned.
// A parked thread costs nothing: sc_start() still returns when no event is
// left. Its frames are never unwound, though (deleting the module frees the
// stack without running destructors), so park where no local with a
// destructor is alive: after the call that does the work.
[[noreturn]] inline void park_thread()
{
    for (;;)
        sc_core::wait();
}

// Runs the SystemC kernel: sc_core::sc_start() (until no event is left),
// or for `t`. Use it instead of calling sc_start() directly. Afterwards,
// under AddressSanitizer, it tells the sanitizer the main thread's own stack
// again: SystemC 2.3.4's last stack switch back to main() gives none (its
// range reads 0-0), so LeakSanitizer would not scan main()'s stack at exit
// and would report what only that stack still points to. Returns the names
// of the design's SC_THREADs and SC_CTHREADs that have ended by returning
// (they should have parked: park_thread); empty when none has
// (docs/timing.md, "Running the kernel").
[[nodiscard]] std::vector<std::string> run_kernel();
[[nodiscard]] std::vector<std::string> run_kernel(const sc_core::sc_time &t);

// IOMMU clock: conversions between cycles and sc_time. The period is a
// whole number of SystemC time-resolution units (1 ps by default).
// Conversions run several times per request, so sc_time -> cycles divides by
// multiplying with a precomputed reciprocal (exact; see to_cycles), and
// short durations (latencies, a walk's offsets) come from a table instead of
// an out-of-line sc_time::from_value() call.
class Clock {
public:
    explicit Clock(std::uint32_t mhz);
    sc_core::sc_time to_time(Cycles c) const
    {
        return c < kTable ? m_table[c] : sc_core::sc_time::from_value(c * m_period);
    }
    Cycles to_cycles(const sc_core::sc_time &t) const
    {
        // floor(v / p): with m = floor(2^64 / p) the high half of v * m is
        // floor(v / p) or one less; the remainder says which. p = 1 has no
        // 64-bit m and needs no division.
        const std::uint64_t v = t.value();
        if (m_period == 1)
            return v;
        Cycles q = static_cast<Cycles>((static_cast<unsigned __int128>(v) * m_recip) >> 64);
        if (v - q * m_period >= m_period)
            q++;
        return q;
    }
    // The cycle a request annotated with `delay` arrives at.
    Cycles arrival(const sc_core::sc_time &delay) const { return to_cycles(now() + delay); }
    // The latest cycle a request may be issued at: half of what sc_time can
    // represent, the other half left for latencies.
    Cycles max_cycles() const { return ~std::uint64_t{0} / m_period / 2; }
    // The period in SystemC time-resolution units.
    std::uint64_t period() const { return m_period; }
    // sc_time_stamp() without the out-of-line call (hot: several per request).
    const sc_core::sc_time &now() const { return m_ctx->time_stamp(); }

private:
    static constexpr Cycles kTable = 1024;
    std::uint64_t m_period;
    std::uint64_t m_recip;  // floor(2^64 / m_period), for m_period > 1
    sc_core::sc_simcontext *m_ctx;
    std::vector<sc_core::sc_time> m_table;  // to_time(c) for c < kTable
};

// A TLM-2.0 target socket (an ordinary tlm_target_socket<32>, so any
// initiator socket binds to it) whose calls go straight to its owner's
// handlers, named at compile time. simple_target_socket reaches the handler
// through a process object and a member-function pointer, which costs ~25
// instructions a call; the model makes several calls per request.
// Blocking and debug transport, and DMI where the owner offers it (G); a
// non-blocking BEGIN_REQ is answered at once with TLM_COMPLETED (early
// completion, allowed by the base protocol), the latency added to its delay.
// B, D, G: the owner's b_transport, transport_dbg and get_direct_mem_ptr
// (member-function pointers); D and G may be left out (nullptr). N: the
// owner's own nb_transport_fw instead of early completion (nullptr: none).
// NW: the owner's b_transport never calls wait() (the socket's interface is
// then a NeverWaits, which an initiator may test for).
// ignore_at(): a timing-only access (TLM_IGNORE_COMMAND) of `len` bytes that
// arrives in cycle t of `clk`, charged without a payload: true with *done
// the cycle b_transport's annotation would end at, false if the target does
// not offer it (the caller then uses b_transport). A model's own memory
// offers it: the IOMMU makes several such accesses per walk.
struct NeverWaits {
    virtual ~NeverWaits() = default;
    virtual bool ignore_at(const Clock &, Cycles, unsigned, Cycles *) { return false; }
};
struct MayWait {
    virtual ~MayWait() = default;
    virtual bool ignore_at(const Clock &, Cycles, unsigned, Cycles *) { return false; }
};
// The module behind a TargetSocket's interface, for an initiator that may
// treat a target it recognises specially (the IOMMU's direct path counts
// into an ims::DataSink instead of calling it: Iommu::time_direct).
struct SocketOwner {
    virtual ~SocketOwner() = default;
    virtual sc_core::sc_object *owner_object() = 0;
};
template <class M, class = void> struct HasIgnoreAt : std::false_type {};
template <class M> struct HasIgnoreAt<M, std::void_t<decltype(&M::ignore_at)>> : std::true_type {};
template <class M, auto B, auto D = nullptr, auto G = nullptr, auto N = nullptr, bool NW = false>
class TargetSocket : public tlm::tlm_target_socket<32> {
public:
    TargetSocket(const char *name, M &owner) : tlm::tlm_target_socket<32>(name), m_fw(owner, *this)
    {
        bind(m_fw);
    }

private:
    class Fw : public tlm::tlm_fw_transport_if<>,
               public std::conditional_t<NW, NeverWaits, MayWait>,
               public SocketOwner {
    public:
        Fw(M &owner, sc_core::sc_object &sock) : m_owner(owner), m_sock(sock) {}
        sc_core::sc_object *owner_object() override
        {
            if constexpr (std::is_base_of_v<sc_core::sc_object, M>)
                return &m_owner;
            return nullptr;
        }
        void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) override
        {
            (m_owner.*B)(trans, delay);
        }
        tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload &trans, tlm::tlm_phase &phase,
                                           sc_core::sc_time &delay) override
        {
            if constexpr (!std::is_same_v<decltype(N), std::nullptr_t>)
                return (m_owner.*N)(trans, phase, delay);
            if (phase != tlm::BEGIN_REQ) {
                // Every request completes on BEGIN_REQ, so no later phase can come.
                SC_REPORT_ERROR(m_sock.name(), "nb_transport_fw: unexpected phase (requests complete at BEGIN_REQ)");
                return tlm::TLM_COMPLETED;
            }
            (m_owner.*B)(trans, delay);
            phase = tlm::END_RESP;
            return tlm::TLM_COMPLETED;
        }
        bool get_direct_mem_ptr(tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi) override
        {
            if constexpr (!std::is_same_v<decltype(G), std::nullptr_t>)
                return (m_owner.*G)(trans, dmi);
            dmi.allow_none();
            return false;
        }
        unsigned transport_dbg(tlm::tlm_generic_payload &trans) override
        {
            if constexpr (!std::is_same_v<decltype(D), std::nullptr_t>)
                return (m_owner.*D)(trans);
            trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
            return 0;
        }
        bool ignore_at(const Clock &clk, Cycles t, unsigned len, Cycles *done) override
        {
            if constexpr (NW && HasIgnoreAt<M>::value)
                return m_owner.ignore_at(clk, t, len, done);
            return false;
        }

    private:
        M &m_owner;
        sc_core::sc_object &m_sock;
    };
    Fw m_fw;
};

// Payload extension for device requests: who asks, and what happened.
struct ReqExt : tlm::tlm_extension<ReqExt> {
    // In: the requester id the IOMMU sees (already aliased), PASID, AT (PCIe
    // address type). On dma_in: untranslated is translated; translated is
    // checked against the context entry's TT and passes at its own address
    // only with TT = 1 (device TLB), else fault Dh; a translation request is
    // refused (TLM_COMMAND_ERROR_RESPONSE: it belongs on ats_in, which
    // ignores `at`). docs/vtd.md, "TLM-2.0 rules".
    std::uint16_t rid = 0;
    std::uint32_t pasid = IMS_NO_PASID;
    std::uint8_t at = IMS_AT_UNTRANSLATED;
    std::uint8_t priv = 0, exec = 0;  // scalable mode: PASID prefix PMR and ER (ims_req.priv, .exec)
    std::uint64_t record = UINT64_MAX;  // the trace record it came from (for reports), if any
    // Out: the functional result and the latency charged, in cycles.

    ims_xlate xlate{};
    Cycles latency = 0;     // arrival to translated request leaving the IOMMU
    Cycles queue_delay = 0; // of which: waiting for a walker or a full queue
    bool merged = false;    // an IOTLB hit on an entry still being filled (miss merged into a walk)

    tlm::tlm_extension_base *clone() const override { return new ReqExt(*this); }
    void copy_from(const tlm::tlm_extension_base &other) override
    {
        *this = static_cast<const ReqExt &>(other);
    }
};

// Memory timing: latency, bandwidth and an outstanding-read limit, kept as a
// calendar of time buckets so accesses issued out of time order (a later
// request's read that happens before an earlier walk's last read) are
// accounted correctly. Deterministic for a seed. The cost of an access does
// not grow with mem.latency: the outstanding limit is checked against the
// list of accesses in flight (at most a few times mem.outstanding of them
// matter), never bucket by bucket across the latency.
class MemTiming {
public:
    explicit MemTiming(const ims_sim_cfg &cfg);
    // Cycle at which an access of `bytes` issued at cycle t completes.
    // `floor`: no access will ever be issued before this cycle (the caller's
    // current time), so accesses that ended before it can be forgotten.
    Cycles access(Cycles t, std::uint32_t bytes, Cycles floor = 0);
    std::uint64_t accesses() const { return m_accesses; }
    std::uint64_t cache_hits() const { return m_cache_hits; }
    Cycles stall_cycles() const { return m_stall; }
    // Whether access() uses its `floor` argument (long latencies only).
    bool uses_floor() const { return m_long; }

private:
    // Calendar: accesses are recorded where they start; a bucket's reads in
    // flight are the starts of the `span` buckets up to it (span = latency in
    // buckets, per latency class). Short spans (m_long false): a coarse ring
    // of start counts gives a cheap upper bound, and only near the limit are
    // the buckets of the span counted (at most kShortSpan of them). Long
    // spans: the accesses in flight are kept in m_live and counted from there.
    struct Bucket {
        std::uint64_t index = UINT64_MAX; // which time bucket occupies this slot
        std::uint32_t bytes = 0;          // bandwidth used
        std::uint32_t starts[2] = {0, 0}; // short spans: accesses started here, [0] memory, [1] table-read cache hit
    };
    struct Coarse {
        std::uint64_t index = UINT64_MAX;
        std::uint32_t starts = 0;
    };
    struct Live {                         // an access that may still be in flight
        std::uint64_t b;                  // start bucket
        unsigned cls;                     // 0 memory, 1 table-read cache hit
    };
    Bucket &slot(std::uint64_t b);
    // Can an access of class cls start in bucket b? If not, *next is the
    // first bucket after b where it might.
    bool outstanding_ok(std::uint64_t b, unsigned cls, std::uint64_t *next);
    bool outstanding_exact(std::uint64_t b, unsigned cls, std::uint64_t *next);
    std::uint32_t starts_at(std::uint64_t b, unsigned cls) const;
    bool outstanding_short(std::uint64_t b, unsigned cls) const;
    void add_live(std::uint64_t b, unsigned cls, std::uint64_t floor_b);
    std::uint32_t m_latency, m_cache_latency, m_outstanding, m_capacity;
    std::uint64_t m_span[2];  // buckets an access occupies, per class
    std::uint64_t m_back;     // the longer of the two spans
    bool m_long;              // m_back > kShortSpan: the list of accesses in flight is used
    double m_hit_prob;
    std::uint64_t m_rng;
    std::vector<Bucket> m_cal;     // a power of two in size, at least 4 * m_back
    std::vector<Coarse> m_coarse;  // m_cal.size() / 64
    std::size_t m_cal_mask, m_coarse_mask;  // their sizes minus one
    std::vector<Live> m_live;      // sorted by start bucket, from m_live_head
    std::size_t m_live_head = 0;
    std::vector<std::pair<std::uint64_t, int>> m_events;  // outstanding_exact's scratch
    Bucket m_full;
    std::uint64_t m_accesses = 0, m_cache_hits = 0;
    Cycles m_stall = 0;
};

// Simulated memory as a TLM target: functional data from an ims_mem, timing
// from MemTiming. Serves page-table reads and fault-record writes. Offers
// read-only DMI, one backed 4 KiB frame per region, and revokes a frame's
// region when the ims_mem frees that frame.
class Memory : public sc_core::sc_module {
    // (Declared first: the socket type names them.)
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    unsigned transport_dbg(tlm::tlm_generic_payload &trans);
    bool get_direct_mem_ptr(tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi);

public:
    TargetSocket<Memory, &Memory::b_transport, &Memory::transport_dbg, &Memory::get_direct_mem_ptr, nullptr, true> tsock;

    Memory(sc_core::sc_module_name name, const ims_sim_cfg &cfg, const Clock &clk);
    // The backing memory; it must not free frames (ims_mem_zero_page) once
    // this module is gone.
    void bind_backing(ims_mem *mem);
    const MemTiming &timing() const { return m_timing; }
    // A TLM_IGNORE_COMMAND access at cycle t of `clk` without a payload (the
    // socket's NeverWaits::ignore_at): what b_transport charges, in cycles.
    // False (use b_transport) without backing memory or on another clock.
    bool ignore_at(const Clock &clk, Cycles t, unsigned len, Cycles *done)
    {
        if (__builtin_expect(!m_mem || clk.period() != m_clk.period(), 0))
            return false;
        // Nothing arrives before the current time (delays are never negative).
        const Cycles now = m_timing.uses_floor() ? m_clk.to_cycles(m_clk.now()) : 0;
        *done = m_timing.access(t, std::max(m_access_bytes, len), now);
        return true;
    }

private:
    __attribute__((noinline)) void access(tlm::tlm_generic_payload &trans);
    __attribute__((noinline, cold)) void access_bytes(tlm::tlm_generic_payload &trans);
    static void frame_freed(void *ctx, std::uint64_t pa);
    const Clock &m_clk;
    ims_mem *m_mem = nullptr;
    bool m_dmi_granted = false;  // revocations are sent only after a grant
    std::uint32_t m_latency;
    std::uint32_t m_access_bytes;
    MemTiming m_timing;
};

// Where translated DMA goes in a standalone run: counts bytes, costs nothing.
class DataSink : public sc_core::sc_module {
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);

public:
    TargetSocket<DataSink, &DataSink::b_transport> tsock;
    explicit DataSink(sc_core::sc_module_name name);
    std::uint64_t bytes() const { return m_bytes; }
    std::uint64_t requests() const { return m_requests; }
    // What b_transport does with a request of `bytes` bytes (Iommu::time_direct).
    void count(std::uint64_t bytes)
    {
        m_requests++;
        m_bytes += bytes;
    }

private:
    std::uint64_t m_bytes = 0, m_requests = 0;
};

// Timing statistics of the IOMMU model (the C core keeps the functional ones).
struct IommuTimingStats {
    std::uint64_t requests = 0;
    std::uint64_t walks = 0;
    // Lookups that found an entry still being filled by a walk or a context
    // read in flight: the core counts them as hits; they are misses merged
    // into that fill (as a cache counts an MSHR hit), and the report says so.
    std::uint64_t merged = 0;        // IOTLB
    std::uint64_t ctx_merged = 0;    // context cache
    std::uint64_t psc_merged[IMS_MAX_LEVELS + 1] = {};  // paging-structure caches, by level
    Cycles walk_cycles = 0;          // sum of walk durations (walker busy time)
    Cycles queue_cycles = 0;         // sum of waits for a walker
    Cycles queue_max = 0;
    std::uint64_t queued = 0;        // walks that had to wait
    Cycles input_stall_cycles = 0;   // sum of request waits at a stalled input
    // Invalidation commands: inv_iotlb counts IOTLB and PASID-based IOTLB
    // ones, inv_ctx context-cache and PASID-cache ones (the core counts each
    // kind apart: ims_stats.sm).
    std::uint64_t inv_iotlb = 0, inv_ctx = 0;
    Cycles inv_cycles = 0;           // sum of invalidation completion latencies
    std::uint64_t fault_writes = 0;
};

// Sees every second-level walk the model performs, in order, with its
// inputs, the table reads the core made and the result, once its timing is
// fixed. (A walker that supplies the timing itself is a Walker: walker.hpp.)
class WalkObserver {
public:
    virtual ~WalkObserver() = default;
    // start: cycle the walker was granted; done: cycle the result is ready.
    virtual void on_walk(const ims_req &req, const ims_xlate &x, Cycles start, Cycles done) = 0;
};

// Sees the faults of requests that arrived through the IOMMU's sockets (a
// fault-recording register model: vtd_regs.hpp).
class FaultSink {
public:
    virtual ~FaultSink() = default;
    // t: the cycle the request arrived; x.fault != 0 and not FPD-suppressed.
    virtual void on_fault(const ims_req &req, const ims_xlate &x, Cycles t) = 0;
};

class InFlightFills;
class WalkerPool;
class LookupPort;

// The IOMMU: requester-ID lookup + context cache, IOTLB, paging-structure
// caches, walker pool with a bounded queue, fault-queue writer.
class Iommu : public sc_core::sc_module {
    // (Declared first: the socket types name them.)
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    void b_transport_ats(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    unsigned transport_dbg(tlm::tlm_generic_payload &trans);
    tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload &trans, tlm::tlm_phase &phase,
                                       sc_core::sc_time &delay);

public:
    // untranslated device DMA; debug transport translates too, and
    // nb_transport_fw completes through the backward path (docs/vtd.md, "TLM-2.0 rules")
    TargetSocket<Iommu, &Iommu::b_transport, &Iommu::transport_dbg, nullptr, &Iommu::nb_transport_fw> dma_in;
    TargetSocket<Iommu, &Iommu::b_transport_ats> ats_in;  // translation-only (ATS-style) requests
    tlm_utils::simple_initiator_socket<Iommu> dma_out; // translated DMA, to memory
    tlm_utils::simple_initiator_socket<Iommu> mem;     // table reads, fault-record writes

    Iommu(sc_core::sc_module_name name, const ims_sim_cfg &cfg, const Clock &clk);
    ~Iommu() override;

    // The C core reaches memory through these ops (ctx = this): functional
    // accesses go out on the `mem` socket as transport_dbg (no time); the
    // timing pass then re-issues each one as a timed b_transport.
    static const ims_mem_ops kMemOps;
    // The same with read64_err: a table read the memory answers with an error
    // becomes the access-error fault (ims::VtdIommu uses these; docs/vtd.md,
    // "TLM-2.0 rules").
    static const ims_mem_ops kCheckedMemOps;
    // Uses a core created elsewhere (e.g. by the replay engine with kMemOps).
    void bind_core(ims_iommu *core) { m_core = core; }
    ims_iommu *core() const { return m_core; }

    // Translates one request arriving at cycle `t` (non-decreasing). Fills
    // ext.xlate / latency / queue_delay / merged. Used by both sockets.
    void translate(Cycles t, const ims_req &req, ReqExt &ext);

    // ---- The functional core run apart from the timing ----
    // A caller that runs the core itself, in the same order as the requests
    // and invalidations reach this model, but on another thread and ahead of
    // them (the trace player in open loop: docs/performance.md, "The
    // functional core ahead of the timing"), turns precomputed mode on before
    // the simulation starts. Then translate() takes ext.xlate as the core's
    // answer (set by the caller, with the extras below) and times it; the
    // invalidations time theirs without applying them to the core. The
    // caller's thread makes the core's calls through functional() and the
    // ims_inv_* functions; this model's thread then touches neither the core
    // nor its memory.
    struct Precomputed {
        const ims_pf_log *pf = nullptr;         // ims_iommu_pf_log() after the translation (null: none)
        const std::uint64_t *writes = nullptr;  // its fault-record writes (fault_writes())
        unsigned n_writes = 0;
    };
    void set_precomputed(bool on)
    {
        m_pre_on = on;
        m_pre_sm = m_core && ims_iommu_scalable(m_core);  // (read here once: the core is the other thread's)
    }
    // The extras of the next translate() in precomputed mode (copied).
    void precomputed(const Precomputed &p) { m_pre = p; }
    // Precomputed mode without a payload (the trace player's shortcut): times
    // request req, issued in cycle t (not before the current time), whose
    // translation ext.xlate and extras `pre` the caller's core made, as
    // b_transport would, and counts it into the ims::DataSink behind dma_out
    // unless it faulted or crossed its page. Only while nothing could tell
    // the difference: no request in its pass and no time order to keep, a
    // memory that never waits (an ims::Memory), a DataSink on dma_out.
    // False: it did nothing, and the request goes on the socket.
    bool time_direct(Cycles t, const ims_req &req, const Precomputed &pre, ReqExt &ext);
    // Map-time prefetch (iotlb.prefetch_on_map): times the walks a map hint
    // made (the core's ims_iommu_pf_log right after ims_iommu_map_hint) as a
    // miss's prefetch walks are timed, from cycle t (the map record's; not
    // before the current time): docs/timing.md, "IOTLB prefetch".
    void time_map_hint(Cycles t, const ims_pf_log &log);
    // The core's translation of req into x (the caller's thread); the
    // fault-record writes it made are fault_writes() until the next call.
    void functional(const ims_req &req, ims_xlate &x)
    {
        m_writes.clear();
        ims_translate(m_core, &req, &x);
    }
    const std::vector<std::uint64_t> &fault_writes() const { return m_writes; }
    // True when nothing but the built-in timing sees a request (no walker,
    // observer or fault sink attached, translation enabled): what precomputed
    // mode requires.
    bool plain() const { return !m_walker && !m_observer && !m_fault_sink && !m_xlate_off; }

    // Invalidations at cycle t; return the cycle they complete.
    Cycles invalidate_iotlb(Cycles t, ims_inv_gran gran, std::uint16_t did, std::uint64_t addr, std::uint8_t am,
                            bool ih);
    Cycles invalidate_context(Cycles t, ims_inv_gran gran, std::uint16_t did, std::uint16_t sid, std::uint8_t fm);
    // Scalable mode (VT-d 6.5.2.4, 6.5.2.5): PASID-based IOTLB (gran
    // IMS_PINV_PASID or IMS_PINV_PAGE: 2^am pages from addr, ih) and PASID
    // cache (IMS_PINV_GLOBAL, _DOMAIN or _PASID) invalidation of domain did,
    // PASID pasid, with the same ordering as the two above: applied to the
    // core at once; with inv.policy = drain they complete after every fill
    // in flight they cover (docs/timing.md, "Invalidations"). No effect on a
    // core in legacy mode (it completes after inv.latency).
    Cycles invalidate_piotlb(Cycles t, ims_pinv_gran gran, std::uint16_t did, std::uint32_t pasid,
                             std::uint64_t addr, std::uint8_t am, bool ih);
    Cycles invalidate_pasid_cache(Cycles t, ims_pinv_gran gran, std::uint16_t did, std::uint32_t pasid);

    // Not owned; nullptr to detach.
    void set_walk_observer(WalkObserver *obs) { m_observer = obs; }
    // The walker that times (and, rtl, makes) every walk; not owned; nullptr:
    // the built-in TlmWalker.
    void set_walker(Walker *w) { m_walker = w; }

    const IommuTimingStats &timing_stats() const { return m_st; }
    void reset_timing_stats() { m_st = IommuTimingStats{}; }
    std::uint32_t walkers() const;

    // ---- Hookup for a register file (iommusim/vtd_regs.hpp drives the IOMMU through these) ----
    // Translation enable (VT-d GCMD.TE). Off: DMA on dma_in goes on to
    // dma_out at its own address, untranslated, and ATS requests are refused
    // (TLM_COMMAND_ERROR_RESPONSE). On by default: without a register file
    // every request is translated.
    void set_translation_enabled(bool on) { m_xlate_off = !on; }
    bool translation_enabled() const { return !m_xlate_off; }
    // Sees each fault a socket request raised that FPD did not suppress; not owned; nullptr to detach.
    void set_fault_sink(FaultSink *s) { m_fault_sink = s; }
    // Off: the core's fault-ring records (IMS_MEM_FAULT writes) are not sent on `mem`.
    void set_fault_ring_writes(bool on) { m_ring_off = !on; }
    // An access on `mem` the IOMMU makes for itself (invalidation-queue
    // fetches, status and interrupt writes): one b_transport at cycle t that
    // moves the data (its effects, e.g. an interrupt message, are the
    // target's to act on); returns the cycle it completes.
    Cycles mem_read(Cycles t, std::uint64_t pa, void *data, unsigned len);
    Cycles mem_write(Cycles t, std::uint64_t pa, const void *data, unsigned len);
    // SRTP: the root table the core (and debug transport) uses. A register
    // file sets it here; a core whose root was set otherwise (the trace
    // replayer) translates as before, but debug transport on dma_in then
    // answers TLM_GENERIC_ERROR_RESPONSE.
    void set_root_table(std::uint64_t rtaddr);

    // How requests on the target sockets are put in time order
    // (docs/timing.md, "Time order").
    enum class TimeOrder : std::uint8_t {
        caller,  // requests arrive in non-decreasing time: the caller ensures it (the trace player)
        sync,    // a request from a thread is timed when simulated time reaches its arrival
    };
    void set_time_order(TimeOrder o);
    TimeOrder time_order() const { return (m_flags & kSync) ? TimeOrder::sync : TimeOrder::caller; }

    // A target socket for one device that carries no ims::ReqExt: its
    // requests have requester ID rid (and no PASID, untranslated); a ReqExt
    // they carry gives PASID, AT and the results, never the requester ID.
    // Each call makes a new socket (one initiator binds each); call it before
    // elaboration ends (e.g. in the platform's constructor).
    tlm::tlm_target_socket<32> &device_socket(std::uint16_t rid);
    const Clock &clock() const { return m_clk; }

private:
    unsigned debug_access(tlm::tlm_generic_payload &trans, std::uint16_t rid, std::uint32_t pasid, std::uint8_t at);
    ims_iommu *debug_core();
    static void op_discard(void *ctx, std::uint64_t pa, std::uint64_t val, ims_mem_kind kind);
    static const ims_mem_ops kDbgOps;
    ims_iommu *m_dbg_core = nullptr;  // debug transport's translations (debug_core())

    // Device DMA from a socket: requester ID rid, PASID, AT; ext takes the results.
    void dma(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay, std::uint16_t rid, std::uint32_t pasid,
             std::uint8_t at, ReqExt &ext);
    class DevPort;
    friend class DevPort;
    void dev_b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay, std::uint16_t rid);
    unsigned dev_transport_dbg(tlm::tlm_generic_payload &trans, std::uint16_t rid);
    std::vector<std::unique_ptr<DevPort>> m_dev_ports;
    ReqExt m_noext;  // the results of a request that carries no ReqExt

    // Entering the timing pass (one request at a time; a memory may wait()).
    // m_flags: kSync (TimeOrder::sync), kBusy (a request is in its timing
    // pass: m_base_* are valid), kWaiters (a thread waits for it), kMoved
    // (simulated time moved in the pass), kWatch (mem's target may wait():
    // set at end of elaboration unless it is an ims::Memory, a NeverWaits).
    // 0 or kBusy alone is the fast path (the trace player's).
    static constexpr std::uint8_t kSync = 1, kBusy = 2, kWaiters = 4, kMoved = 8, kWatch = 16;
    std::uint8_t m_flags = 0;
    unsigned m_waiters = 0;
    NeverWaits *m_nw_mem = nullptr;  // mem's target if it never waits (its ignore_at: mem_timed)
    sc_core::sc_event m_idle;
    std::uint64_t m_stamp = 0;      // sc_time_stamp() value m_now was taken at
    void enter(sc_core::sc_time &delay)
    {
        if (__builtin_expect(m_flags != 0, 0))
            enter_slow(delay);
        else
            m_flags = kBusy;
    }
    // Returns whether simulated time moved during the pass.
    bool leave()
    {
        if (__builtin_expect(m_flags != kBusy, 0))
            return leave_slow();
        m_flags = 0;
        return false;
    }
    __attribute__((noinline, cold)) bool leave_slow();
    void end_of_elaboration() override;
    __attribute__((noinline, cold)) void enter_slow(sc_core::sc_time &delay);
    __attribute__((noinline, cold)) void time_moved();

    // Non-blocking transport: accepted requests wait in m_peq until their
    // time; nb_thread serves them and answers BEGIN_RESP on the backward path.
    struct NbSrc {
        tlm::tlm_target_socket<32> *sock;
        bool fixed;         // a device socket: rid is its requester ID
        std::uint16_t rid;
    };
    tlm::tlm_sync_enum nb_fw(tlm::tlm_generic_payload &trans, tlm::tlm_phase &phase, sc_core::sc_time &delay,
                             const NbSrc &src);
    void serve(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay, const NbSrc &src);
    void nb_thread();
    tlm_utils::peq_with_get<tlm::tlm_generic_payload> m_peq;
    std::unordered_map<tlm::tlm_generic_payload *, NbSrc> m_nb;
    tlm::tlm_generic_payload *m_resp_open = nullptr;  // BEGIN_RESP sent, END_RESP awaited
    sc_core::sc_event m_end_resp;
    tlm::tlm_generic_payload m_ttrans;  // reused for timed accesses (m_mtrans: functional ones)
    std::uint64_t m_root = 0;
    bool m_root_known = false;
    void translate_at(const sc_core::sc_time &delay, const ims_req &req, ReqExt &ext);
    static std::uint64_t op_read(void *ctx, std::uint64_t pa, ims_mem_kind kind);
    static std::uint64_t op_read_err(void *ctx, std::uint64_t pa, ims_mem_kind kind, bool *error);
    std::uint64_t read_slow(std::uint64_t pa, bool *error);
    void invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end);
    static void op_write(void *ctx, std::uint64_t pa, std::uint64_t val, ims_mem_kind kind);
    Cycles mem_timed(Cycles t, std::uint64_t pa);
    void prefetch_walks(Cycles from, const ims_pf_log &log, Cycles tin);
    Cycles drain(Cycles tin, const ims_inv_scope &scope);
    static void replace_result(const ims_req &req, const WalkOutcome &wo, ims_xlate &x);
    __attribute__((noinline, cold)) Cycles walk_by(Walker *walker, const WalkJob &job, Cycles tin);

    const ims_sim_cfg m_cfg;
    const Clock &m_clk;
    ims_iommu *m_core = nullptr;
    // The timing blocks, each in its own file under model/tlm/: fills in
    // flight (inflight.hpp), the walker pool and the lookup port
    // (walker_pool.hpp); invalidation timing is inv_timing.cpp.
    std::unique_ptr<InFlightFills> m_fills;
    std::unique_ptr<WalkerPool> m_walkers;
    std::unique_ptr<LookupPort> m_port;
    // The timing state from here on is written per request by the
    // simulation thread: on cache lines apart from m_core above and m_dmi
    // below, which the core's thread reads for every table read in
    // precomputed mode (false sharing there cost the 5 M nic run 27 % more
    // CPU time: docs/performance.md, "The timing without a payload").
    alignas(64) Cycles m_input_ready = 0;  // the input is stalled until this cycle

    Cycles m_now = 0;                   // sc_time_stamp() in cycles, during translate()
    // The request being translated arrived through a socket in cycle
    // m_base_cycle, `m_base_delay` after sc_time_stamp(): a table read at
    // cycle t >= m_base_cycle is annotated with m_base_delay + (t -
    // m_base_cycle) cycles. That lands in cycle t (any fraction of a cycle
    // in the arrival carries over and is floored away again) and, the
    // difference being short, needs no sc_time::from_value() call.
    Cycles m_base_cycle = 0;
    sc_core::sc_time m_base_delay;
    bool m_base_lazy = false;     // time_direct's pass: m_base_delay not set (to_time(m_base_cycle) - now)
    DataSink *m_sink = nullptr;   // dma_out's target if it is an ims::DataSink (end_of_elaboration)

    // Functional table reads use DMI where the memory offers it: the host
    // pointers of recently read 4 KiB frames, direct-mapped by frame number
    // (a miss asks the target; a refused frame is read by transport_dbg).
    struct DmiFrame {
        std::uint64_t fn = UINT64_MAX;
        const unsigned char *data = nullptr;
    };
    static constexpr std::size_t kDmiFrames = 256;
    alignas(64) std::vector<DmiFrame> m_dmi;


    // Fault-record writes the core made during the current translation.
    // m_writes and m_mtrans are written by the thread that runs the core (in
    // precomputed mode another one than this model's): on cache lines of
    // their own, away from the timing state (false sharing slows both threads).
    alignas(64) std::vector<std::uint64_t> m_writes;  // their addresses
    tlm::tlm_generic_payload m_mtrans;  // reused for memory accesses
    alignas(64) std::uint64_t m_mdata = 0;
    IommuTimingStats m_st;
    WalkObserver *m_observer = nullptr;
    // The memory port as walkers see it (read_timed is mem_timed).
    class WalkPort final : public WalkMemory {
    public:
        explicit WalkPort(Iommu &o) : m_o(o) {}
        Cycles read_timed(Cycles t, std::uint64_t pa) override { return m_o.mem_timed(t, pa); }
        std::uint64_t read_data(std::uint64_t pa) override { return op_read(&m_o, pa, IMS_MEM_PTE); }

    private:
        Iommu &m_o;
    };
    WalkPort m_walk_port;
    TlmWalker m_tlm_walker;
    Walker *m_walker = nullptr;
    // Register-file hookup (set_translation_enabled and the rest).
    bool m_xlate_off = false;
    bool m_ring_off = false;
    FaultSink *m_fault_sink = nullptr;
    bool m_pre_on = false;  // precomputed mode (set_precomputed)
    bool m_pre_sm = false;  // and the core's mode then
    bool core_scalable() const { return m_pre_on ? m_pre_sm : ims_iommu_scalable(m_core); }
    Precomputed m_pre;
    Cycles mem_own(Cycles t, std::uint64_t pa, void *data, unsigned len, tlm::tlm_command cmd);
    // translate()'s timing of the core's answer x (with pre's extras).
    inline void time_pass(Cycles t, const ims_req &req, const ims_xlate &x, const Precomputed &pre, ReqExt &ext);
    __attribute__((noinline, cold)) void report_fault(const ims_req &req, const ims_xlate &x);
};

}  // namespace ims

#endif  // IMS_TLM_HPP
