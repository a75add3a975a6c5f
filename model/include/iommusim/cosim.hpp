// Co-simulation of the RTL page walker (rtl/iommusim_walker.sv, verilated
// into the library ims_rtl_walker) with the model.
//
// RtlWalkerSim drives the verilated walker cycle by cycle from C++ (no
// SystemC process: the IOMMU model never waits, so the RTL is ticked inside
// the walk that needs it). It keeps several walks in flight in the RTL as
// the timing model's walker pool does, although the model asks for one
// walk's answer at a time: when a walk arrives whose start lies before the
// cycle the RTL has reached (it ran ahead to answer the previous walk), the
// RTL is restored to its state at the previous walk's start and run again
// with both walks. Walks are presented in arrival order and the RTL
// arbitrates strictly by age, so a later walk never changes an earlier
// one's cycles: every event replayed is checked against the first run.
// Cycles in which the RTL provably cannot change state (active_o low, no
// input due) are skipped unless walker.rtl_skip_idle is off. docs/rtl.md
// explains it with numbers.
//
// Cosim is the Walker (walker.hpp) the IOMMU model uses with walker.impl =
// rtl or lockstep: it makes every walk on the RTL, compares the RTL's
// answer with the C core's (PA, page size, permissions, fault reason and
// the ordered table-read addresses), and, in lockstep, its latency with the
// TLM walker's.
#ifndef IMS_COSIM_HPP
#define IMS_COSIM_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "iommusim/walker.hpp"

namespace ims {

// One walk, as the RTL's request port takes it (docs/rtl.md, "Interfaces").
struct RtlWalkIn {
    std::uint64_t table = 0;  // 4 KiB-aligned table read first
    std::uint64_t iova = 0;
    std::uint16_t did = 0;
    std::uint8_t levels = 4, start = 4;  // table levels (3..5); level of `table`'s entries
    std::uint8_t perm = 3, access = 1;   // accumulated R/W above start; access asked (R 1, W 2)
};

// What the RTL did with it.
struct RtlWalkOut {
    Cycles ready = 0;             // cycle it was presented from (its start, or a later one: arrival order)
    Cycles accept = 0, done = 0;  // cycles of the request and the response handshakes
    std::uint64_t pa = 0;
    std::uint8_t shift = 0, perm = 0, fault = 0;
    std::uint8_t reads = 0;       // as the RTL reports them (rsp_reads_o)
    std::uint8_t nlog = 0;        // reads seen on the memory port (at most kMaxReads kept)
    static constexpr unsigned kMaxReads = 8;
    std::uint64_t read_addr[kMaxReads] = {};
    std::uint8_t read_level[kMaxReads] = {};
    Cycles read_issue[kMaxReads] = {}, read_done[kMaxReads] = {};
};

// Where the RTL's table reads go.
class RtlMemory {
public:
    virtual ~RtlMemory() = default;
    // Read k (0-based) of the walk being made, issued in cycle t: fills the
    // data and the error flag, returns the cycle the response is due (> t).
    virtual Cycles read(Cycles t, std::uint64_t pa, unsigned k, std::uint64_t *data, bool *err) = 0;
};

struct RtlSimCfg {
    unsigned walkers = 4;           // slots in use, 1..RtlWalkerSim::kSlots
    std::uint64_t rsvd = 0;         // ims_iommu_pte_rsvd()
    std::uint8_t sllps = 3;         // IMS_SLLPS_*
    bool skip_idle = true;
    std::string wave;               // FST file to write; empty: none
    Cycles wave_from = 0, wave_to = ~Cycles{0};  // cycles written (inclusive)
    std::uint64_t period_ps = 1000; // clock period, for the waveform's time axis
};

class RtlWalkerSim {
public:
    // Slots of the verilated walker (rtl/CMakeLists.txt: -GNumWalkers).
    static const unsigned kSlots;
    // nullptr with a message on a bad configuration or an unwritable wave file.
    static std::unique_ptr<RtlWalkerSim> create(const RtlSimCfg &cfg, std::string *err);
    ~RtlWalkerSim();
    // Makes one walk: presented to the RTL from cycle `ready` (or from the
    // previous walk's, if that is later: walks enter in arrival order) until
    // the RTL answers it. False if the RTL failed (an assertion, a read from
    // a free slot, no answer): error() says what; the simulator is unusable then.
    // `floor`: no walk made after this one will start before that cycle
    // (the model's request arrivals never go back), so older snapshots can go.
    bool walk(Cycles ready, const RtlWalkIn &in, RtlMemory &mem, RtlWalkOut &out, Cycles floor = 0);

    // Runs every walk still in flight to its end and closes the waveform.
    bool finish();
    // The reference for tests: every walk known in advance (any order of
    // `ready`), made in one forward run with no rollback; `mem` answers the
    // reads of all of them (k: the read's index within its walk, `walk`: its
    // index in `in`). Only on a fresh simulator.
    class BatchMemory {
    public:
        virtual ~BatchMemory() = default;
        virtual Cycles read(std::size_t walk, Cycles t, std::uint64_t pa, unsigned k, std::uint64_t *data,
                            bool *err) = 0;
    };
    bool run_batch(const std::vector<Cycles> &ready, const std::vector<RtlWalkIn> &in, BatchMemory &mem,
                   std::vector<RtlWalkOut> *out);

    const std::string &error() const;
    std::uint64_t cycles_evaluated() const;  // clock cycles the RTL was evaluated
    std::uint64_t cycles_spanned() const;    // the last cycle reached
    std::uint64_t cycles_replayed() const;   // of cycles_evaluated: evaluated again after a rollback
    // Walks presented later than their start because an earlier-arriving
    // walk started later (walks enter in arrival order: rtl_sim.cpp).
    std::uint64_t delayed_entries() const;
    // Walks that started before the oldest snapshot kept (at most kSnapshots,
    // those not before the floor) and entered at its cycle instead, later than asked.
    std::uint64_t late_entries() const;

    // The waveform window may be set while walks are made (e.g. from record
    // numbers): cycles before the latest walk's start are final, later ones not.
    void set_wave_window(Cycles from, Cycles to);

    struct Impl;  // (opaque: rtl_sim.cpp)

private:
    explicit RtlWalkerSim(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m;
};

// The Walker for walker.impl = rtl and lockstep.
class Cosim final : public Walker {
public:
    struct Options {
        std::string wave;            // --wave FILE.fst
        Cycles wave_from = 0, wave_to = ~Cycles{0};            // --wave-cycles A:B
        std::uint64_t rec_from = 0, rec_to = ~std::uint64_t{0}; // --wave-records A:B
        bool by_records = false;
    };
    // nullptr with a message (naming the key) when cfg cannot be co-simulated.
    static std::unique_ptr<Cosim> create(const ims_sim_cfg &cfg, const ims_iommu *core, std::uint64_t period_ps,
                                         const Options &opt, std::string *err);
    void walk(const WalkJob &job, WalkMemory &mem, WalkOutcome &out) override;
    // End of the run: finishes the RTL (waves); false if it failed.
    bool finish();
    // Over the whole run, warm-up included (as the recording check is).
    const CosimStats &stats() const { return m_st; }
    bool failed() const { return !m_error.empty(); }
    const std::string &error() const { return m_error; }

private:
    Cosim(const ims_sim_cfg &cfg, std::unique_ptr<RtlWalkerSim> sim, const Options &opt);
    // True if the RTL and the core disagree (counted, reported).
    bool compare(const WalkJob &job, const RtlWalkOut &r, bool lockstep, Cycles tlm_done);
    const ims_sim_cfg m_cfg;
    std::unique_ptr<RtlWalkerSim> m_sim;
    TlmWalker m_tlm;
    Options m_opt;
    bool m_wave_started = false, m_wave_ended = false;
    Cycles m_last_done = 0;
    CosimStats m_st;
    std::string m_error;
};

}  // namespace ims

#endif  // IMS_COSIM_HPP
