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

namespace {
constexpr std::size_t kBuckets = LatHist::kExact + (64 - 10) * (std::size_t{1} << LatHist::kSubBits);
}  // namespace

LatHist::LatHist() : m_b(kBuckets, 0) {}

void LatHist::add_large(Cycles v)
{
    m_b[index(v)]++;
    m_large_min = std::min(m_large_min, v);
    m_large_max = std::max(m_large_max, v);
}

Cycles LatHist::min() const
{
    for (std::size_t i = 0; i < kExact; i++)
        if (m_b[i])
            return i;
    return m_count ? m_large_min : 0;
}

Cycles LatHist::max() const
{
    if (m_large_max)
        return m_large_max;
    for (std::size_t i = kExact; i-- > 0;)
        if (m_b[i])
            return i;
    return 0;
}

Cycles LatHist::lower(std::size_t i)
{
    if (i < kExact)
        return i;
    const std::size_t k = i - kExact;
    const unsigned e = static_cast<unsigned>(k >> kSubBits) + 10;
    const Cycles sub = k & ((1u << kSubBits) - 1);
    return (Cycles{1} << e) | (sub << (e - kSubBits));
}

Cycles LatHist::percentile(double p) const
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
    for (std::size_t i = 0; i < m_b.size(); i++) {
        seen += m_b[i];
        if (seen >= rank)
            return std::max(lower(i), min());
    }
    return max();
}

std::vector<std::uint64_t> LatHist::log2_counts() const
{
    std::vector<std::uint64_t> out(65, 0);
    for (std::size_t i = 0; i < m_b.size(); i++) {
        if (!m_b[i])
            continue;
        const Cycles lo = lower(i);
        const std::size_t k = lo == 0 ? 0 : 1 + (63u - static_cast<unsigned>(__builtin_clzll(lo)));
        out[k] += m_b[i];
    }
    while (out.size() > 1 && out.back() == 0)
        out.pop_back();
    return out;
}

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

void json_cache(Out &o, const char *name, const struct ims_cache_stats &c, bool comma)
{
    o.f("  \"%s\": {\"lookups\": %" PRIu64 ", \"hits\": %" PRIu64 ", \"misses\": %" PRIu64 ", \"hit_rate\": %.6f, "
        "\"fills\": %" PRIu64 ", \"evictions\": %" PRIu64 ", \"invalidated\": %" PRIu64 "}%s\n",
        name, c.lookups, c.hits, c.misses, rate(c.hits, c.lookups), c.fills, c.evictions, c.invalidated,
        comma ? "," : "");
}

}  // namespace

void report_text(const ReportInputs &in, std::FILE *out)
{
    const RunStats &r = *in.run;
    const ims_stats &c = *in.core;
    const IommuTimingStats &t = *in.timing;
    const Cycles span = r.end_cycle > r.start_cycle ? r.end_cycle - r.start_cycle : 0;
    std::fprintf(out, "iommusim run: %s  (config %s, %u MHz)\n", in.trace_path, in.config_name, in.cfg->clock_mhz);
    std::fprintf(out, "records %" PRIu64 ", DMA records %" PRIu64 " (%" PRIu64 " warm-up), bytes %" PRIu64 "\n", r.records,
                 r.dma_records, r.warmup_records, r.bytes);
    std::fprintf(out, "translations %" PRIu64 ", faults %" PRIu64 " (expected by the trace %" PRIu64 ")\n",
                 r.translations, r.faults, r.expected_faults);
    std::fprintf(out, "checked against the recording %" PRIu64 ", mismatches %" PRIu64 "\n", r.checked, r.mismatches);
    if (!r.first_mismatch.empty())
        std::fprintf(out, "  first mismatch: %s\n", r.first_mismatch.c_str());
    std::fprintf(out, "simulated %" PRIu64 " cycles (%.3f ms)\n\n", span,
                 static_cast<double>(span) / in.cfg->clock_mhz / 1000.0);

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
    std::fprintf(out, "\n%-22s %12s %12s %9s\n", "cache", "lookups", "hits", "hit rate");
    auto row = [&](const char *n, const struct ims_cache_stats &s) {
        std::fprintf(out, "%-22s %12" PRIu64 " %12" PRIu64 " %8.2f%%\n", n, s.lookups, s.hits,
                     100.0 * rate(s.hits, s.lookups));
    };
    row("context cache", c.ctx_cache);
    row("IOTLB", c.iotlb);
    static const char *psc_names[] = {"", "", "PSC L2 (PDE)", "PSC L3 (PDPE)", "PSC L4 (PML4E)", "PSC L5 (PML5E)"};
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        if (in.cfg->iommu.psc[l].sets && in.cfg->iommu.psc[l].ways)
            row(psc_names[l], c.psc[l]);

    std::fprintf(out, "\nwalks %" PRIu64 ", table reads %" PRIu64 " (%.2f per walk), context reads %" PRIu64
                      ", misses merged into walks in flight %" PRIu64 "\n",
                 c.walks, c.ptw_reads, rate(c.ptw_reads, c.walks), c.ctx_reads, t.merged);
    std::fprintf(out, "walkers %u: occupancy %.4f%%, walks that waited %" PRIu64 ", queueing delay mean %.1f max %" PRIu64
                      " cycles; input stalled %" PRIu64 " request-cycles\n",
                 in.walkers, 100.0 * rate(t.walk_cycles, span * in.walkers), t.queued, rate(t.queue_cycles, t.walks),
                 t.queue_max, t.input_stall_cycles);
    std::fprintf(out, "memory: %" PRIu64 " accesses, %" PRIu64 " table-read cache hits, %" PRIu64
                      " cycles waiting for bandwidth/slots\n",
                 in.mem->accesses(), in.mem->cache_hits(), in.mem->stall_cycles());
    std::fprintf(out, "invalidations: IOTLB %" PRIu64 ", context %" PRIu64 ", mean completion %.1f cycles\n",
                 t.inv_iotlb, t.inv_ctx, rate(t.inv_cycles, t.inv_iotlb + t.inv_ctx));
    std::fprintf(out, "fault queue: %" PRIu64 " records written, %" PRIu64 " dropped (full), %" PRIu64
                      " suppressed (FPD)\n",
                 c.fault_records, c.fault_dropped, c.fault_suppressed);
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
    const Cycles span = r.end_cycle > r.start_cycle ? r.end_cycle - r.start_cycle : 0;
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
    o.f("  \"checked\": %" PRIu64 ",\n  \"mismatches\": %" PRIu64 ",\n  \"cycles\": %" PRIu64 ",\n", r.checked,
        r.mismatches, span);
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
    json_cache(o, "context_cache", c.ctx_cache, true);
    json_cache(o, "iotlb", c.iotlb, true);
    o.f("  \"psc\": {\n");
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
        char n[8];
        std::snprintf(n, sizeof n, "l%u", l);
        o.s += "  ";
        json_cache(o, n, c.psc[l], l < IMS_MAX_LEVELS);
    }
    o.f("  },\n");
    o.f("  \"walks\": %" PRIu64 ",\n  \"ptw_reads\": %" PRIu64 ",\n  \"ptw_reads_per_walk\": %.6f,\n"
        "  \"ctx_reads\": %" PRIu64 ",\n  \"merged_misses\": %" PRIu64 ",\n",
        c.walks, c.ptw_reads, rate(c.ptw_reads, c.walks), c.ctx_reads, t.merged);
    o.f("  \"walker\": {\"count\": %u, \"occupancy\": %.6f, \"queued\": %" PRIu64 ", \"queue_delay_mean\": %.3f, "
        "\"queue_delay_max\": %" PRIu64 ", \"input_stall_cycles\": %" PRIu64 "},\n",
        in.walkers, rate(t.walk_cycles, span * in.walkers), t.queued, rate(t.queue_cycles, t.walks), t.queue_max,
        t.input_stall_cycles);
    o.f("  \"memory\": {\"accesses\": %" PRIu64 ", \"cache_hits\": %" PRIu64 ", \"stall_cycles\": %" PRIu64 "},\n",
        in.mem->accesses(), in.mem->cache_hits(), in.mem->stall_cycles());
    o.f("  \"invalidations\": {\"iotlb\": %" PRIu64 ", \"context\": %" PRIu64 ", \"mean_latency_cycles\": %.3f},\n",
        t.inv_iotlb, t.inv_ctx, rate(t.inv_cycles, t.inv_iotlb + t.inv_ctx));
    o.f("  \"fault_queue\": {\"records\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"suppressed\": %" PRIu64 "},\n",
        c.fault_records, c.fault_dropped, c.fault_suppressed);
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
        r.translations, r.faults, r.mismatches, rate(in.core->iotlb.hits, in.core->iotlb.lookups), h.mean(),
        h.percentile(0.5), h.percentile(0.99), h.max());
    return write_whole(out, o.s, err);
}

}  // namespace ims
