// Latency histograms and the run report: text for people, JSON and CSV for
// programs. JSON keys are stable and documented in docs/stats.md.
#include "iommusim/run.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cinttypes>
#include <cstring>
#include <string>
#include <unistd.h>

namespace ims {

template <bool Sparse> void BasicLatHist<Sparse>::add_slow(Cycles v)
{
    const std::size_t i = index(v);
    if (!Sparse) {
        m_b[i]++;
    } else {
        std::uint32_t &s = m_slot[i >> kChunkBits];
        if (!s) {
            m_b.resize(m_b.size() + kChunk, 0);
            s = static_cast<std::uint32_t>(m_b.size() / kChunk);
        }
        m_b[(std::size_t{s - 1} << kChunkBits) | (i & (kChunk - 1))]++;
    }

    if (v < kExact)
        return;
    m_large_min = std::min(m_large_min, v);
    m_large_max = std::max(m_large_max, v);
}

template <bool Sparse> Cycles BasicLatHist<Sparse>::min() const
{
    for (std::size_t i = 0; i < kExact; i++)
        if (at(i))
            return i;
    return m_count ? m_large_min : 0;
}

template <bool Sparse> Cycles BasicLatHist<Sparse>::max() const
{
    if (m_large_max)
        return m_large_max;
    for (std::size_t i = kExact; i-- > 0;)
        if (at(i))
            return i;
    return 0;
}

template <bool Sparse> Cycles BasicLatHist<Sparse>::lower(std::size_t i)
{
    if (i < kExact)
        return i;
    const std::size_t k = i - kExact;
    const unsigned e = static_cast<unsigned>(k >> kSubBits) + 10;
    const Cycles sub = k & ((1u << kSubBits) - 1);
    return (Cycles{1} << e) | (sub << (e - kSubBits));
}

template <bool Sparse> Cycles BasicLatHist<Sparse>::percentile(double p) const
{
    if (!m_count)
        return 0;
    // rank = ceil(p * count), at least 1
    std::uint64_t rank = static_cast<std::uint64_t>(p * static_cast<double>(m_count));
    if (static_cast<double>(rank) < p * static_cast<double>(m_count))
        rank++;
    if (rank < 1)
        rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; i++) {
        seen += at(i);
        if (seen >= rank)
            return std::max(lower(i), min());
    }
    return max();
}

template <bool Sparse> std::vector<std::uint64_t> BasicLatHist<Sparse>::log2_counts() const
{
    std::vector<std::uint64_t> out(65, 0);
    for (std::size_t i = 0; i < kBuckets; i++) {
        if (!at(i))
            continue;
        const Cycles lo = lower(i);
        const std::size_t k = lo == 0 ? 0 : 1 + (63u - static_cast<unsigned>(__builtin_clzll(lo)));
        out[k] += at(i);
    }
    while (out.size() > 1 && out.back() == 0)
        out.pop_back();
    return out;
}

template class BasicLatHist<false>;
template class BasicLatHist<true>;


namespace {

double rate(std::uint64_t num, std::uint64_t den) { return den ? static_cast<double>(num) / static_cast<double>(den) : 0.0; }

std::string bdf(std::uint16_t rid)
{
    char b[16];
    ims_bdf_format(b, sizeof b, rid);
    return b;
}

std::string json_str(const std::string &s)
{
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else {
            o += c;
        }
    }
    return o + "\"";
}

// Writes text into out and commits it (whole or not at all, outfile.h); frees out.
bool write_whole(ims_outfile *out, const std::string &text, std::string *err)
{
    char e[1024];
    if (!text.empty() && std::fwrite(text.data(), 1, text.size(), ims_outfile_stream(out)) != text.size()) {
        // The reason is reported by the commit's flush; fall through to it.
    }
    if (ims_outfile_commit(out, e, sizeof e) != 0) {
        *err = e;
        return false;
    }
    return true;
}

// Opens path for one of the writers below.
ims_outfile *open_out(const char *path, std::string *err)
{
    char e[1024];
    ims_outfile *out = ims_outfile_open(path, e, sizeof e);
    if (!out)
        *err = e;
    return out;
}

struct Out {
    std::string s;
    void f(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
    {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        s += buf;
    }
};

// A cache's statistics as the report gives them: the core counts a lookup
// that finds an entry still being filled as a hit; the timing model knows it
// waited for that fill, so it is a miss (merged into the fill in flight, as a
// cache counts an MSHR hit).
struct CacheView {
    struct ims_cache_stats s;
    std::uint64_t merged;
};

CacheView cache_view(const struct ims_cache_stats &c, std::uint64_t merged)
{
    CacheView v{c, std::min(merged, c.hits)};
    v.s.hits -= v.merged;
    v.s.misses += v.merged;
    return v;
}

CacheView iotlb_view(const ReportInputs &in) { return cache_view(in.core->iotlb, in.timing->merged); }

void json_cache(Out &o, const char *name, const CacheView &v, bool comma)
{
    const struct ims_cache_stats &c = v.s;
    o.f("  \"%s\": {\"lookups\": %" PRIu64 ", \"hits\": %" PRIu64 ", \"misses\": %" PRIu64 ", \"merged\": %" PRIu64
        ", \"hit_rate\": %.6f, \"fills\": %" PRIu64 ", \"evictions\": %" PRIu64 ", \"invalidated\": %" PRIu64 "}%s\n",
        name, c.lookups, c.hits, c.misses, v.merged, rate(c.hits, c.lookups), c.fills, c.evictions, c.invalidated,
        comma ? "," : "");
}

// The spans of simulated time (cycles): total (from 0, which may be long
// before the first DMA), of the DMA (first issue to last completion) and of
// the measured phase (first request after warm-up to last completion).
struct Spans {
    Cycles total, dma, measured;
};

Spans spans(const RunStats &r)
{
    Spans s{r.end_cycle, 0, 0};
    if (r.any_issued && r.end_cycle > r.first_issue)
        s.dma = r.end_cycle - r.first_issue;
    if (r.measured_issued && r.end_cycle > r.start_cycle)
        s.measured = r.end_cycle - r.start_cycle;
    return s;
}

double ms(Cycles c, std::uint32_t mhz) { return static_cast<double>(c) / mhz / 1000.0; }

// Measured throughput: translations per microsecond and bytes per nanosecond (GB/s).
double per_us(std::uint64_t n, Cycles c, std::uint32_t mhz)
{
    return c ? static_cast<double>(n) * mhz / static_cast<double>(c) : 0.0;
}

// The overload criterion's threshold (docs/timing.md).
constexpr double kOverloadWait = 0.5;

}  // namespace

double wait_fraction(const RunStats &r, const IommuTimingStats &t)
{
    const std::uint64_t sum = r.latency.sum();
    return sum ? static_cast<double>(t.input_stall_cycles + t.queue_cycles) / static_cast<double>(sum) : 0.0;
}

std::vector<RunWarning> run_warnings(const ReportInputs &in)
{
    const RunStats &r = *in.run;
    std::vector<RunWarning> w;
    char b[512];
    if (in.cfg->player_mode == IMS_PLAYER_OPEN && r.dma_records > 1 && r.timestamps_equal) {
        std::snprintf(b, sizeof b,
                      "open loop, but every DMA record has the same timestamp (%" PRIu64
                      " ns): all were issued at once, so latencies measure the backlog, not the IOMMU "
                      "(use player.mode=closed, or a trace with timestamps)",
                      r.first_ts);
        w.push_back({"untimed_open_loop", b});
    }
    const double f = wait_fraction(r, *in.timing);
    if (in.cfg->player_mode == IMS_PLAYER_OPEN && f > kOverloadWait) {
        std::snprintf(b, sizeof b,
                      "open-loop overload: %.1f%% of the measured translation latency was spent waiting at a stalled "
                      "input or for a walker (more than %.0f%%): the trace offers more than the model sustains, so "
                      "latencies grow with the backlog (use player.mode=closed, or more walkers)",
                      100.0 * f, 100.0 * kOverloadWait);
        w.push_back({"open_loop_overload", b});
    }
    return w;
}

namespace {

const char *cosim_impl_name(std::uint8_t impl)
{
    return impl == IMS_WALKER_RTL ? "rtl" : impl == IMS_WALKER_LOCKSTEP ? "lockstep" : "tlm";
}

// The RTL walker's co-simulation (walker.impl rtl or lockstep): whole run.
void text_cosim(std::FILE *out, const CosimStats &s)
{
    std::fprintf(out, "RTL walker (%s, whole run): %" PRIu64 " walks, %" PRIu64 " disagreeing with the C core",
                 cosim_impl_name(s.impl), s.walks, s.mismatches);
    for (unsigned f = 0; f < 5; f++)
        if (s.field_mismatches[f])
            std::fprintf(out, "%s %s %" PRIu64, f ? "," : " (", kCosimFields[f], s.field_mismatches[f]);
    std::fprintf(out, "%s\n", s.mismatches ? ")" : "");
    for (const std::string &m : s.reports)
        std::fprintf(out, "  %s\n", m.c_str());
    if (s.mismatches > s.reports.size())
        std::fprintf(out, "  ... and %" PRIu64 " more (cosim.report_limit)\n", s.mismatches - s.reports.size());
    if (s.latency_compared)
        std::fprintf(out, "  latency against the TLM walker: mean error %.3f%%, max %" PRIu64 " cycles, equal in %" PRIu64
                          " of %" PRIu64 " walks\n",
                     s.latency_error_pct_sum / static_cast<double>(s.latency_compared), s.latency_error_max,
                     s.latency_exact, s.latency_compared);
    std::fprintf(out, "  RTL cycles evaluated %" PRIu64 " (%" PRIu64 " of them replayed), spanned %" PRIu64 "; %.2f M/s\n",
                 s.rtl_cycles, s.replays, s.rtl_cycles_spanned,
                 s.rtl_seconds > 0 ? static_cast<double>(s.rtl_cycles) / s.rtl_seconds / 1e6 : 0.0);
    if (s.retries)
        std::fprintf(out, "  walks made again in arrival order %" PRIu64 " (their first tries' memory reads %" PRIu64
                          " stay booked)\n",
                     s.retries, s.rebooked_reads);

}

void json_cosim(Out &o, const CosimStats &s)
{
    o.f("  \"cosim\": {\"impl\": \"%s\", \"walks\": %" PRIu64 ", \"mismatches\": %" PRIu64 ", \"mismatch_fields\": {",
        cosim_impl_name(s.impl), s.walks, s.mismatches);
    for (unsigned f = 0; f < 5; f++)
        o.f("%s\"%s\": %" PRIu64, f ? ", " : "", kCosimFields[f], s.field_mismatches[f]);
    o.f("},\n    \"reports\": [");
    for (std::size_t i = 0; i < s.reports.size(); i++)
        o.s += std::string(i ? ", " : "") + json_str(s.reports[i]);
    o.f("],\n");
    if (s.latency_compared)
        o.f("    \"latency_compared\": %" PRIu64 ", \"latency_error_mean_pct\": %.6f, \"latency_error_max_cycles\": %" PRIu64
            ", \"latency_exact\": %" PRIu64 ",\n",
            s.latency_compared, s.latency_error_pct_sum / static_cast<double>(s.latency_compared), s.latency_error_max,
            s.latency_exact);
    else
        o.f("    \"latency_compared\": 0, \"latency_error_mean_pct\": null, \"latency_error_max_cycles\": null, "
            "\"latency_exact\": 0,\n");
    o.f("    \"rtl_cycles\": %" PRIu64 ", \"rtl_cycles_replayed\": %" PRIu64 ", \"rtl_cycles_spanned\": %" PRIu64
        ", \"retries\": %" PRIu64 ", \"rebooked_reads\": %" PRIu64 ",\n",
        s.rtl_cycles, s.replays, s.rtl_cycles_spanned, s.retries, s.rebooked_reads);

    // The one figure here that depends on the machine (wall time): on a line of its own.
    o.f("    \"rtl_cycles_per_second\": %.0f},\n",
        s.rtl_seconds > 0 ? static_cast<double>(s.rtl_cycles) / s.rtl_seconds : 0.0);
}

}  // namespace

void report_text(const ReportInputs &in, std::FILE *out)
{

    const RunStats &r = *in.run;
    const ims_stats &c = *in.core;
    const IommuTimingStats &t = *in.timing;
    const Spans sp = spans(r);
    const Cycles span = sp.measured;
    const std::uint32_t mhz = in.cfg->clock_mhz;
    std::fprintf(out, "iommusim run: %s  (config %s, %u MHz)\n", in.trace_path, in.config_name, in.cfg->clock_mhz);
    std::fprintf(out, "records %" PRIu64 ", DMA records %" PRIu64 " (%" PRIu64 " warm-up), bytes %" PRIu64 "\n", r.records,
                 r.dma_records, r.warmup_records, r.bytes);
    std::fprintf(out, "translations %" PRIu64 ", faults %" PRIu64 " (expected by the trace %" PRIu64 ")\n",
                 r.translations, r.faults, r.expected_faults);
    std::fprintf(out, "checked against the recording %" PRIu64 ", mismatches %" PRIu64 "\n", r.checked, r.mismatches);
    if (!r.first_mismatch.empty())
        std::fprintf(out, "  first mismatch: %s\n", r.first_mismatch.c_str());
    if (r.reordered)
        std::fprintf(out, "reordered (open loop: issued after a later timestamp of another device) %" PRIu64 "\n",
                     r.reordered);
    std::fprintf(out, "simulated %" PRIu64 " cycles (%.3f ms); DMA from cycle %" PRIu64 ": %" PRIu64
                      " cycles; measured (after warm-up) %" PRIu64 " cycles (%.3f ms)\n",
                 sp.total, ms(sp.total, mhz), r.first_issue, sp.dma, span, ms(span, mhz));
    std::fprintf(out, "throughput (measured span): %.3f translations/us, %.3f GB/s\n\n",
                 per_us(r.translations, span, mhz), per_us(r.bytes, span, mhz) / 1000.0);
    for (const RunWarning &w : run_warnings(in))
        std::fprintf(out, "WARNING [%s]: %s\n\n", w.code.c_str(), w.text.c_str());

    const LatHist &h = r.latency;
    std::fprintf(out, "translation latency (cycles): min %" PRIu64 "  mean %.1f  p50 %" PRIu64 "  p90 %" PRIu64
                      "  p99 %" PRIu64 "  p99.9 %" PRIu64 "  max %" PRIu64 "\n",
                 h.min(), h.mean(), h.percentile(0.5), h.percentile(0.9), h.percentile(0.99), h.percentile(0.999),
                 h.max());
    const std::vector<std::uint64_t> lg = h.log2_counts();
    std::uint64_t top = 1;
    for (std::uint64_t v : lg)
        top = std::max(top, v);
    for (std::size_t k = 0; k < lg.size(); k++) {
        if (!lg[k])
            continue;
        const Cycles lo = k ? Cycles{1} << (k - 1) : 0, hi = k ? (Cycles{1} << k) - 1 : 0;
        const int bar = static_cast<int>(50.0 * static_cast<double>(lg[k]) / static_cast<double>(top) + 0.5);
        std::fprintf(out, "  %7" PRIu64 "-%-7" PRIu64 " %10" PRIu64 " %5.1f%% %.*s\n", lo, hi, lg[k],
                     100.0 * rate(lg[k], h.count()), bar, "##################################################");
    }
    std::fprintf(out, "\n%-22s %12s %12s %9s %12s\n", "cache", "lookups", "hits", "hit rate", "merged");
    auto row = [&](const char *n, const CacheView &v) {
        const struct ims_cache_stats &s = v.s;
        std::fprintf(out, "%-22s %12" PRIu64 " %12" PRIu64 " %8.2f%% %12" PRIu64 "\n", n, s.lookups, s.hits,
                     100.0 * rate(s.hits, s.lookups), v.merged);
    };
    row("context cache", cache_view(c.ctx_cache, t.ctx_merged));
    row("IOTLB", iotlb_view(in));
    static const char *psc_names[] = {"", "", "PSC L2 (PDE)", "PSC L3 (PDPE)", "PSC L4 (PML4E)", "PSC L5 (PML5E)"};
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        if (in.cfg->iommu.psc[l].sets && in.cfg->iommu.psc[l].ways)
            row(psc_names[l], cache_view(c.psc[l], t.psc_merged[l]));
    std::fprintf(out, "(merged: misses that found the entry still being filled and waited for that fill; counted "
                      "as misses)\n");

    std::fprintf(out, "\nwalks %" PRIu64 ", table reads %" PRIu64 " (%.2f per walk), context reads %" PRIu64
                      ", misses merged into walks in flight %" PRIu64 "\n",
                 c.walks, c.ptw_reads, rate(c.ptw_reads, c.walks), c.ctx_reads, t.merged);
    std::fprintf(out, "walkers %u: occupancy %.4f%%, walks that waited %" PRIu64 ", queueing delay mean %.1f max %" PRIu64
                      " cycles; input stalled %" PRIu64 " request-cycles; waiting share of latency %.2f%%\n",
                 in.walkers, 100.0 * rate(t.walk_cycles, span * in.walkers), t.queued, rate(t.queue_cycles, t.walks),
                 t.queue_max, t.input_stall_cycles, 100.0 * wait_fraction(r, t));
    std::fprintf(out, "memory: %" PRIu64 " accesses, %" PRIu64 " table-read cache hits, %" PRIu64
                      " cycles waiting for bandwidth/slots\n",
                 in.mem->accesses() - r.mem_accesses0, in.mem->cache_hits() - r.mem_cache_hits0,
                 in.mem->stall_cycles() - r.mem_stall0);
    std::fprintf(out, "invalidations: IOTLB %" PRIu64 ", context %" PRIu64 ", mean completion %.1f cycles\n",
                 t.inv_iotlb, t.inv_ctx, rate(t.inv_cycles, t.inv_iotlb + t.inv_ctx));
    std::fprintf(out, "fault queue: %" PRIu64 " records written, %" PRIu64 " dropped (full), %" PRIu64
                      " suppressed (FPD)\n",
                 c.fault_records, c.fault_dropped, c.fault_suppressed);
    if (c.ats_no_access)
        std::fprintf(out, "ATS translation requests completed with R=W=0 (no translation, not faults) %" PRIu64 "\n",
                     c.ats_no_access);
    if (in.cosim)
        text_cosim(out, *in.cosim);

    for (unsigned fr = 1; fr < 256; fr++)

        if (c.fault_reason[fr])
            std::fprintf(out, "  fault 0x%x %-28s %" PRIu64 "\n", fr,
                         ims_fault_reason_name(fr) ? ims_fault_reason_name(fr) : "?", c.fault_reason[fr]);

    std::fprintf(out, "\n%-10s %-10s %-20s %10s %8s %8s %9s %8s %8s\n", "device", "seen as", "name", "requests",
                 "faults", "IOTLB%", "mean", "p99", "max");
    for (const DeviceStats &d : r.devices) {
        std::fprintf(out, "%-10s %-10s %-20.20s %10" PRIu64 " %8" PRIu64 " %7.2f%% %9.1f %8" PRIu64 " %8" PRIu64 "\n",
                     bdf(d.rid).c_str(), bdf(d.alias).c_str(), d.name.empty() ? "-" : d.name.c_str(), d.requests,
                     d.faults, 100.0 * rate(d.iotlb_hits, d.requests), d.latency.mean(), d.latency.percentile(0.99),
                     d.latency.max());
    }
    if (in.wall_seconds > 0)
        std::fprintf(out, "\nwall time %.3f s: %.2f M translations/s\n", in.wall_seconds,
                     static_cast<double>(r.requests_simulated) / in.wall_seconds / 1e6);
}

bool report_json(const ReportInputs &in, const char *path, std::string *err)
{
    ims_outfile *out = open_out(path, err);
    return out && report_json(in, out, err);
}

bool report_json(const ReportInputs &in, ims_outfile *out, std::string *err)
{
    const RunStats &r = *in.run;
    const ims_stats &c = *in.core;
    const IommuTimingStats &t = *in.timing;
    const LatHist &h = r.latency;
    const Spans sp = spans(r);
    const Cycles span = sp.measured;
    const std::uint32_t mhz = in.cfg->clock_mhz;
    Out o;
    o.f("{\n");
    o.s += "  \"trace\": " + json_str(in.trace_path) + ",\n";
    o.s += "  \"config\": " + json_str(in.config_name) + ",\n";
    o.f("  \"clock_mhz\": %u,\n", in.cfg->clock_mhz);
    o.f("  \"records\": %" PRIu64 ",\n  \"dma_records\": %" PRIu64 ",\n  \"warmup_dma_records\": %" PRIu64 ",\n",
        r.records, r.dma_records, r.warmup_records);
    o.f("  \"translations\": %" PRIu64 ",\n  \"bytes\": %" PRIu64 ",\n  \"faults\": %" PRIu64
        ",\n  \"expected_faults\": %" PRIu64 ",\n",
        r.translations, r.bytes, r.faults, r.expected_faults);
    o.f("  \"requests_simulated\": %" PRIu64 ",\n", r.requests_simulated);
    o.f("  \"checked\": %" PRIu64 ",\n  \"mismatches\": %" PRIu64 ",\n  \"reordered\": %" PRIu64
        ",\n  \"cycles\": %" PRIu64 ",\n",
        r.checked, r.mismatches, r.reordered, span);
    o.f("  \"time\": {\"total_cycles\": %" PRIu64 ", \"first_dma_cycle\": %" PRIu64 ", \"dma_span_cycles\": %" PRIu64
        ", \"measured_start_cycle\": %" PRIu64 ", \"measured_cycles\": %" PRIu64 "},\n",
        sp.total, r.first_issue, sp.dma, r.start_cycle, span);
    o.f("  \"throughput\": {\"translations_per_us\": %.6f, \"gbytes_per_s\": %.6f},\n",
        per_us(r.translations, span, mhz), per_us(r.bytes, span, mhz) / 1000.0);
    o.f("  \"warnings\": [");
    const std::vector<RunWarning> ws = run_warnings(in);
    for (std::size_t i = 0; i < ws.size(); i++)
        o.s += std::string(i ? ", " : "") + "{\"code\": " + json_str(ws[i].code) + ", \"text\": " +
               json_str(ws[i].text) + "}";
    o.f("],\n");
    o.f("  \"latency_cycles\": {\"min\": %" PRIu64 ", \"mean\": %.3f, \"p50\": %" PRIu64 ", \"p90\": %" PRIu64
        ", \"p99\": %" PRIu64 ", \"p999\": %" PRIu64 ", \"max\": %" PRIu64 "},\n",
        h.min(), h.mean(), h.percentile(0.5), h.percentile(0.9), h.percentile(0.99), h.percentile(0.999), h.max());
    o.f("  \"latency_histogram\": [");
    const std::vector<std::uint64_t> lg = h.log2_counts();
    for (std::size_t k = 0; k < lg.size(); k++) {
        const Cycles lo = k ? Cycles{1} << (k - 1) : 0, hi = k ? (Cycles{1} << k) - 1 : 0;
        o.f("%s{\"lo\": %" PRIu64 ", \"hi\": %" PRIu64 ", \"count\": %" PRIu64 "}", k ? ", " : "", lo, hi, lg[k]);
    }
    o.f("],\n");
    json_cache(o, "context_cache", cache_view(c.ctx_cache, t.ctx_merged), true);
    json_cache(o, "iotlb", iotlb_view(in), true);
    o.f("  \"psc\": {\n");
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
        char n[8];
        std::snprintf(n, sizeof n, "l%u", l);
        o.s += "  ";
        json_cache(o, n, cache_view(c.psc[l], t.psc_merged[l]), l < IMS_MAX_LEVELS);
    }
    o.f("  },\n");
    o.f("  \"walks\": %" PRIu64 ",\n  \"ptw_reads\": %" PRIu64 ",\n  \"ptw_reads_per_walk\": %.6f,\n"
        "  \"ctx_reads\": %" PRIu64 ",\n  \"merged_misses\": %" PRIu64 ",\n",
        c.walks, c.ptw_reads, rate(c.ptw_reads, c.walks), c.ctx_reads, t.merged);
    o.f("  \"walker\": {\"count\": %u, \"occupancy\": %.6f, \"queued\": %" PRIu64 ", \"queue_delay_mean\": %.3f, "
        "\"queue_delay_max\": %" PRIu64 ", \"input_stall_cycles\": %" PRIu64 ", \"wait_fraction\": %.6f},\n",
        in.walkers, rate(t.walk_cycles, span * in.walkers), t.queued, rate(t.queue_cycles, t.walks), t.queue_max,
        t.input_stall_cycles, wait_fraction(r, t));
    o.f("  \"memory\": {\"accesses\": %" PRIu64 ", \"cache_hits\": %" PRIu64 ", \"stall_cycles\": %" PRIu64 "},\n",
        in.mem->accesses() - r.mem_accesses0, in.mem->cache_hits() - r.mem_cache_hits0,
        in.mem->stall_cycles() - r.mem_stall0);
    o.f("  \"invalidations\": {\"iotlb\": %" PRIu64 ", \"context\": %" PRIu64 ", \"mean_latency_cycles\": %.3f},\n",
        t.inv_iotlb, t.inv_ctx, rate(t.inv_cycles, t.inv_iotlb + t.inv_ctx));
    o.f("  \"fault_queue\": {\"records\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"suppressed\": %" PRIu64 "},\n",
        c.fault_records, c.fault_dropped, c.fault_suppressed);
    o.f("  \"ats_no_access\": %" PRIu64 ",\n", c.ats_no_access);
    if (in.cosim)
        json_cosim(o, *in.cosim);


    o.f("  \"fault_reasons\": {");
    bool first = true;
    for (unsigned fr = 1; fr < 256; fr++) {
        if (!c.fault_reason[fr])
            continue;
        o.f("%s\"0x%x\": %" PRIu64, first ? "" : ", ", fr, c.fault_reason[fr]);
        first = false;
    }
    o.f("},\n  \"devices\": [\n");
    for (std::size_t i = 0; i < r.devices.size(); i++) {
        const DeviceStats &d = r.devices[i];
        o.s += "    {\"rid\": " + json_str(bdf(d.rid)) + ", \"seen_as\": " + json_str(bdf(d.alias)) +
               ", \"name\": " + json_str(d.name);
        o.f(", \"translations\": %" PRIu64 ", \"faults\": %" PRIu64 ", \"mismatches\": %" PRIu64
            ", \"iotlb_hit_rate\": %.6f, \"latency_mean\": %.3f, \"latency_p99\": %" PRIu64 ", \"latency_max\": %" PRIu64
            "}%s\n",
            d.requests, d.faults, d.mismatches, rate(d.iotlb_hits, d.requests), d.latency.mean(),
            d.latency.percentile(0.99), d.latency.max(), i + 1 < r.devices.size() ? "," : "");
    }
    o.f("  ]\n}\n");
    return write_whole(out, o.s, err);
}

bool report_csv(const ReportInputs &in, const char *path, std::string *err)
{
    ims_outfile *out = open_out(path, err);
    return out && report_csv(in, out, err);
}

bool report_csv(const ReportInputs &in, ims_outfile *out, std::string *err)
{
    const RunStats &r = *in.run;
    Out o;
    o.f("device,seen_as,name,translations,faults,mismatches,iotlb_hit_rate,latency_mean,latency_p50,latency_p99,"
        "latency_max\n");
    for (const DeviceStats &d : r.devices) {
        std::string name = d.name;
        for (char &ch : name)
            if (ch == ',' || ch == '"')
                ch = '_';
        o.f("%s,%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.6f,%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
            bdf(d.rid).c_str(), bdf(d.alias).c_str(), name.c_str(), d.requests, d.faults, d.mismatches,
            rate(d.iotlb_hits, d.requests), d.latency.mean(), d.latency.percentile(0.5), d.latency.percentile(0.99),
            d.latency.max());
    }
    const LatHist &h = r.latency;
    o.f("all,all,all,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.6f,%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
        r.translations, r.faults, r.mismatches, rate(iotlb_view(in).s.hits, in.core->iotlb.lookups), h.mean(),
        h.percentile(0.5), h.percentile(0.99), h.max());
    return write_whole(out, o.s, err);
}

}  // namespace ims
