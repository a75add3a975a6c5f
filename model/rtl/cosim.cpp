// Cosim: the RTL walker as the model's Walker (cosim.hpp), and the walk-by-
// walk check of the RTL against the C core.
#include "iommusim/cosim.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>

namespace ims {

namespace {

// rtl: the RTL's reads go through the timing model's memory.
class TimedMemory final : public RtlMemory {
public:
    explicit TimedMemory(WalkMemory &m) : m_mem(m) {}
    Cycles read(Cycles t, std::uint64_t pa, unsigned, std::uint64_t *data, bool *err) override
    {
        *data = m_mem.read_data(pa);
        *err = false;  // the timing model's memory never answers a table read with an error
        return m_mem.read_timed(t, pa);
    }

private:
    WalkMemory &m_mem;
};

// lockstep: read k takes as long as the TLM walker's read k took (its
// memory timing, bookings and all, already happened); a read the TLM walk
// did not make (the RTL disagrees: reported) takes mem.latency.
class ReplayedMemory final : public RtlMemory {
public:
    ReplayedMemory(WalkMemory &m, const WalkOutcome &o, unsigned n, Cycles fallback)
        : m_mem(m), m_o(o), m_n(n), m_fallback(fallback)
    {
    }
    Cycles read(Cycles t, std::uint64_t pa, unsigned k, std::uint64_t *data, bool *err) override
    {
        *data = m_mem.read_data(pa);
        *err = false;
        return t + (k < m_n ? m_o.read_done[k] - m_o.read_issue[k] : m_fallback);
    }

private:
    WalkMemory &m_mem;
    const WalkOutcome &m_o;
    unsigned m_n;
    Cycles m_fallback;
};

std::string rid_name(std::uint16_t rid)
{
    char b[16];
    std::snprintf(b, sizeof b, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
    return b;
}

// The RTL's fault (legacy mode's reasons, 7.1) as the scalable-mode reason of
// the same check of a second-level-only walk (flwalk.c sl_walk): an error
// answer SSL.1, reserved bits SSL.3, a denied access SGN.6/7, unless the
// last entry read had neither R nor W (legacy mode reports that as a denied
// access too; scalable mode as SSL.2).
std::uint8_t sm_fault(const RtlWalkOut &r, WalkMemory &mem)
{
    switch (r.fault) {
    case IMS_FR_PAGING_ENTRY_INV:
        return IMS_FR_SM_SL_ERR;
    case IMS_FR_PAGING_ENTRY_RSVD:
        return IMS_FR_SM_SL_RSVD;
    case IMS_FR_WRITE:
    case IMS_FR_READ:
        if (r.nlog && r.nlog <= RtlWalkOut::kMaxReads && !ims_slpte_present(mem.read_data(r.read_addr[r.nlog - 1])))
            return IMS_FR_SM_SL_P;
        return r.fault == IMS_FR_WRITE ? IMS_FR_SM_WRITE : IMS_FR_SM_READ;
    default:
        return r.fault;  // 0, or a code the RTL should never give: compared as it is
    }
}

}  // namespace

Cosim::Cosim(const ims_sim_cfg &cfg, std::unique_ptr<RtlWalkerSim> sim, const Options &opt)
    : m_cfg(cfg), m_sim(std::move(sim)), m_tlm(cfg), m_opt(opt)
{
    m_st.enabled = true;
    m_st.impl = cfg.walker_impl;
}

std::unique_ptr<Cosim> Cosim::create(const ims_sim_cfg &cfg, const ims_iommu *core, std::uint64_t period_ps,
                                     const Options &opt, std::string *err)
{
    RtlSimCfg rc;
    rc.walkers = cfg.walkers;
    rc.rsvd = ims_iommu_pte_rsvd(core);
    rc.sllps = cfg.iommu.caps.sllps;
    rc.skip_idle = cfg.rtl_skip_idle;
    rc.period_ps = period_ps;
    if (!opt.wave.empty()) {
        // Written whole or not at all: to a temporary file beside the target,
        // renamed over it at the end. A symbolic link is followed (the link
        // stays); anything but a regular file is refused (FST needs to seek).
        std::string path = opt.wave;
        struct stat st;
        if (lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
            char *real = realpath(path.c_str(), nullptr);
            if (real) {
                path = real;
                std::free(real);
            }
        }
        if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
            *err = "--wave " + opt.wave + ": not a regular file (an FST waveform is written by seeking)";
            return nullptr;
        }
        rc.wave = path;
        rc.wave_from = opt.by_records ? ~Cycles{0} : opt.wave_from;  // by records: set when the first one comes
        rc.wave_to = opt.by_records ? ~Cycles{0} : opt.wave_to;
    }
    auto sim = RtlWalkerSim::create(rc, err);
    if (!sim)
        return nullptr;
    return std::unique_ptr<Cosim>(new Cosim(cfg, std::move(sim), opt));
}

void Cosim::walk(const WalkJob &job, WalkMemory &mem, WalkOutcome &out)
{
    const ims_xlate &x = *job.x;
    const unsigned n = x.n_reads - job.first;
    const bool lockstep = m_cfg.walker_impl == IMS_WALKER_LOCKSTEP;
    if (lockstep)
        m_tlm.walk(job, mem, out);  // the model's timing, as with walker.impl = tlm
    if (x.walk.levels == 0) {  // not a walk the RTL can make (first-level, nested): the TLM walker's
        m_st.not_checked++;
        if (!lockstep)
            m_tlm.walk(job, mem, out);
        return;
    }
    if (!m_error.empty()) {          // the RTL failed earlier: no more RTL walks
        if (!lockstep)
            m_tlm.walk(job, mem, out);
        return;
    }
    if (m_opt.by_records && !m_opt.wave.empty()) {
        if (!m_wave_started && job.record != UINT64_MAX && job.record >= m_opt.rec_from) {
            m_sim->set_wave_window(job.start, ~Cycles{0});
            m_wave_started = true;
        }
        if (m_wave_started && !m_wave_ended && job.record != UINT64_MAX && job.record > m_opt.rec_to) {
            m_sim->set_wave_window(0, m_last_done);
            m_wave_ended = true;
        }
    }

    RtlWalkIn in;
    in.table = x.walk.table;
    in.iova = job.req->iova;
    in.did = x.did;
    in.levels = x.walk.levels;
    in.start = x.walk.level;
    in.perm = x.walk.perm;
    in.access = x.walk.access;
    RtlWalkOut r;
    bool ok;
    const auto t0 = std::chrono::steady_clock::now();
    if (lockstep) {
        ReplayedMemory rm(mem, out, n, m_cfg.mem_latency);
        ok = m_sim->walk(job.begin, in, rm, r, job.arrival);
    } else {
        TimedMemory tm(mem);
        ok = m_sim->walk(job.begin, in, tm, r, job.arrival);
    }
    m_st.rtl_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!ok) {
        m_error = m_sim->error();
        m_st.mismatches++;
        if (m_st.reports.size() < m_cfg.cosim_report_limit)
            m_st.reports.push_back(m_error);
        if (!lockstep)
            m_tlm.walk(job, mem, out);
        return;
    }
    m_st.walks++;
    m_last_done = std::max(m_last_done, r.done);
    // A scalable-mode second-level-only walk (its reads are IMS_RS_SL, and it
    // makes one at least: flwalk.c) reports scalable mode's reasons.
    if (n && x.reads[job.first].stage == IMS_RS_SL)
        r.fault = sm_fault(r, mem);
    const bool differs = compare(job, r, lockstep, out.done);
    if (!lockstep) {
        out.done = r.done;
        for (unsigned k = 0; k < n; k++) {  // the core's reads, where the RTL made them
            out.read_issue[k] = k < r.nlog ? r.read_issue[k] : r.done;
            out.read_done[k] = k < r.nlog ? r.read_done[k] : r.done;
        }
        // The RTL's answer is delivered where it differs (where it agrees, the
        // core's is the same answer, already in the form the request needs).
        out.replaced = differs;
        out.pa = r.pa;
        out.page_shift = r.shift;
        out.perm = r.perm;
        out.fault = r.fault;
    }
}

// The RTL's walk against the C core's: every field that differs is named.
bool Cosim::compare(const WalkJob &job, const RtlWalkOut &r, bool lockstep, Cycles tlm_done)
{
    const ims_xlate &x = *job.x;
    const unsigned n = x.n_reads - job.first;
    const bool fault = x.fault != 0;
    // An ATS translation request that finds no translation completes with
    // R = W = 0 and no fault (translate.c, ats_translate): the walk's
    // permission fault, as the RTL reports it, is that answer.
    const bool ats_none = job.req->at == IMS_AT_TRANSLATION && !fault && x.perm == 0 &&
                          (r.fault == IMS_FR_READ || r.fault == IMS_FR_WRITE);
    bool diff[5] = {
        !fault && !ats_none && r.pa != x.pa,
        !fault && !ats_none && r.shift != x.page_shift,
        !fault && !ats_none && r.perm != x.perm,
        !ats_none && r.fault != x.fault,
        false,
    };
    diff[4] = r.nlog != n || r.reads != n;
    for (unsigned k = 0; !diff[4] && k < n; k++)
        diff[4] = r.read_addr[k] != x.reads[job.first + k].pa;
    if (lockstep) {
        // Both from the walker's grant; the RTL's without the cycles it waited to
        // enter in arrival order (a co-simulation rule, not the RTL's timing:
        // cosim.delayed_entries), unless the TLM walker models that rule too
        // (walker.rtl_timing).
        const Cycles rl = m_cfg.walk_rtl_timing ? r.done - job.start : (r.done - r.ready) + (job.begin - job.start);
        const Cycles tl = tlm_done - job.start;
        const Cycles e = rl > tl ? rl - tl : tl - rl;
        m_st.latency_compared++;
        m_st.latency_error_pct_sum += tl ? 100.0 * static_cast<double>(e) / static_cast<double>(tl) : 0.0;
        m_st.latency_error_max = std::max<std::uint64_t>(m_st.latency_error_max, e);
        m_st.latency_exact += e == 0;
    }
    bool any = false;
    for (unsigned f = 0; f < 5; f++) {
        m_st.field_mismatches[f] += diff[f];
        any = any || diff[f];
    }
    if (!any)
        return false;
    m_st.mismatches++;
    if (m_st.reports.size() >= m_cfg.cosim_report_limit)
        return true;
    char b[512];
    int len = std::snprintf(b, sizeof b, "walk %" PRIu64 " (record ", m_st.walks - 1);
    std::string s(b, static_cast<std::size_t>(len));
    s += job.record == UINT64_MAX ? std::string("-") : std::to_string(job.record);
    std::snprintf(b, sizeof b, ", rid %s, iova 0x%" PRIx64 ", %s):", rid_name(job.req->rid).c_str(), job.req->iova,
                  x.walk.access == IMS_PERM_W ? "write" : x.walk.access == IMS_PERM_R ? "read" : "read-write");
    s += b;
    if (diff[0]) {
        std::snprintf(b, sizeof b, " pa rtl 0x%" PRIx64 " core 0x%" PRIx64 ";", r.pa, x.pa);
        s += b;
    }
    if (diff[1]) {
        std::snprintf(b, sizeof b, " page_size rtl 2^%u core 2^%u;", r.shift, x.page_shift);
        s += b;
    }
    if (diff[2]) {
        std::snprintf(b, sizeof b, " perm rtl %u core %u;", r.perm, x.perm);
        s += b;
    }
    if (diff[3]) {
        std::snprintf(b, sizeof b, " fault rtl 0x%x core 0x%x;", r.fault, x.fault);
        s += b;
    }
    if (diff[4]) {
        s += " reads rtl [";
        for (unsigned k = 0; k < r.nlog; k++) {
            std::snprintf(b, sizeof b, "%s0x%" PRIx64, k ? " " : "", r.read_addr[k]);
            s += b;
        }
        s += "] core [";
        for (unsigned k = 0; k < n; k++) {
            std::snprintf(b, sizeof b, "%s0x%" PRIx64, k ? " " : "", x.reads[job.first + k].pa);
            s += b;
        }
        s += "];";
    }
    s.pop_back();
    m_st.reports.push_back(s);
    return true;
}

bool Cosim::finish()
{
    const bool ok = m_sim->finish();
    if (!ok && m_error.empty()) {
        m_error = m_sim->error();
        m_st.mismatches++;
        if (m_st.reports.size() < m_cfg.cosim_report_limit)
            m_st.reports.push_back(m_error);
    }
    m_st.rtl_cycles = m_sim->cycles_evaluated();
    m_st.rtl_cycles_spanned = m_sim->cycles_spanned();
    m_st.replays = m_sim->cycles_replayed();
    m_st.delayed_entries = m_sim->delayed_entries();
    m_st.late_entries = m_sim->late_entries();

    return ok && m_error.empty();
}

}  // namespace ims
