// The trace player: a TLM initiator that replays a trace into an Iommu.
#include "iommusim/run.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "../trace/iova_remap.h"  // player.iova_remap (AheadReader)

namespace ims {

namespace {
double wall_now()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Cycles between synchronisations with the SystemC kernel (temporal decoupling).
constexpr Cycles kQuantum = 1000000;
constexpr std::size_t kBatch = 4096;
constexpr std::size_t kSegment = 4096;

// ns -> cycles, saturating at UINT64_MAX (the caller refuses what is beyond
// the model's range before it could saturate anything).
Cycles ns_to_cycles(std::uint64_t ns, std::uint32_t mhz)
{
    // 64-bit arithmetic while ns * mhz surely fits (timestamps below ~13
    // days, clocks up to 16 GHz); 128-bit, a library call, beyond.
    if (ns <= UINT64_MAX / 16384 && mhz <= 16384)
        return ns * mhz / 1000u;
    const unsigned __int128 c = static_cast<unsigned __int128>(ns) * mhz / 1000u;
    return c > UINT64_MAX ? UINT64_MAX : static_cast<Cycles>(c);
}

// A timestamp (ns) as an issue cycle: at the clock, divided by
// player.time_scale (80-bit long double: exact for timestamps below 2^64 up
// to the last cycle's rounding); beyond max, some value above it.
inline Cycles ts_to_cycles(std::uint64_t ts, const ims_sim_cfg &cfg, Cycles max)
{
    if (__builtin_expect(cfg.time_scale == 1.0, 1))
        return ns_to_cycles(ts, cfg.clock_mhz);
    // player.time_scale: every timestamp, and so every inter-arrival time,
    // divided by the scale.
    const long double c = static_cast<long double>(ts) * cfg.clock_mhz / 1000.0L / cfg.time_scale;
    return c >= static_cast<long double>(max) ? max + 1 : static_cast<Cycles>(c);
}
}  // namespace

namespace {
// The message of a control record the replay refused (err: its reason).
std::string refused(const std::string &path, std::uint64_t index, const ims_rec &rec, const char *err)
{
    char msg[512];
    std::snprintf(msg, sizeof msg, "%s: record %" PRIu64 " (%s): %s", path.c_str(), index,
                  ims_rec_kind_name(rec.kind) ? ims_rec_kind_name(rec.kind) : "?", err);
    return msg;
}
}  // namespace

// player.pipeline (docs/performance.md, "The functional core ahead of the
// timing"): in open loop every record reaches the core in file order,
// whatever the timing makes of it, so the reader's thread runs the core over
// each batch as it is read (the control records' table and cache updates;
// each DMA part's translation, its check against the recording and the
// fault drain) and leaves the answers with the batch. The simulation thread
// then times them (Iommu::set_precomputed) and touches neither the core,
// nor the replay, nor the memory's contents.
struct FuncBatch {
    std::vector<std::uint64_t> out;  // per DMA part, in order: a PartOut and its words ...
    std::size_t used = 0;            // ... in out[0, used) (out only grows: no zeroing per batch)
    long stop_at = -1;               // a record the replay refused (its index in the batch) ...
    std::string err;                 // ... and the message control() gives for it
    // The next n words of out, appended (out grows by doubling, never shrinks).
    std::uint64_t *append(std::size_t n)
    {
        const std::size_t at = used;
        used += n;
        if (used > out.size())
            out.resize(std::max(used, 2 * out.size()));
        return out.data() + at;
    }
};
// One DMA part in FuncBatch::out: this head, then (each rounded up to whole
// words) the translation (ims_xlate up to its n_reads reads), n_writes
// fault-record write addresses, and the prefetch log if has_pf.
struct PartOut {
    ims_req req;
    std::uint32_t x_bytes;
    std::uint16_t n_writes;
    std::uint8_t ok, has_pf;
};
constexpr std::size_t words(std::size_t bytes) { return (bytes + 7) / 8; }
constexpr std::size_t kXlateHead = offsetof(ims_xlate, reads);
// A prefetch log in FuncBatch::out: its count and its n walks, not the
// unused rest (a miss's, after its PartOut; a map hint's, for its MAP record).
std::size_t pf_bytes(const ims_pf_log &pf) { return offsetof(ims_pf_log, w) + pf.n * sizeof pf.w[0]; }
void pf_put(std::uint64_t *p, const ims_pf_log &pf) { std::memcpy(p, &pf, pf_bytes(pf)); }
const std::uint64_t *pf_get(const std::uint64_t *p, ims_pf_log &pf)
{
    std::memcpy(&pf.n, p, sizeof pf.n);
    std::memcpy(&pf, p, pf_bytes(pf));
    return p + words(pf_bytes(pf));
}

class FuncStage {
public:
    FuncStage(Iommu &iommu, ims_replay *rp, const ims_sim_cfg &cfg, const std::string &path)
        : m_iommu(iommu), m_core(ims_replay_iommu(rp)), m_rp(rp), m_cfg(cfg), m_path(path), m_warm(cfg.warmup > 0)
    {
    }
    // The core over records [0, n) of the next batch, in order. Returns
    // the records it ran, fewer than n once the batch's answers
    // reach kMaxWords (a batch of large DMA records would otherwise hold
    // hundreds of MB: 1 MiB records are 256 parts each) or when record
    // b.stop_at was refused (then nothing after it ran, and none must).
    long run(const ims_rec *recs, long n, FuncBatch &b)
    {
        b.used = 0;
        b.stop_at = -1;
        for (long k = 0; k < n; k++) {
            const ims_rec &rec = recs[k];
            if (rec.kind == IMS_REC_DMA) {
                m_dma++;
                const unsigned parts = ims_replay_dma_parts(&rec);
                for (unsigned i = 0; i < parts; i++)
                    part(rec, i, b);
                if (m_warm && m_dma >= m_cfg.warmup)  // TracePlayer::run's rule
                    end_warmup();
                m_index++;
                if (b.used >= kMaxWords)
                    return k + 1;
                continue;
            }
            if (!control(rec, b)) {
                b.stop_at = k;
                b.err = m_err;
                return k + 1;
            }
            m_index++;
        }
        return n;
    }
    static constexpr std::size_t kMaxWords = std::size_t{1} << 17;  // 1 MiB of answers a batch (about 10,000 parts)

    // The core's statistics when warm-up ended (TracePlayer::end_warmup), and
    // the index of the record after which it did (UINT64_MAX: not yet).
    const ims_stats &warm_stats() const { return m_warm_stats; }
    std::uint64_t warm_index() const { return m_warm_index; }

private:
    // TracePlayer::control's calls of the core.
    bool control(const ims_rec &rec, FuncBatch &b)
    {
        switch (rec.kind) {
        case IMS_REC_INV_IOTLB:
            ims_inv_iotlb(m_core, static_cast<ims_inv_gran>(rec.gran), rec.did, rec.iova, rec.am,
                          (rec.flags & IMS_RECF_IH) != 0);
            return true;
        case IMS_REC_INV_CTX:
            ims_inv_context(m_core, static_cast<ims_inv_gran>(rec.gran), rec.did, rec.rid, rec.fm);
            return true;
        case IMS_REC_MARK:
            if (!std::strcmp(rec.label, "warmup-end"))
                end_warmup();
            return true;
        default:
            break;
        }
        char err[256];
        err[0] = '\0';
        if (ims_replay_control(m_rp, &rec, err, sizeof err) == 0) {
            // A map's hint walks (iotlb.prefetch_on_map), for the simulation
            // thread to time at the map's cycle (TracePlayer::run).
            if (__builtin_expect(m_hints && rec.kind == IMS_REC_MAP, 0)) {
                const ims_pf_log &pf = *ims_iommu_pf_log(m_core);
                pf_put(b.append(words(pf_bytes(pf))), pf);
            }
            return true;
        }
        m_err = refused(m_path, m_index, rec, err);
        return false;
    }
    // ims_replay_dma_loop's work for part i, but the timing.
    void part(const ims_rec &rec, unsigned i, FuncBatch &b)
    {
        PartOut h;
        ims_replay_dma_req(m_rp, &rec, i, &h.req);
        ims_xlate &x = m_x;
        m_iommu.functional(h.req, x);
        h.ok = ims_replay_check(m_rp, &rec, &h.req, &x);
        if (x.flags & IMS_XLATE_FAULT_RECORDED)
            ims_replay_fault_recorded(m_rp);
        // The timing reads the prefetch log after a walk only (Iommu::translate).
        const ims_pf_log *pf = (x.flags & IMS_XLATE_WALKED) ? ims_iommu_pf_log(m_core) : nullptr;
        const std::vector<std::uint64_t> &w = m_iommu.fault_writes();
        h.x_bytes = static_cast<std::uint32_t>(kXlateHead + x.n_reads * sizeof x.reads[0]);
        h.n_writes = static_cast<std::uint16_t>(w.size());  // (at most a few per translation)
        h.has_pf = pf != nullptr;
        std::uint64_t *p = b.append(words(sizeof h) + words(h.x_bytes) + w.size() + (pf ? words(pf_bytes(*pf)) : 0));
        std::memcpy(p, &h, sizeof h);
        p += words(sizeof h);
        std::memcpy(p, &x, h.x_bytes);
        p += words(h.x_bytes);
        if (!w.empty())
            std::memcpy(p, w.data(), w.size() * sizeof w[0]);
        p += w.size();
        if (pf)
            pf_put(p, *pf);
    }
    void end_warmup()
    {
        if (m_warm_ended)
            return;
        m_warm_ended = true;
        m_warm = false;
        m_warm_stats = *ims_iommu_stats(m_core);
        m_warm_index = m_index;
    }

    Iommu &m_iommu;
    ims_iommu *m_core;
    ims_replay *m_rp;
    const ims_sim_cfg &m_cfg;
    std::string m_path;
    std::string m_err;
    std::uint64_t m_index = 0;  // trace index of the record being run
    std::uint64_t m_dma = 0;    // DMA records so far
    bool m_warm, m_warm_ended = false;
    const bool m_hints = m_cfg.iommu.iotlb_prefetch_on_map;  // (the stage runs legacy-mode traces only)
    std::uint64_t m_warm_index = UINT64_MAX;
    ims_stats m_warm_stats{};
    ims_xlate m_x{};
};

TracePlayer::TracePlayer(sc_core::sc_module_name name, const ims_sim_cfg &cfg, const Clock &clk,
                         ims_trace_reader *reader, const char *trace_path, ims_replay *replay, Iommu &iommu,
                         bool progress)
    : sc_module(name),
      isock("isock"),
      ats("ats"),
      m_cfg(cfg),
      m_clk(clk),
      m_reader(reader),
      m_path(trace_path),
      m_rp(replay),
      m_iommu(iommu),
      m_progress(progress),
      m_warm(cfg.warmup > 0),
      m_dev_index(65536, -1),
      m_last_ts(65536, 0),
      m_max_cycles(clk.max_cycles()),
      m_data(4096)
{
    // Devices named in the trace's topology appear in the report even if idle.
    const ims_trace_hdr *h = ims_trace_header(reader);
    for (int i = 0; i < h->topo.n_devices; i++)
        device(h->topo.devices[i].bdf).name = h->topo.devices[i].name;
    m_trans.set_extension(&m_ext);
    m_trans.set_data_ptr(m_data.data());
    m_trans.set_byte_enable_ptr(nullptr);
    m_trans.set_dmi_allowed(false);
    // Devices with TT = device TLB get an ATC (iommusim/atc.hpp); in scalable
    // mode also with atc.entries = 0, for the `sm dte pre` devices (PCIe PRI:
    // an ATC that holds nothing). Their held parts go through kPriOps.
    if (cfg.atc_entries || h->scalable)
        m_atc.reset(new Atc(cfg, iommu, isock, ats, h->scalable));
    ims_replay_set_dev_ops(replay, &kPriOps, this);
    m_map_hints = cfg.iommu.iotlb_prefetch_on_map && !h->scalable;  // (ims_iommu_map_hint: legacy mode only)
    SC_HAS_PROCESS(TracePlayer);
    SC_THREAD(run);
}

// The first record of device `rid`: its row in the report.
DeviceStats &TracePlayer::new_device(std::uint16_t rid)
{
    std::int32_t &ix = m_dev_index[rid];
    ix = static_cast<std::int32_t>(m_st.devices.size());
    DeviceStats d;
    d.rid = rid;
    d.alias = ims_replay_alias(m_rp, rid);
    m_st.devices.push_back(std::move(d));
    return m_st.devices.back();
}

// Ends warm-up: statistics restart here. Called after player.warmup DMA
// records, or at a `mark warmup-end` record (at most once).
void TracePlayer::end_warmup(std::uint64_t index)
{
    if (m_warm_ended)
        return;
    m_warm_ended = true;
    m_warm = false;
    m_warm_end_index = index;
    // (player.pipeline: the core is the stage's, which took them at this record)
    m_core_start = m_func ? m_func->warm_stats() : *ims_iommu_stats(ims_replay_iommu(m_rp));
    m_iommu.reset_timing_stats();
    if (m_mem) {
        m_st.mem_accesses0 = m_mem->accesses();
        m_st.mem_cache_hits0 = m_mem->cache_hits();
        m_st.mem_stall0 = m_mem->stall_cycles();
    }
    m_st.warmup_records = m_st.dma_records;
    m_st.bytes = m_st.translations = m_st.faults = m_st.expected_faults = 0;
    m_st.latency = LatHist();
    m_st.queue_delay = LatHist();
    for (DeviceStats &d : m_st.devices) {
        d.requests = d.faults = d.iotlb_hits = d.mismatches = 0;
        d.latency = DeviceLatHist();
    }
    m_st.measured_issued = false;  // the next DMA request issued starts the measured span
    if (m_atc)
        m_atc->reset_stats();
    if (m_iv)
        m_iv->begin(interval_snap());
}

// Records the issue cycle of a DMA record's first request: the first of the
// run, and the first of the measured phase.
void TracePlayer::note_issue(Cycles issue)
{
    if (!m_st.any_issued) {
        m_st.any_issued = true;
        m_st.first_issue = issue;
    }
    if (!m_warm && !m_st.measured_issued) {
        m_st.measured_issued = true;
        m_st.start_cycle = issue;
    }
}

// A DMA record's timestamp: never before the same device's previous DMA
// record (the rule `trace validate` checks), and, in the open loop, within
// what the model can represent. Sets *issue (open loop: the cycle of its
// timestamp). False with m_error naming the record otherwise.
inline bool TracePlayer::check_ts(const ims_rec &rec, std::uint64_t index, Cycles *issue)
{
    std::uint64_t &last = m_last_ts[rec.rid];
    if (__builtin_expect(rec.ts < last, 0))
        return ts_error(rec, index, last);
    last = rec.ts;
    if (m_cfg.player_mode != IMS_PLAYER_OPEN)
        return true;
    const Cycles ts = ts_to_cycles(rec.ts, m_cfg, m_max_cycles);
    if (__builtin_expect(ts > m_max_cycles, 0))
        return ts_error(rec, index, last);
    m_st.timestamps_equal &= rec.ts == m_st.first_ts || m_st.dma_records == 1;
    if (m_st.dma_records == 1)  // (counted already)
        m_st.first_ts = rec.ts;
    *issue = ts;
    return true;
}

// check_ts()'s failures: m_error names the record. Returns false.
bool TracePlayer::ts_error(const ims_rec &rec, std::uint64_t index, std::uint64_t last)
{
    char msg[512];
    if (rec.ts < last) {
        char b[IMS_BDF_TEXT_MAX];
        ims_bdf_format(b, sizeof b, rec.rid);
        std::snprintf(msg, sizeof msg,
                      "%s: record %" PRIu64 " (dma): timestamp %" PRIu64 " before the previous dma of %s at %" PRIu64
                      " (a device's timestamps must not decrease; `iommusim trace validate` lists every such record)",
                      m_path.c_str(), index, rec.ts, b, last);
    } else {
        const std::uint64_t max_ns =
            static_cast<std::uint64_t>(static_cast<unsigned __int128>(m_max_cycles) * 1000u / m_cfg.clock_mhz);
        std::snprintf(msg, sizeof msg,
                      "%s: record %" PRIu64 " (dma): timestamp %" PRIu64 " ns is beyond what the model can represent"
                      " at %u MHz (at most %" PRIu64 " ns%s)",
                      m_path.c_str(), index, rec.ts, m_cfg.clock_mhz, max_ns,
                      m_cfg.time_scale == 1.0 ? "" : " once player.time_scale divides it");
    }
    m_error = msg;
    return false;
}

void TracePlayer::sync(Cycles t)
{
    if (t <= m_sync_until)  // time moves only when this thread waits
        return;
    const Cycles now = m_clk.to_cycles(m_clk.now());
    if (t > now + kQuantum)
        wait(m_clk.to_time(t - now));
    m_sync_until = m_clk.to_cycles(m_clk.now()) + kQuantum;
}

// to_time(t) for issue cycles that mostly advance in small steps: adds the
// step to the last result (exact: both are whole cycles).
sc_core::sc_time TracePlayer::time_of(Cycles t)
{
    if (t >= m_time_cycle && t - m_time_cycle < 1024)
        m_time += m_clk.to_time(t - m_time_cycle);
    else
        m_time = m_clk.to_time(t);
    m_time_cycle = t;
    return m_time;
}

void TracePlayer::progress(bool force)
{
    if (!m_progress)
        return;
    if (!force && m_st.records < m_next_progress)
        return;
    m_next_progress = m_st.records + 65536;
    const double now = wall_now();
    if (!force && now - m_last_progress < 0.5)
        return;
    m_last_progress = now;
    const double el = now - m_wall_start;
    std::fprintf(stderr, "\r%s: %" PRIu64 " records, %" PRIu64 " translations, %.1f M/s   ", m_path.c_str(),
                 m_st.records, m_st.requests_simulated, el > 0 ? m_st.requests_simulated / el / 1e6 : 0.0);
    if (force)
        std::fputc('\n', stderr);
}

// One DMA record in flight through ims_replay_dma_loop: what the two
// callbacks below share.
struct TracePlayer::DmaCtx {
    TracePlayer &p;
    DeviceStats &dev;
    Cycles issue;     // cycle of the first part; part i issues at issue + i
    Cycles done_max;  // latest completion so far
};

namespace {
// One request of a DMA record into the run's one payload and extension
// (part_xlate and pri_send).
__attribute__((always_inline)) inline void set_request(tlm::tlm_generic_payload &trans, ReqExt &ext, const ims_req &req,
                                                       std::uint64_t record)
{
    ext.rid = req.rid;
    ext.pasid = req.pasid;
    ext.at = req.at;
    ext.priv = req.priv;
    ext.exec = req.exec;
    ext.record = record;
    trans.set_command(req.access == IMS_PERM_W ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    trans.set_address(req.iova);
    trans.set_data_length(req.size);
    trans.set_streaming_width(req.size);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}
}  // namespace

// Part `part` goes out on the socket in cycle issue + part.
// Both callbacks are inlined into ims_replay_dma_loop (hot: per request).
__attribute__((always_inline)) inline const ims_xlate *TracePlayer::part_xlate(void *vctx, const ims_req *req,
                                                                            unsigned part)
{
    DmaCtx &c = *static_cast<DmaCtx *>(vctx);
    TracePlayer &p = c.p;
    // One payload and extension for the whole run: a payload owns a heap
    // array of extension slots, too dear to build per record.
    tlm::tlm_generic_payload &trans = p.m_trans;
    ReqExt &ext = p.m_ext;
    const Cycles t = c.issue + part;
    if (__builtin_expect(p.m_iv != nullptr, 0))  // --interval: the one test it costs when off
        p.interval_before(t, true);
    p.sync(t);
    set_request(trans, ext, *req, p.m_st.records - 1);  // (counted before the record is played)
    sc_core::sc_time delay = p.time_of(t) - p.m_clk.now();
    if (__builtin_expect(p.m_atc == nullptr, 1) || !p.m_atc->request(trans, ext, *req, delay))
        p.isock->b_transport(trans, delay);
    c.done_max = std::max(c.done_max, t + ext.latency);
    return &ext.xlate;
}

// The statistics of one translated part (checked already: ok).
__attribute__((always_inline)) inline void TracePlayer::part_seen(void *vctx, const ims_rec *recp, const ims_req *reqp,
                                                                  const ims_xlate *xp, bool ok)
{
    DmaCtx &c = *static_cast<DmaCtx *>(vctx);
    TracePlayer &p = c.p;
    RunStats &st = p.m_st;
    DeviceStats &dev = c.dev;
    const ims_rec &rec = *recp;
    const ims_req &req = *reqp;
    const ims_xlate &x = *xp;
    const ReqExt &ext = p.m_ext;
    if (!ok) {
        dev.mismatches++;
        if (st.first_mismatch.empty()) {
            char got[64], want[64];
            if (x.fault)
                std::snprintf(got, sizeof got, "fault 0x%x", x.fault);
            else
                std::snprintf(got, sizeof got, "0x%" PRIx64, x.pa);
            if (rec.flags & IMS_RECF_EXPECT_FAULT)
                std::snprintf(want, sizeof want, "fault 0x%x", rec.reason);
            else
                std::snprintf(want, sizeof want, "0x%" PRIx64, rec.pa);
            char buf[256];
            std::snprintf(buf, sizeof buf, "record %" PRIu64 ": iova 0x%" PRIx64 " -> %s, recorded %s",
                          st.records - 1, req.iova, got, want);
            st.first_mismatch = buf;
        }
    }
    st.requests_simulated++;
    st.translations++;
    st.bytes += req.size;
    dev.requests++;
    if (x.fault) {
        st.faults++;
        dev.faults++;
    }
    if (rec.flags & IMS_RECF_EXPECT_FAULT)
        st.expected_faults++;
    if ((x.flags & IMS_XLATE_IOTLB_HIT) && !ext.merged)  // a merged miss is no hit
        dev.iotlb_hits++;
    st.latency.add(ext.latency);
    st.queue_delay.add(ext.queue_delay);
    dev.latency.add(ext.latency);
}

// Issues one DMA record's parts starting at cycle `issue`, one per cycle.
// index: the record's trace index. False (m_error set) if the replay
// refused it (page requests; then only the out-of-line dma_pri runs).
bool TracePlayer::dma(const ims_rec &rec, Cycles issue, Cycles *last_done, std::uint64_t index)
{
    if (__builtin_expect(m_pri, 0))
        return dma_pri(rec, issue, last_done, index);
    DmaCtx c{*this, device(rec.rid), issue, issue};
    if (__builtin_expect(!m_st.measured_issued, 0))
        note_issue(issue);
    ims_replay_dma_loop(m_rp, &rec, &TracePlayer::part_xlate, &TracePlayer::part_seen, &c);
    m_st.end_cycle = std::max(m_st.end_cycle, c.done_max);
    *last_done = c.done_max;
    return true;
}

void TracePlayer::dma_pre(const ims_rec &rec, Cycles issue, const std::uint64_t *&at)
{
    DmaCtx c{*this, device(rec.rid), issue, issue};
    if (__builtin_expect(!m_st.measured_issued, 0))
        note_issue(issue);
    const unsigned parts = ims_replay_dma_parts(&rec);
    ims_pf_log pf;
    for (unsigned i = 0; i < parts; i++) {
        PartOut h;
        std::memcpy(&h, at, sizeof h);
        at += words(sizeof h);
        std::memcpy(&m_ext.xlate, at, h.x_bytes);  // what Iommu::translate times
        at += words(h.x_bytes);
        Iommu::Precomputed pre;
        pre.writes = at;
        pre.n_writes = h.n_writes;
        at += h.n_writes;
        if (__builtin_expect(h.has_pf, 0)) {
            at = pf_get(at, pf);
            pre.pf = &pf;
        }
        // Without a payload where the IOMMU allows it (Iommu::time_direct:
        // part_xlate's socket call, less the payload and its checks).
        const Cycles t = c.issue + i;
        sync(t);
        m_ext.record = m_st.records - 1;
        if (__builtin_expect(m_iommu.time_direct(t, h.req, pre, m_ext), 1)) {
            c.done_max = std::max(c.done_max, t + m_ext.latency);
        } else {
            m_iommu.precomputed(pre);
            part_xlate(&c, &h.req, i);
        }
        part_seen(&c, &rec, &h.req, &m_ext.xlate, h.ok != 0);
    }
    m_st.end_cycle = std::max(m_st.end_cycle, c.done_max);
}

// dma() once an `sm dte pre` device is attached: a record of such a device

// with a PASID goes to the replay's page request path (replay.h), whose
// device sends are pri_send's; any other as dma() does.
bool TracePlayer::dma_pri(const ims_rec &rec, Cycles issue, Cycles *last_done, std::uint64_t index)
{
    DmaCtx c{*this, device(rec.rid), issue, issue};
    if (!m_st.measured_issued)
        note_issue(issue);
    m_cur = &c;
    ims_replay_set_index(m_rp, index);
    unsigned bad;
    if (!ims_replay_pri_dma(m_rp, &rec, &bad))
        ims_replay_dma_loop(m_rp, &rec, &TracePlayer::part_xlate, &TracePlayer::part_seen, &c);
    m_cur = nullptr;
    m_st.end_cycle = std::max(m_st.end_cycle, c.done_max);
    *last_done = c.done_max;
    return !pri_failed(index);
}

// ---- Page requests (PCIe PRI; replay.h, docs/timing.md "Page requests") ----

const ims_replay_dev_ops TracePlayer::kPriOps = {&TracePlayer::pri_send, &TracePlayer::pri_page_request,
                                                 &TracePlayer::pri_answer, &TracePlayer::pri_seen};

// A part of a PRI record: first sends in cycle issue + part (as part_xlate),
// sends after an answer from m_retry_at, one per cycle. A held part's
// latency is from its first issue to the completion of its last send.
const ims_xlate *TracePlayer::pri_send(void *vctx, const ims_req *req, unsigned part, ims_replay_send how,
                                       ims_replay_held *h)
{
    TracePlayer &p = *static_cast<TracePlayer *>(vctx);
    tlm::tlm_generic_payload &trans = p.m_trans;
    ReqExt &ext = p.m_ext;
    const Cycles t = how == IMS_REPLAY_SEND_ATS ? p.m_cur->issue + part : p.m_retry_at + p.m_retry_k++;
    if (p.m_iv)
        p.interval_before(t, true);
    p.sync(t);
    set_request(trans, ext, *req, h->record);
    sc_core::sc_time delay = p.time_of(t) - p.m_clk.now();
    bool no_access = false;
    if (how == IMS_REPLAY_SEND_UNTRANSLATED || !p.m_atc ||
        !p.m_atc->request(trans, ext, *req, delay, how == IMS_REPLAY_SEND_ATS ? Atc::Send::kHold : Atc::Send::kNormal,
                          &no_access))
        p.isock->b_transport(trans, delay);
    const Cycles done = t + ext.latency;
    if (how == IMS_REPLAY_SEND_ATS) {
        h->t_issue = t;
        h->t_done = done;
        p.m_cur->done_max = std::max(p.m_cur->done_max, done);  // closed loop: the window is free at done
        return &ext.xlate;
    }
    if (how == IMS_REPLAY_SEND_RETRY)
        h->no_access = no_access;
    ext.latency = done - h->t_issue;
    if (how == IMS_REPLAY_SEND_RETRY)
        p.m_st.pri_latency.add(ext.latency);
    p.m_st.end_cycle = std::max(p.m_st.end_cycle, done);
    return &ext.xlate;
}

// The page request reaches the IOMMU at the completion that lacked the
// access; a queued one is in memory once its 32-byte descriptor is written
// (one write on the IOMMU's memory port, timed by the memory model).
void TracePlayer::pri_page_request(void *vctx, ims_replay_held *h, const ims_prq_outcome *o)
{
    TracePlayer &p = *static_cast<TracePlayer *>(vctx);
    h->t_queued = h->t_done;
    if (o->result != IMS_PRQ_QUEUED)
        return;
    std::uint64_t qw[4];
    ims_mem_read(ims_replay_mem(p.m_rp), o->desc_pa, qw, sizeof qw);
    h->t_queued = p.m_iommu.mem_write(h->t_done, o->desc_pa, qw, sizeof qw);
}

// The group's parts are sent again from R = max(now, ready), with ready the
// last descriptor's write plus pri.response_latency and, in the open loop,
// the pgresp's timestamp (an answer of the IOMMU itself: its last
// completion). The player's time moves to R: it never runs backwards.
void TracePlayer::pri_answer(void *vctx, const ims_replay_answer *a)
{
    TracePlayer &p = *static_cast<TracePlayer *>(vctx);
    Cycles r = std::max(p.m_now, a->t_ready);
    if (a->resp) {
        const Cycles lat = p.m_cfg.pri_response_latency;
        r = std::max(r, a->t_ready > p.m_max_cycles - std::min(lat, p.m_max_cycles) ? p.m_max_cycles : a->t_ready + lat);
        if (p.m_cfg.player_mode == IMS_PLAYER_OPEN)
            r = std::max(r, p.ts_cycles(a->resp->ts));
    }
    p.m_retry_at = r;
    p.m_retry_k = 0;
    p.m_now = r;
}

void TracePlayer::pri_seen(void *vctx, const ims_rec *rec, const ims_req *req, const ims_xlate *x, bool ok)
{
    TracePlayer &p = *static_cast<TracePlayer *>(vctx);
    DmaCtx c{p, p.device(rec->rid), 0, 0};
    part_seen(&c, rec, req, x, ok);
}

// A timestamp (ns) as an issue cycle, as check_ts() converts a DMA's
// (player.time_scale included), at most the model's last cycle.
Cycles TracePlayer::ts_cycles(std::uint64_t ts) const
{
    return std::min(ts_to_cycles(ts, m_cfg, m_max_cycles), m_max_cycles);
}

// The replay refused a PRI record (replay.h, ims_replay_error): m_error
// names it. False if it did.
bool TracePlayer::pri_failed(std::uint64_t index)
{
    const char *e = ims_replay_error(m_rp);
    if (!e)
        return false;
    char msg[512];
    std::snprintf(msg, sizeof msg, "%s: record %" PRIu64 " (dma): %s", m_path.c_str(), index, e);
    m_error = msg;
    return true;
}

// Applies a non-DMA record at the current cycle. False (with m_error) if the
// record is impossible.
__attribute__((always_inline)) inline bool TracePlayer::control(const ims_rec &rec, std::uint64_t index)
{
    char err[256];  // written only on failure (zeroing it per record showed in profiles)
    err[0] = '\0';
    if (m_iv && (rec.kind == IMS_REC_INV_IOTLB || rec.kind == IMS_REC_INV_CTX))
        interval_before(m_now, false);
    switch (rec.kind) {
    case IMS_REC_INV_IOTLB:
        m_iommu.invalidate_iotlb(m_now, static_cast<ims_inv_gran>(rec.gran), rec.did, rec.iova, rec.am,
                                 (rec.flags & IMS_RECF_IH) != 0);
        if (__builtin_expect(m_atc != nullptr, 0))  // the device-TLB invalidations that follow (iommusim/atc.hpp)
            m_atc->on_record(rec, rec.rid);
        return true;
    case IMS_REC_INV_CTX:
        m_iommu.invalidate_context(m_now, static_cast<ims_inv_gran>(rec.gran), rec.did, rec.rid, rec.fm);
        return true;
    case IMS_REC_MARK:
        if (!std::strcmp(rec.label, "warmup-end")) {
            if (!m_warm_ended)
                m_warmup_mark = index;
            end_warmup(index);
        }
        return true;
    case IMS_REC_INV_PASID:
        // PASID cache and PASID-based IOTLB: timed, as the legacy kinds are
        // (the core at once; with inv.wait = drain, done after the fills in
        // flight they cover). Device-TLB targets go to the ATC below; in a
        // legacy trace the replay refuses the record.
        if ((rec.target == IMS_PINV_T_PASID_CACHE || rec.target == IMS_PINV_T_PIOTLB) && ims_replay_scalable(m_rp)) {
            if (m_iv)
                interval_before(m_now, false);
            const auto gran = static_cast<ims_pinv_gran>(rec.gran);
            if (rec.target == IMS_PINV_T_PASID_CACHE)
                m_iommu.invalidate_pasid_cache(m_now, gran, rec.did, rec.pasid);
            else
                m_iommu.invalidate_piotlb(m_now, gran, rec.did, rec.pasid, rec.iova, rec.am,
                                          (rec.flags & IMS_RECF_IH) != 0);
            return true;
        }
        [[fallthrough]];
    default:
        if (m_func)  // player.pipeline: the stage replayed it (a refused record stopped the run before)
            return true;
        if (ims_replay_control(m_rp, &rec, err, sizeof err) == 0) {
            if (__builtin_expect(m_map_hints && rec.kind == IMS_REC_MAP, 0)) {  // its hint's walks
                sync(m_now);
                m_iommu.time_map_hint(m_now, *ims_iommu_pf_log(ims_replay_iommu(m_rp)));
            }
            if (__builtin_expect(m_atc != nullptr, 0))  // ATTACH, DETACH: the device's ATC
                m_atc->on_record(rec, ims_replay_alias(m_rp, rec.rid));
            constexpr std::uint32_t kPriAttach = IMS_RECF_SM | IMS_RECF_DTE | IMS_RECF_PRE;
            if (rec.kind == IMS_REC_ATTACH && (rec.flags & kPriAttach) == kPriAttach)
                m_pri = true;  // its DMA records with a PASID may be held (replay.h)
            return true;
        }
        m_error = refused(m_path, index, rec, err);
        return false;
    }
}

namespace {
// Reads the trace on a second thread, a few batches ahead of the simulation
// (zstd decompression and decoding are a good part of the work). Batches
// come out in file order, so results do not depend on thread timing.
// player.iova_remap (iova_remap.h) rewrites each batch here, on this thread,
// so the model thread pays nothing for it (off: one test per batch here).
class AheadReader {
public:
    // func: player.pipeline's stage (run here on each batch), or null.
    AheadReader(ims_trace_reader *r, std::size_t batch, std::size_t depth, std::uint8_t remap, const std::string &path,
                FuncStage *func)
        : m_r(r), m_slots(depth), m_path(path), m_func(func)
    {
        for (Slot &s : m_slots)
            s.recs.resize(batch);
        if (remap)
            open_remap(remap - 1);
        m_thread = std::thread([this] { produce(); });
    }
    ~AheadReader()
    {
        stop();
        ims_remap_free(m_remap);
    }
    // Ends the thread (no batch is read after it). The functional stage
    // then no longer runs: the core is the caller's again.
    void stop()
    {
        if (!m_thread.joinable())
            return;
        {
            std::lock_guard<std::mutex> g(m_mu);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }
    // Next batch: its records and count (0 at the end, -1 on error with
    // *err set), and with a functional stage its answers (*func). Valid
    // until the next call.
    long next(const ims_rec **recs, std::string *err, const FuncBatch **func)
    {
        std::unique_lock<std::mutex> g(m_mu);
        if (m_taken)  // give back the slot handed out last time
            release(g);
        m_cv.wait(g, [this] { return m_filled > 0; });
        Slot &s = m_slots[m_head];
        m_taken = true;
        *recs = s.recs.data();
        *func = m_func ? &s.func : nullptr;
        if (s.n < 0)
            *err = s.err;
        return s.n;
    }

private:
    struct Slot {
        std::vector<ims_rec> recs;
        long n = 0;
        std::string err;
        FuncBatch func;
    };

    void release(std::unique_lock<std::mutex> &)
    {
        m_head = (m_head + 1) % m_slots.size();
        m_filled--;
        m_taken = false;
        m_cv.notify_all();
    }
    // The remap's setup; a failure is the first batch's error. Scalable-mode
    // traces are refused: there a DMA's domain comes from its PASID entry
    // (BIND), first-level mappings are PMAP/PUNMAP by process, and
    // PASID-based invalidations (INV_PASID) carry IOVAs, none of which the
    // remap rewrites, so the mappings would move away from their DMAs.
    void open_remap(int strategy)
    {
        char err[256];
        if (ims_trace_header(m_r)->scalable) {
            m_setup_err = m_path + ": player.iova_remap=" + ims_remap_name(strategy) +
                          ": the IOVA remap handles legacy-mode traces only (MAP, UNMAP, INV_IOTLB and DMA by domain),"
                          " and this trace is in scalable mode (the header says 'mode scalable'): its PASID bindings,"
                          " first-level mappings and PASID-based invalidations would not follow; use"
                          " player.iova_remap=none";
            return;
        }
        m_remap = ims_remap_new(strategy, err, sizeof err);
        if (!m_remap)
            m_setup_err = m_path + ": " + err;
    }
    void produce()
    {
        std::size_t tail = 0;
        if (!m_setup_err.empty()) {  // the first batch carries it
            {
                std::lock_guard<std::mutex> g(m_mu);
                m_slots[0].n = -1;
                m_slots[0].err = m_setup_err;
                m_filled++;
            }
            m_cv.notify_all();
            return;
        }
        for (;;) {
            {
                std::unique_lock<std::mutex> g(m_mu);
                m_cv.wait(g, [this] { return m_stop || m_filled < m_slots.size(); });
                if (m_stop)
                    return;
            }
            Slot &s = m_slots[tail];  // free: only this thread touches it now
            if (!m_rest.empty()) {  // records read before that the stage had no room for
                s.n = static_cast<long>(m_rest.size());
                std::copy(m_rest.begin(), m_rest.end(), s.recs.begin());
                m_rest.clear();
            } else {
                s.n = ims_trace_read(m_r, s.recs.data(), s.recs.size());
                if (s.n < 0)
                    s.err = ims_trace_error(m_r);
                char err[256];
                if (m_remap && s.n > 0 &&
                    ims_remap_apply(m_remap, s.recs.data(), static_cast<std::size_t>(s.n), err, sizeof err)) {
                    s.n = -1;  // err: "record N (map): ...", N counted from the trace's first record
                    s.err = m_path + ": " + err;
                }
            }
            bool last = s.n <= 0;
            if (m_func && s.n > 0) {
                const long ran = m_func->run(s.recs.data(), s.n, s.func);
                if (s.func.stop_at >= 0) {
                    last = true;  // the refused record ends the run: read no further
                } else if (ran < s.n) {
                    m_rest.assign(s.recs.begin() + ran, s.recs.begin() + s.n);  // the next slot's
                }
                s.n = ran;
            }
            {
                std::lock_guard<std::mutex> g(m_mu);
                m_filled++;
            }
            m_cv.notify_all();
            if (last)
                return;
            tail = (tail + 1) % m_slots.size();
        }
    }

    ims_trace_reader *m_r;
    std::vector<Slot> m_slots;
    std::string m_path;
    ims_remap *m_remap = nullptr;  // player.iova_remap; null: none
    FuncStage *m_func;             // player.pipeline; null: off
    std::vector<ims_rec> m_rest;   // read, not yet run by m_func (its batch was full)
    std::string m_setup_err;
    std::size_t m_head = 0, m_filled = 0;
    bool m_taken = false, m_stop = false;
    std::mutex m_mu;
    std::condition_variable m_cv;
    std::thread m_thread;
};
}  // namespace

void TracePlayer::run()
{
    play();
    park_thread();
}

void TracePlayer::play()
{
    m_wall_start = wall_now();
    m_core_start = *ims_iommu_stats(ims_replay_iommu(m_rp));
    if (m_iv && !m_warm)
        m_iv->begin(interval_snap());
    // player.pipeline: where the functional core may run ahead of the timing
    // (open loop; nothing else than the built-in timing sees a request: no
    // ATC or page requests, which exist in scalable mode or with
    // atc.entries; no interval sampling, which reads the core's counters at
    // simulated times; no RTL walker, observer or fault sink).
    std::unique_ptr<FuncStage> func;
    if (m_cfg.pipeline && m_cfg.player_mode == IMS_PLAYER_OPEN && !m_atc && !m_iv &&
        !ims_trace_header(m_reader)->scalable && m_iommu.plain()) {
        func.reset(new FuncStage(m_iommu, m_rp, m_cfg, m_path));
        m_func = func.get();
        m_iommu.set_precomputed(true);
    }
    AheadReader ahead(m_reader, kBatch, 4, m_cfg.iova_remap, m_path, m_func);
    // Closed loop: DMA records between two control records form a segment;
    // inside it each device issues in its own order, limited by its window,
    // and the device that can issue earliest goes next (so time never runs
    // backwards at the IOMMU).
    struct Window {
        std::vector<Cycles> done;  // completion cycles of outstanding requests (ring)
        std::size_t head = 0;
        Cycles last_issue = 0;
        std::vector<ims_rec> queue;
        std::vector<std::uint64_t> qindex;  // the records' trace indices (page requests' messages)
        std::size_t next = 0;
    };
    std::vector<Window> win;
    std::vector<std::int32_t> win_ix(65536, -1);
    std::vector<std::size_t> active;
    std::size_t segment = 0;

    // False when a DMA record was refused (m_error names it: page requests).
    auto flush = [&]() -> bool {
        while (!active.empty()) {
            std::size_t best = 0;
            Cycles best_t = ~Cycles{0};
            for (std::size_t a = 0; a < active.size(); a++) {
                Window &w = win[active[a]];
                Cycles r = std::max(m_now, w.last_issue);
                if (w.done.size() >= m_cfg.window)
                    r = std::max(r, w.done[w.head]);
                if (r < best_t) {
                    best_t = r;
                    best = a;
                }
            }
            Window &w = win[active[best]];
            const std::uint64_t rec_index = w.qindex[w.next];
            const ims_rec &rec = w.queue[w.next++];
            m_now = best_t;
            Cycles done;
            if (__builtin_expect(!dma(rec, m_now, &done, rec_index), 0)) {
                active.clear();
                segment = 0;
                return false;
            }
            w.last_issue = m_now + ims_replay_dma_parts(&rec);
            if (w.done.size() < m_cfg.window) {
                w.done.push_back(done);
            } else {
                w.done[w.head] = done;
                w.head = (w.head + 1) % w.done.size();
            }
            if (w.next == w.queue.size()) {
                w.queue.clear();
                w.qindex.clear();
                w.next = 0;
                active.erase(active.begin() + static_cast<long>(best));
            }
        }
        segment = 0;
        return true;
    };

    std::uint64_t index = 0;
    bool ok = true;
    while (ok) {
        const ims_rec *batch = nullptr;
        const FuncBatch *fb = nullptr;
        std::string rerr;
        const long n = ahead.next(&batch, &rerr, &fb);

        if (n < 0) {
            m_error = rerr;
            break;
        }
        if (n == 0)
            break;
        const std::uint64_t *at = fb ? fb->out.data() : nullptr;  // player.pipeline: the next DMA part's answer
        for (long k = 0; k < n && ok; k++, index++) {
            const ims_rec &rec = batch[k];
            m_st.records++;
            if (rec.kind != IMS_REC_DMA) {
                if (m_cfg.player_mode == IMS_PLAYER_CLOSED && !flush()) {
                    ok = false;
                    break;
                }
                if (__builtin_expect(fb != nullptr && k == fb->stop_at, 0)) {
                    m_error = fb->err;  // the stage's replay refused it
                    ok = false;
                    break;
                }
                ok = control(rec, index);
                if (__builtin_expect(fb != nullptr && m_map_hints && rec.kind == IMS_REC_MAP, 0)) {
                    ims_pf_log pf;  // the stage's hint walks of this map (FuncStage::control)
                    at = pf_get(at, pf);
                    sync(m_now);
                    m_iommu.time_map_hint(m_now, pf);
                }
                continue;
            }

            m_st.dma_records++;
            Cycles ts = 0;
            if (!check_ts(rec, index, &ts)) {
                ok = false;
                break;
            }
            if (m_cfg.player_mode == IMS_PLAYER_OPEN) {
                if (ts < m_now)
                    m_st.reordered++;
                else
                    m_now = ts;
                Cycles done;
                if (fb) {
                    dma_pre(rec, m_now, at);
                } else if (__builtin_expect(!dma(rec, m_now, &done, index), 0)) {
                    ok = false;
                    break;
                }
            } else {
                std::int32_t &ix = win_ix[rec.rid];
                if (ix < 0) {
                    ix = static_cast<std::int32_t>(win.size());
                    win.emplace_back();
                }
                Window &w = win[static_cast<std::size_t>(ix)];
                if (w.queue.empty())
                    active.push_back(static_cast<std::size_t>(ix));
                w.queue.push_back(rec);
                w.qindex.push_back(index);
                if (++segment >= kSegment && !flush()) {
                    ok = false;
                    break;
                }
            }
            if (m_warm && m_cfg.warmup && m_st.dma_records >= m_cfg.warmup) {
                if (m_cfg.player_mode == IMS_PLAYER_CLOSED && !flush()) {
                    ok = false;
                    break;
                }
                end_warmup(index);
            }
            if (m_progress)  // (checked here: one call saved per record)
                progress(false);
        }
    }
    ahead.stop();  // the core is this thread's from here
    if (m_func) {
        m_iommu.set_precomputed(false);
        // The stage took the core's counters where this thread ended warm-up.
        if (m_warm_ended && m_error.empty() && func->warm_index() != m_warm_end_index) {
            char msg[256];
            std::snprintf(msg, sizeof msg,
                          "%s: internal error: player.pipeline ended warm-up at record %" PRIu64
                          ", the timing at record %" PRIu64 " (set player.pipeline=0 and report it)",
                          m_path.c_str(), func->warm_index(), m_warm_end_index);
            m_error = msg;
        }
        m_func = nullptr;
    }
    if (ok && m_error.empty())
        flush();

    if (ok && m_error.empty() && m_pri) {  // a page request group without its pgresp
        char e[512];
        if (ims_replay_finish(m_rp, e, sizeof e) < 0)
            m_error = m_path + ": " + e;
    }
    // Warm-up that covers every DMA record would leave nothing measured:
    // refuse rather than report zeros (or, before, silently everything).
    const bool never_ended = m_warm;  // player.warmup not reached, no mark
    const bool ended_at_end = m_warm_ended && m_st.warmup_records == m_st.dma_records;
    if (m_error.empty() && m_st.dma_records > 0 && (never_ended || ended_at_end)) {
        char msg[512];
        if (m_warmup_mark != UINT64_MAX)
            std::snprintf(msg, sizeof msg,
                          "%s: warm-up covers the whole trace: the `mark warmup-end` at record %" PRIu64
                          " comes after the last of its %" PRIu64 " DMA records; nothing would be measured",
                          m_path.c_str(), m_warmup_mark, m_st.dma_records);
        else
            std::snprintf(msg, sizeof msg,
                          "%s: warm-up covers the whole trace: player.warmup is %" PRIu64 " DMA records and the trace"
                          " has %" PRIu64 "; nothing would be measured (lower player.warmup)",
                          m_path.c_str(), m_cfg.warmup, m_st.dma_records);
        m_error = msg;
    }
    ims_replay_drain_faults(m_rp);
    if (m_iv && m_error.empty())
        m_iv->finish(interval_snap(), m_st.end_cycle);
    ims_stats_sub(&m_core_delta, ims_iommu_stats(ims_replay_iommu(m_rp)), &m_core_start);
    m_timing_delta = m_iommu.timing_stats();
    const struct ims_replay_stats *rs = ims_replay_stats(m_rp);
    m_st.checked = rs->checked;
    m_st.mismatches = rs->mismatches;
    m_st.pri_devices = m_pri;
    m_st.pri = rs->pri;
    if (m_atc)
        m_st.atc = m_atc->stats();
    progress(true);
    m_done = true;
}

// ---- Interval sampling (run.hpp, IntervalSampler) ----

template <bool Sparse> BasicLatHist<Sparse> BasicLatHist<Sparse>::minus(const BasicLatHist &earlier) const
{
    static_assert(!Sparse, "interval sampling diffs the run-wide (dense) histogram");
    BasicLatHist d;
    d.m_count = m_count - earlier.m_count;
    d.m_sum = m_sum - earlier.m_sum;
    std::size_t top = kBuckets, first_large = kBuckets;
    for (std::size_t i = 0; i < kBuckets; i++) {
        d.m_b[i] = m_b[i] - earlier.m_b[i];
        if (d.m_b[i]) {
            top = i;
            if (i >= kExact && first_large == kBuckets)
                first_large = i;
        }
    }
    // min() and max() read the large extremes (values >= 1024) from these.
    if (first_large < kBuckets) {
        d.m_large_min = lower(first_large);
        d.m_large_max = m_large_max > earlier.m_large_max && index(m_large_max) == top ? m_large_max : lower(top);
    }
    return d;
}
template LatHist LatHist::minus(const LatHist &) const;  // (the other members: report.cpp)

// Also at a `mark warmup-end` after rows were made: they were warm-up.
void IntervalSampler::begin(const Snap &now)
{
    m_begun = true;
    m_have_origin = false;
    m_in = 0;
    m_rows.clear();
    m_prev = now;
}

void IntervalSampler::close(const Snap &now, Cycles end)
{
    IntervalRow r;
    r.index = m_cfg.by_cycles ? (m_start - m_origin) / m_cfg.every : m_rows.size();
    r.start = m_start;
    r.end = std::max(end, m_start);
    r.translations = now.translations - m_prev.translations;
    r.faults = now.faults - m_prev.faults;
    const ims_stats &a = now.core, &b = m_prev.core;
    const IommuTimingStats &ta = now.timing, &tb = m_prev.timing;
    // As the report's cache_view(): a lookup merged into a fill in flight is a miss.
    auto hits = [](std::uint64_t h, std::uint64_t merged) { return h - std::min(h, merged); };
    r.iotlb_lookups = a.iotlb.lookups - b.iotlb.lookups;
    r.iotlb_hits = hits(a.iotlb.hits - b.iotlb.hits, ta.merged - tb.merged);
    r.ctx_lookups = a.ctx_cache.lookups - b.ctx_cache.lookups;
    r.ctx_hits = hits(a.ctx_cache.hits - b.ctx_cache.hits, ta.ctx_merged - tb.ctx_merged);
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
        r.psc_lookups[l] = a.psc[l].lookups - b.psc[l].lookups;
        r.psc_hits[l] = hits(a.psc[l].hits - b.psc[l].hits, ta.psc_merged[l] - tb.psc_merged[l]);
    }
    const LatHist h = now.latency.minus(m_prev.latency);
    r.lat_p50 = h.percentile(0.5);
    r.lat_p90 = h.percentile(0.9);
    r.lat_p99 = h.percentile(0.99);
    r.lat_max = h.max();
    r.walks = a.walks - b.walks;
    r.walk_cycles = ta.walk_cycles - tb.walk_cycles;
    r.inv_iotlb = ta.inv_iotlb - tb.inv_iotlb;
    r.inv_ctx = ta.inv_ctx - tb.inv_ctx;
    m_rows.push_back(r);
    m_prev = now;
    m_in = 0;
}

void IntervalSampler::finish(const Snap &now, Cycles end)
{
    if (m_begun && m_have_origin)
        close(now, m_cfg.by_cycles ? nominal_end() : end);
}

void TracePlayer::set_interval(const IntervalCfg &cfg)
{
    m_iv_own.reset(cfg.every ? new IntervalSampler(cfg) : nullptr);
    m_iv = m_iv_own.get();
}

IntervalSampler::Snap TracePlayer::interval_snap() const
{
    IntervalSampler::Snap s;
    s.core = *ims_iommu_stats(ims_replay_iommu(m_rp));
    s.timing = m_iommu.timing_stats();
    s.translations = m_st.translations;
    s.faults = m_st.faults;
    s.latency = m_st.latency;
    return s;
}

// Out of line: only with sampling on.
void TracePlayer::interval_before(Cycles t, bool counts)
{
    m_iv->before(t, counts, [this] { return interval_snap(); });
}

bool interval_csv(const IntervalSampler &s, std::uint32_t walkers, ims_outfile *out, std::string *err)
{
    std::string o = "interval,start_cycle,end_cycle,translations,faults,iotlb_lookups,iotlb_hits,iotlb_hit_rate,"
                    "ctx_lookups,ctx_hits,ctx_hit_rate";
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        o += ",psc_l" + std::to_string(l) + "_lookups,psc_l" + std::to_string(l) + "_hits,psc_l" + std::to_string(l) +
             "_hit_rate";
    o += ",latency_p50,latency_p90,latency_p99,latency_max,walks,walk_cycles,walker_occupancy,inv_iotlb,"
         "inv_context\n";
    char b[256];
    // A rate with nothing to divide is an empty cell, not a misleading 0.
    auto rate = [](std::uint64_t num, std::uint64_t den) {
        if (!den)
            return std::string(",");
        char r[64];
        std::snprintf(r, sizeof r, ",%.6f", static_cast<double>(num) / static_cast<double>(den));
        return std::string(r);
    };
    for (const IntervalRow &r : s.rows()) {
        std::snprintf(b, sizeof b, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, r.index, r.start, r.end,
                      r.translations, r.faults);
        o += b;
        const std::pair<std::uint64_t, std::uint64_t> caches[] = {{r.iotlb_lookups, r.iotlb_hits},
                                                                  {r.ctx_lookups, r.ctx_hits}};
        for (const auto &c : caches) {
            std::snprintf(b, sizeof b, ",%" PRIu64 ",%" PRIu64, c.first, c.second);
            o += b + rate(c.second, c.first);
        }
        for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
            std::snprintf(b, sizeof b, ",%" PRIu64 ",%" PRIu64, r.psc_lookups[l], r.psc_hits[l]);
            o += b + rate(r.psc_hits[l], r.psc_lookups[l]);
        }
        if (r.translations)
            std::snprintf(b, sizeof b, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, r.lat_p50, r.lat_p90, r.lat_p99,
                          r.lat_max);
        else
            std::snprintf(b, sizeof b, ",,,,");
        o += b;
        std::snprintf(b, sizeof b, ",%" PRIu64 ",%" PRIu64, r.walks, r.walk_cycles);
        // (in double: a very long interval times the walkers could wrap 64 bits)
        const double busy = static_cast<double>(r.end - r.start) * walkers;
        if (busy > 0)
            std::snprintf(b + std::strlen(b), sizeof b - std::strlen(b), ",%.6f", static_cast<double>(r.walk_cycles) / busy);
        else
            std::strcat(b, ",");
        o += b;
        std::snprintf(b, sizeof b, ",%" PRIu64 ",%" PRIu64 "\n", r.inv_iotlb, r.inv_ctx);
        o += b;
    }
    char e[1024];
    if (!o.empty() && std::fwrite(o.data(), 1, o.size(), ims_outfile_stream(out)) != o.size()) {
        // The reason is reported by the commit's flush.
    }
    if (ims_outfile_commit(out, e, sizeof e) != 0) {
        *err = e;
        return false;
    }
    return true;
}

}  // namespace ims
