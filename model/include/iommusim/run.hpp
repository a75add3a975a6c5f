// A trace run through the timing model: the trace player (a TLM initiator),
// the statistics it gathers, and the report printers (text, JSON, CSV).
#ifndef IMS_RUN_HPP
#define IMS_RUN_HPP

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "iommusim/atc.hpp"
#include "iommusim/tlm.hpp"

#include "iommusim/outfile.h"
#include "iommusim/replay.h"
#include "iommusim/trace.h"

namespace ims {

// Latency histogram: exact below 1024 cycles, then 64 sub-buckets per power
// of two (relative error under 1.6%). Percentiles are bucket lower bounds.
//
// Sparse = false: all 4,480 buckets (35 KB) from the start, the fastest add;
// for the run-wide histograms. Sparse = true: buckets in chunks of 64,
// allocated when a sample first lands in one: 280 bytes plus 512 bytes per
// chunk in use, so a trace of 65,535 devices that each make a few DMAs costs
// about 1 KB per device, not 35 KB; for the per-device histograms.
template <bool Sparse> class BasicLatHist {
public:
    BasicLatHist()
    {
        m_slot.fill(0);
        if (!Sparse)
            m_b.assign(kBuckets, 0);
    }
    void add(Cycles v)  // inline: three per request
    {
        m_count++;
        m_sum += v;
        if (!Sparse) {
            if (__builtin_expect(v < kExact, 1))
                m_b[v]++;  // min and max come from the exact buckets when needed
            else
                add_slow(v);
            return;
        }
        if (__builtin_expect(v < kExact, 1)) {
            const std::uint32_t s = m_slot[v >> kChunkBits];
            if (__builtin_expect(s != 0, 1)) {
                m_b[(std::size_t{s - 1} << kChunkBits) | (v & (kChunk - 1))]++;
                return;
            }
        }
        add_slow(v);  // a new chunk, or a value >= kExact
    }
    std::uint64_t count() const { return m_count; }
    std::uint64_t sum() const { return m_sum; }
    Cycles min() const;
    Cycles max() const;
    double mean() const { return m_count ? static_cast<double>(m_sum) / static_cast<double>(m_count) : 0.0; }
    // Smallest value v with at least p * count samples <= v (p in [0, 1]).
    Cycles percentile(double p) const;
    // Counts in power-of-two ranges [2^k, 2^(k+1)) (and [0, 1)), for display.
    std::vector<std::uint64_t> log2_counts() const;
    // The samples added since `earlier`, a copy of this histogram taken then
    // (interval sampling; !Sparse only). Its max is exact when it is this
    // histogram's max (the run-wide maximum was reached in between) or below
    // 1024 cycles, else the lower bound of its bucket.
    BasicLatHist minus(const BasicLatHist &earlier) const;

    static constexpr std::size_t kExact = 1024;  // exact buckets for 0..1023
    static constexpr unsigned kSubBits = 6;      // 64 sub-buckets per power of two above
    static constexpr std::size_t kBuckets = kExact + (64 - 10) * (std::size_t{1} << kSubBits);

private:
    static constexpr unsigned kChunkBits = 6;
    static constexpr std::size_t kChunk = std::size_t{1} << kChunkBits;
    static constexpr std::size_t kChunks = kBuckets / kChunk;
    static_assert(kExact % kChunk == 0 && kBuckets % kChunk == 0, "buckets come in whole chunks");

    static std::size_t index(Cycles v)
    {
        if (v < kExact)
            return static_cast<std::size_t>(v);
        const unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(v));  // >= 10
        const std::size_t sub = static_cast<std::size_t>((v >> (e - kSubBits)) & ((1u << kSubBits) - 1));
        return kExact + (e - 10) * (std::size_t{1} << kSubBits) + sub;
    }
    static Cycles lower(std::size_t i);
    void add_slow(Cycles v);
    std::uint64_t at(std::size_t i) const  // bucket i's count
    {
        if (!Sparse)
            return m_b[i];
        const std::uint32_t s = m_slot[i >> kChunkBits];
        return s ? m_b[(std::size_t{s - 1} << kChunkBits) | (i & (kChunk - 1))] : 0;
    }
    // Sparse: m_slot[c] is 1 + where chunk c (buckets c*64 .. c*64+63) lies
    // in m_b, in units of chunks; 0 = no sample has landed in it yet.
    std::array<std::uint32_t, kChunks> m_slot;
    std::vector<std::uint64_t> m_b;
    std::uint64_t m_count = 0, m_sum = 0;
    Cycles m_large_min = ~Cycles{0}, m_large_max = 0;  // of the values >= kExact
};
using LatHist = BasicLatHist<false>;
using DeviceLatHist = BasicLatHist<true>;

struct DeviceStats {
    std::uint16_t rid = 0;  // the device's own requester id
    std::uint16_t alias = 0; // as the IOMMU sees it
    std::string name;
    std::uint64_t requests = 0, faults = 0, iotlb_hits = 0, mismatches = 0;
    DeviceLatHist latency;  // sparse: a trace may hold 65,535 devices
};

struct RunStats {
    std::uint64_t records = 0, dma_records = 0, bytes = 0;
    std::uint64_t requests_simulated = 0;      // every request, warm-up included (for speed figures)
    std::uint64_t translations = 0, faults = 0, expected_faults = 0;
    std::uint64_t checked = 0, mismatches = 0; // over the whole run, warm-up included
    // Open loop: DMA records whose timestamp lay before the current issue
    // cycle (set by another device's later record) and were issued late, at
    // the current cycle. A device's own timestamps never go back (refused).
    std::uint64_t reordered = 0;
    std::uint64_t warmup_records = 0;          // DMA records excluded as warm-up
    LatHist latency, queue_delay;
    std::vector<DeviceStats> devices;          // in order of first appearance
    // Time, in cycles from 0 (the start of the simulation, which may lie long
    // before the first DMA: a guest's boot). end_cycle: the last completion.
    Cycles first_issue = 0;                    // first DMA request issued (warm-up included)
    Cycles start_cycle = 0;                    // first DMA request issued after warm-up
    Cycles end_cycle = 0;
    bool any_issued = false, measured_issued = false;  // first_issue / start_cycle are set
    // Open loop: every DMA record carried the same timestamp (e.g. all 0).
    bool timestamps_equal = true;
    std::uint64_t first_ts = 0;                // ns, of the first DMA record
    // The memory's counters when warm-up ended (set_memory()), subtracted in the report.
    std::uint64_t mem_accesses0 = 0, mem_cache_hits0 = 0;
    Cycles mem_stall0 = 0;
    std::string first_mismatch;                // for the report
    AtcStats atc;                              // the devices' ATCs (atc.entries > 0), measured phase
    // Page requests (PCIe PRI) of `sm dte pre` devices, whole run (the
    // replay's counts, replay.h), and the latency of each retried part:
    // cycles from its first issue to its retry's completion.
    bool pri_devices = false;                  // such a device was attached
    ims_replay_pri_stats pri{};
    LatHist pri_latency;
};

// Something that makes the numbers misleading, said in the report and the
// JSON. Codes are stable (docs/stats.md).
struct RunWarning {
    std::string code, text;
};

// ---- Interval sampling (`iommusim run --interval`, docs/stats.md "Interval CSV") ----
// The measured phase (warm-up excluded) cut into intervals of `every`
// translations or cycles, each summarised in one row. A translation belongs
// to the interval of its arrival cycle at the IOMMU (arrivals never go back);
// an invalidation to the interval open when it is applied. The player asks
// the sampler before each translation only when sampling is on: with it off,
// the hot path pays one compare of a null pointer.
struct IntervalCfg {
    std::uint64_t every = 0;  // interval length: translations, or cycles with by_cycles; 0: off
    bool by_cycles = false;
};

// One interval's counts. Rates and occupancy are derived when printed; every
// count is a difference of the run's counters, so the rows sum to the totals
// of the run's JSON (the test checks it).
struct IntervalRow {
    std::uint64_t index = 0;        // position of the interval from the measured start (cycles: (start - origin) / every)
    Cycles start = 0, end = 0;      // [start, end), cycles (translations: end = the next interval's first arrival,
                                    // or the run's last completion for the last)
    std::uint64_t translations = 0, faults = 0;
    std::uint64_t iotlb_lookups = 0, iotlb_hits = 0;  // hits: merged misses are not hits (as the JSON)
    std::uint64_t ctx_lookups = 0, ctx_hits = 0;
    std::uint64_t psc_lookups[IMS_MAX_LEVELS + 1] = {}, psc_hits[IMS_MAX_LEVELS + 1] = {};  // levels 2..5
    Cycles lat_p50 = 0, lat_p90 = 0, lat_p99 = 0, lat_max = 0;  // of the interval's translations, cycles
    std::uint64_t walks = 0;
    Cycles walk_cycles = 0;         // walker busy time of the walks started in the interval
    std::uint64_t inv_iotlb = 0, inv_ctx = 0;
};

class IntervalSampler {
public:
    // The counters a row is the difference of.
    struct Snap {
        ims_stats core{};
        IommuTimingStats timing{};
        std::uint64_t translations = 0, faults = 0;
        LatHist latency;
    };
    explicit IntervalSampler(const IntervalCfg &cfg) : m_cfg(cfg) {}
    // The measured phase starts with these counters (run start, or warm-up end).
    void begin(const Snap &now);
    // Before a translation arriving at cycle t; `now` gives the counters if a
    // boundary is crossed. `counts`: a translation (false: an invalidation at t).
    template <class Now> void before(Cycles t, bool counts, Now &&now)
    {
        if (!m_begun)
            return;
        if (!m_have_origin) {
            if (!counts)
                return;
            m_have_origin = true;
            m_origin = m_start = t;
        } else if (m_cfg.by_cycles ? t - m_start >= m_cfg.every : counts && m_in == m_cfg.every) {
            const Snap s = now();
            const Cycles next = m_cfg.by_cycles ? m_origin + (t - m_origin) / m_cfg.every * m_cfg.every : t;
            close(s, m_cfg.by_cycles ? nominal_end() : t);
            m_start = next;
        }
        m_in += counts;
    }
    // The end of the run: closes the open interval at cycle `end` (the last
    // completion; cycles: the interval's nominal end).
    void finish(const Snap &now, Cycles end);
    const std::vector<IntervalRow> &rows() const { return m_rows; }
    const IntervalCfg &cfg() const { return m_cfg; }

private:
    void close(const Snap &now, Cycles end);
    // Cycles: the open interval's end, start + every (saturating).
    Cycles nominal_end() const { return m_start > ~Cycles{0} - m_cfg.every ? ~Cycles{0} : m_start + m_cfg.every; }
    IntervalCfg m_cfg;
    bool m_begun = false, m_have_origin = false;
    Cycles m_origin = 0, m_start = 0;
    std::uint64_t m_in = 0;  // translations in the open interval
    Snap m_prev;
    std::vector<IntervalRow> m_rows;
};

// Writes the rows as CSV (docs/stats.md, "Interval CSV"), whole or not at
// all; frees out. walkers: walker.count, for the occupancy.
bool interval_csv(const IntervalSampler &s, std::uint32_t walkers, ims_outfile *out, std::string *err);

// Reads a trace and plays it into an Iommu: DMA records become TLM requests
// (split at 4 KiB), control records are applied in order at the current time.
class FuncStage;  // player.pipeline's functional stage (player.cpp)

class TracePlayer : public sc_core::sc_module {

public:
    tlm_utils::simple_initiator_socket<TracePlayer> isock;
    // Translation-only (ATS) requests; traces carry none today, so it idles.
    tlm_utils::simple_initiator_socket<TracePlayer> ats;

    TracePlayer(sc_core::sc_module_name name, const ims_sim_cfg &cfg, const Clock &clk, ims_trace_reader *reader,
                const char *trace_path, ims_replay *replay, Iommu &iommu, bool progress);

    ~TracePlayer() override { m_trans.clear_extension(&m_ext); }  // the payload would free it

    bool failed() const { return !m_error.empty(); }
    const std::string &error() const { return m_error; }
    const RunStats &stats() const { return m_st; }
    // Functional (core) statistics of the measured phase.
    const ims_stats &core_stats() const { return m_core_delta; }
    const IommuTimingStats &timing_stats() const { return m_timing_delta; }
    bool done() const { return m_done; }
    // The memory whose counters warm-up excludes (not owned; without it the
    // report's memory figures cover the whole run).
    void set_memory(const MemTiming *mem) { m_mem = mem; }
    // Interval sampling (before the simulation starts); null: off.
    void set_interval(const IntervalCfg &cfg);
    const IntervalSampler *interval() const { return m_iv; }

private:
    void run();   // the SC_THREAD: play(), then park (tlm.hpp, park_thread)
    void play();  // the whole trace
    bool control(const ims_rec &rec, std::uint64_t index);
    bool dma(const ims_rec &rec, Cycles issue, Cycles *last_done, std::uint64_t index);
    __attribute__((noinline, cold)) bool dma_pri(const ims_rec &rec, Cycles issue, Cycles *last_done,
                                                 std::uint64_t index);
    // dma() with player.pipeline: the parts' translations are read from *at
    // (the functional stage's answers), which it advances.
    void dma_pre(const ims_rec &rec, Cycles issue, const std::uint64_t *&at);

    struct DmaCtx;
    static const ims_xlate *part_xlate(void *ctx, const ims_req *req, unsigned part);
    static void part_seen(void *ctx, const ims_rec *rec, const ims_req *req, const ims_xlate *x, bool ok);
    // Page requests (replay.h, struct ims_replay_dev_ops): the device's
    // sends through the ATC, the descriptor write's time, the retry's issue
    // cycle (docs/timing.md, "Page requests").
    static const ims_xlate *pri_send(void *ctx, const ims_req *req, unsigned part, ims_replay_send how,
                                     ims_replay_held *h);
    static void pri_page_request(void *ctx, ims_replay_held *h, const ims_prq_outcome *o);
    static void pri_answer(void *ctx, const ims_replay_answer *a);
    static void pri_seen(void *ctx, const ims_rec *rec, const ims_req *req, const ims_xlate *x, bool ok);
    static const ims_replay_dev_ops kPriOps;
    __attribute__((noinline, cold)) bool pri_failed(std::uint64_t index);
    Cycles ts_cycles(std::uint64_t ts) const;
    void end_warmup(std::uint64_t index);  // after record `index`
    bool check_ts(const ims_rec &rec, std::uint64_t index, Cycles *issue);
    __attribute__((noinline, cold)) bool ts_error(const ims_rec &rec, std::uint64_t index, std::uint64_t last);
    void note_issue(Cycles issue);
    DeviceStats &device(std::uint16_t rid)  // inline: once per DMA record
    {
        const std::int32_t ix = m_dev_index[rid];
        return __builtin_expect(ix >= 0, 1) ? m_st.devices[static_cast<std::size_t>(ix)] : new_device(rid);
    }
    __attribute__((noinline)) DeviceStats &new_device(std::uint16_t rid);
    void sync(Cycles t);
    sc_core::sc_time time_of(Cycles t);
    void progress(bool force);
    IntervalSampler::Snap interval_snap() const;
    __attribute__((noinline)) void interval_before(Cycles t, bool counts);

    const ims_sim_cfg &m_cfg;
    const Clock &m_clk;
    ims_trace_reader *m_reader;
    std::string m_path;
    ims_replay *m_rp;
    Iommu &m_iommu;
    bool m_progress;
    const MemTiming *m_mem = nullptr;
    IntervalSampler *m_iv = nullptr;        // m_iv_own, or null: sampling off (the hot path tests this)
    std::unique_ptr<IntervalSampler> m_iv_own;
    bool m_warm;              // still in warm-up
    bool m_warm_ended = false;  // warm-up ended (by count or by MARK)
    bool m_done = false;
    std::string m_error;
    RunStats m_st;
    ims_stats m_core_start{}, m_core_delta{};
    IommuTimingStats m_timing_delta{};
    std::vector<std::int32_t> m_dev_index; // rid -> index in m_st.devices, -1 if none
    std::vector<std::uint64_t> m_last_ts;   // rid -> timestamp of its last DMA record (ns)
    Cycles m_max_cycles;                    // the latest issue cycle the model can represent
    std::uint64_t m_warmup_mark = UINT64_MAX; // record index of the `mark warmup-end`, if any
    std::uint64_t m_warm_end_index = UINT64_MAX; // the record after which warm-up ended

    Cycles m_now = 0;                       // current issue cycle (non-decreasing)
    Cycles m_sync_until = 0;                // sync(): no wait needed up to this cycle
    Cycles m_time_cycle = 0;                // time_of(): the last cycle converted
    sc_core::sc_time m_time;                // and its time
    std::vector<unsigned char> m_data;      // payload buffer (data is not modelled)
    tlm::tlm_generic_payload m_trans;       // reused for every request
    ReqExt m_ext;
    double m_wall_start = 0;
    std::uint64_t m_next_progress = 0;      // record count of the next progress check
    std::unique_ptr<Atc> m_atc;             // atc.entries > 0 or scalable mode: the devices' ATCs (null: off, the hot path tests this)
    bool m_pri = false;                     // an `sm dte pre` device was attached: the replay may hold parts
    bool m_map_hints = false;               // iotlb.prefetch_on_map in legacy mode: each map's hint walks are timed
    FuncStage *m_func = nullptr;            // player.pipeline in this run: the core runs there (null: here)

    DmaCtx *m_cur = nullptr;                // the DMA record in dma()
    Cycles m_retry_at = 0;                  // the issue cycle of the group being sent again ...
    unsigned m_retry_k = 0;                 // ... and its parts sent so far
    double m_last_progress = 0;             // wall time of the last progress line
};

// Where a run came from, for its JSON (docs/stats.md, "Inputs and
// provenance"). Everything here but the provenance fields is part of the
// result: equal inputs give equal bytes.
struct TraceSummary {
    std::string digest;            // "sha256:" + 64 hex digits of the file's bytes; empty: not a regular file
    std::uint64_t file_bytes = 0;  // bytes of the file as stored (compressed for .itr.zst)
    std::string form;              // "binary", "zstd" or "text"
    std::uint32_t version = 0;     // format version in its header
    std::string creator, source;   // header texts
    int devices = 0, bridges = 0;  // header topology
};
struct RunMeta {
    std::vector<std::string> overrides;  // key=value as applied (--set, or recorded by --config-from), in order
    TraceSummary trace;
    // Provenance: legitimately differs between builds and invocations; one
    // JSON line that scripts/results.sh and scripts/golden.sh drop.
    std::string version, git;          // IMS_VERSION_STRING, IMS_GIT_DESCRIBE
    std::vector<std::string> command;  // the command line, argv[0] = "iommusim"
    std::string config_path;           // the configuration file read (empty with --config-from)
    std::string config_from;           // --config-from FILE, or empty
    bool read_ahead = false;           // the trace was decompressed on a thread of its own (run --read-ahead)
};

// One term of the report: a JSON key path (arrays as [], an object's
// variable keys as <name>) and its one-line meaning. The single table behind
// `iommusim run --explain`; docs/stats.md lists the same keys (a test
// compares them).
// The "schema" of the JSON a run writes; raised when a reader of the old
// layout would misread the new one.
constexpr const char *kRunSchema = "iommusim-run/1";

struct ReportTerm {
    std::string key, text;
};
std::vector<ReportTerm> report_terms();

struct ReportInputs {
    const ims_sim_cfg *cfg;
    const char *trace_path;
    const char *config_name;
    const RunStats *run;
    const ims_stats *core;           // measured phase
    const IommuTimingStats *timing;  // measured phase
    const MemTiming *mem;
    std::uint32_t walkers;
    double wall_seconds;             // text report, and the JSON's provenance line only (the rest is deterministic)
    const RunMeta *meta = nullptr;   // inputs and provenance in the JSON and the text header; none: left out
    const CosimStats *cosim = nullptr;  // walker.impl rtl or lockstep; nullptr with tlm
    bool scalable = false;           // the trace is scalable mode: the JSON has pasid_cache and scalable
};

// The warnings a run's numbers deserve (empty when none), in a fixed order.
std::vector<RunWarning> run_warnings(const ReportInputs &in);
// Fraction of the measured translation latency spent waiting at a stalled
// input or for a walker (0 with no latency): the overload criterion.
double wait_fraction(const RunStats &r, const IommuTimingStats &t);

void report_text(const ReportInputs &in, std::FILE *out);
// Whole-or-nothing writes (iommusim/outfile.h: temp file + rename for regular
// files, written through for devices and FIFOs, "-" for stdout); false with a
// message naming the path on failure. The ims_outfile forms write into an
// output opened before the run (so a bad path fails early) and free it.
bool report_json(const ReportInputs &in, const char *path, std::string *err);
bool report_csv(const ReportInputs &in, const char *path, std::string *err);
bool report_json(const ReportInputs &in, ims_outfile *out, std::string *err);
bool report_csv(const ReportInputs &in, ims_outfile *out, std::string *err);

}  // namespace ims

#endif  // IMS_RUN_HPP
