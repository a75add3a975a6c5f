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

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
// forms, no surrogates, at most U+10FFFF), or 0 if it is not one.
std::size_t utf8_len(const std::string &s, std::size_t i)
{
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size())
        return 0;
    std::uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (std::size_t k = 1; k < n; k++) {
        const unsigned char d = static_cast<unsigned char>(s[i + k]);
        if ((d >> 6) != 2)
            return 0;
        cp = (cp << 6) | (d & 0x3f);
    }
    static const std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

// A JSON string. JSON text must be UTF-8 (RFC 8259, 8.1), or readers refuse
// the whole file; a byte that is not part of well-formed UTF-8 (a file name
// in another encoding) is written as the code point of the same value,
// \u00XX, as Latin-1 would read it.
std::string json_str(const std::string &s)
{
    std::string o = "\"";
    for (std::size_t i = 0; i < s.size();) {
        const char c = s[i];
        const std::size_t n = utf8_len(s, i);
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (n == 0 || static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned char>(c));
            o += b;
        } else {
            o.append(s, i, n);
            i += n;
            continue;
        }
        i++;
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

// Calls row(name, view) for each cache the text report lists: the context
// cache, the IOTLB, and each paging-structure cache the configuration has.
template <class F> void each_cache_row(const ReportInputs &in, F row)
{
    static const char *const psc_names[] = {"", "", "PSC L2 (PDE)", "PSC L3 (PDPE)", "PSC L4 (PML4E)",
                                            "PSC L5 (PML5E)"};
    const ims_stats &c = *in.core;
    const IommuTimingStats &t = *in.timing;
    row("context cache", cache_view(c.ctx_cache, t.ctx_merged));
    row("IOTLB", iotlb_view(in));
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        if (in.cfg->iommu.psc[l].sets && in.cfg->iommu.psc[l].ways)
            row(psc_names[l], cache_view(c.psc[l], t.psc_merged[l]));
}

void json_cache(Out &o, const char *name, const CacheView &v, bool comma)
{
    const struct ims_cache_stats &c = v.s;
    o.f("  \"%s\": {\"lookups\": %" PRIu64 ", \"hits\": %" PRIu64 ", \"misses\": %" PRIu64 ", \"merged\": %" PRIu64
        ", \"hit_rate\": %.6f, \"fills\": %" PRIu64 ", \"evictions\": %" PRIu64 ", \"invalidated\": %" PRIu64 "}%s\n",
        name, c.lookups, c.hits, c.misses, v.merged, rate(c.hits, c.lookups), c.fills, c.evictions, c.invalidated,
        comma ? "," : "");
}

// ---- Page requests (docs/stats.md "pri": present only when the trace had any) ----

void json_pri(Out &o, const RunStats &r)
{
    const ims_replay_pri_stats &p = r.pri;
    const LatHist &h = r.pri_latency;
    o.f("  \"pri\": {\"page_requests\": %" PRIu64 ", \"groups\": %" PRIu64 ", \"queued\": %" PRIu64
        ", \"overflows\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"refused\": %" PRIu64 ", \"auto_responses\": %" PRIu64
        ", \"responses\": {\"success\": %" PRIu64 ", \"invalid\": %" PRIu64 ", \"failure\": %" PRIu64
        "}, \"stale_responses\": %" PRIu64 ", \"retries\": %" PRIu64 ", \"retry_no_access\": %" PRIu64
        ", \"untranslated\": %" PRIu64 ", \"queue_entries\": %u, \"latency\": {\"count\": %" PRIu64
        ", \"mean\": %.3f, \"p50\": %" PRIu64 ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"max\": %" PRIu64 "}},\n",
        p.page_requests, p.groups, p.queued, p.overflows, p.dropped, p.refused, p.auto_responses, p.resp_success,
        p.resp_invalid, p.resp_failure, p.stale_responses, p.retries, p.retry_no_access, p.untranslated,
        p.queue_entries, h.count(), h.mean(), h.percentile(0.5), h.percentile(0.9), h.percentile(0.99), h.max());
}

// ---- Scalable mode (docs/stats.md: present only when the trace is) ----

void json_scalable(Out &o, const ReportInputs &in)
{
    const auto &s = in.core->sm;
    json_cache(o, "pasid_cache", cache_view(s.pasid_cache, 0), true);
    o.f("  \"scalable\": {\"pasid_dir_reads\": %" PRIu64 ", \"pasid_entry_reads\": %" PRIu64
        ", \"first_level_reads\": %" PRIu64 ", \"nested_second_level_reads\": %" PRIu64
        ", \"second_level_reads\": %" PRIu64 ", \"ad_writes\": %" PRIu64 ", \"walks_first_level\": %" PRIu64
        ", \"walks_nested\": %" PRIu64 ", \"walks_second_level\": %" PRIu64 ", \"passthrough\": %" PRIu64
        ", \"inv_pasid_cache\": %" PRIu64 ", \"inv_piotlb\": %" PRIu64 "},\n",
        s.pasid_dir_reads, s.pasid_entry_reads, s.fl_reads, s.nested_sl_reads, s.sl_reads, s.ad_writes, s.walks_fl,
        s.walks_nested, s.walks_sl, s.passthru, s.inv_pasid_cache, s.inv_piotlb);
}

// ---- Miss classes (stats.miss_classes; docs/stats.md, "Miss classes") ----

// A cache's misses by class; the core's misses plus the merged ones (which
// the core saw as hits) make the report's misses.
void json_class_counts(Out &o, const struct ims_cache_stats &s, std::uint64_t merged)
{
    o.f("{");
    for (unsigned k = 0; k < IMS_MISS_CLASSES; k++)
        o.f("\"%s\": %" PRIu64 ", ", ims_miss_class_name(k), s.miss_class[k]);
    o.f("\"merged\": %" PRIu64 "}", merged);
}

// The used rows of a per-id table, sorted by id; the shared row of ids
// beyond IMS_STATS_IDS (if used) last.
std::vector<const ims_id_stats *> id_rows(const ims_id_stats *rows, std::uint32_t n)
{
    std::vector<const ims_id_stats *> v;
    for (std::uint32_t i = 0; i < n; i++)
        v.push_back(&rows[i]);
    std::sort(v.begin(), v.end(), [](const ims_id_stats *a, const ims_id_stats *b) { return a->id < b->id; });
    if (rows[IMS_STATS_IDS].used)
        v.push_back(&rows[IMS_STATS_IDS]);
    return v;
}

void json_id_rows(Out &o, const char *name, const char *id_key, const ims_id_stats *rows, std::uint32_t n, bool rid)
{
    o.f("    \"%s\": [", name);
    const std::vector<const ims_id_stats *> v = id_rows(rows, n);
    for (std::size_t i = 0; i < v.size(); i++) {
        const ims_id_stats &r = *v[i];
        const bool shared = &r == &rows[IMS_STATS_IDS];
        o.f("%s\n      {\"%s\": ", i ? "," : "", id_key);
        if (shared)
            o.f("null");
        else if (rid)
            o.s += json_str(bdf(static_cast<std::uint16_t>(r.id)));
        else
            o.f("%u", r.id);
        o.f(", \"lookups\": %" PRIu64 ", \"hits\": %" PRIu64 ", \"misses\": %" PRIu64, r.lookups, r.hits, r.misses);
        for (unsigned k = 0; k < IMS_MISS_CLASSES; k++)
            o.f(", \"%s\": %" PRIu64, ims_miss_class_name(k), r.miss_class[k]);
        o.f("}");
    }
    o.f("%s]", v.empty() ? "" : "\n    ");
}

void json_miss_classes(Out &o, const ReportInputs &in)
{
    const ims_stats &c = *in.core;
    const IommuTimingStats &t = *in.timing;
    o.f("  \"miss_classes\": {\n    \"context_cache\": ");
    json_class_counts(o, c.ctx_cache, cache_view(c.ctx_cache, t.ctx_merged).merged);
    o.f(",\n    \"iotlb\": ");
    json_class_counts(o, c.iotlb, iotlb_view(in).merged);
    o.f(",\n    \"psc\": {");
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
        o.f("%s\"l%u\": ", l > 2 ? ", " : "", l);
        json_class_counts(o, c.psc[l], cache_view(c.psc[l], t.psc_merged[l]).merged);
    }
    o.f("},\n");
    json_id_rows(o, "iotlb_by_domain", "did", c.by_did, c.n_did, false);
    o.f(",\n");
    json_id_rows(o, "iotlb_by_device", "rid", c.by_rid, c.n_rid, true);
    o.f("\n  },\n");
}

// The text form: misses by class per cache, then the IOTLB per domain and
// per device, the kTopIds with the most misses.
constexpr std::size_t kTopIds = 10;

void text_id_rows(std::FILE *out, const char *what, const ims_id_stats *rows, std::uint32_t n, bool rid)
{
    std::vector<const ims_id_stats *> v = id_rows(rows, n);
    std::stable_sort(v.begin(), v.end(),
                     [](const ims_id_stats *a, const ims_id_stats *b) { return a->misses > b->misses; });
    std::fprintf(out, "IOTLB by %s%s:\n%-10s %12s %12s %12s %12s %12s %12s %12s\n", what,
                 v.size() > kTopIds ? " (the 10 with the most misses)" : "", rid ? "device" : "domain", "lookups",
                 "hits", "misses", "compulsory", "invalidation", "capacity", "conflict");
    for (std::size_t i = 0; i < v.size() && i < kTopIds; i++) {
        const ims_id_stats &r = *v[i];
        char id[16];
        if (&r == &rows[IMS_STATS_IDS])
            std::snprintf(id, sizeof id, "others");
        else if (rid)
            std::snprintf(id, sizeof id, "%s", bdf(static_cast<std::uint16_t>(r.id)).c_str());
        else
            std::snprintf(id, sizeof id, "%u", r.id);
        std::fprintf(out, "%-10s %12" PRIu64 " %12" PRIu64 " %12" PRIu64, id, r.lookups, r.hits, r.misses);
        for (unsigned k = 0; k < IMS_MISS_CLASSES; k++)
            std::fprintf(out, " %12" PRIu64, r.miss_class[k]);
        std::fprintf(out, "\n");
    }
    if (v.size() > kTopIds)
        std::fprintf(out, "(%zu more %s not shown: every row is in the JSON's miss_classes.iotlb_by_%s)\n",
                     v.size() - kTopIds, rid ? "devices" : "domains", rid ? "device" : "domain");
}

void text_miss_classes(std::FILE *out, const ReportInputs &in)
{
    const ims_stats &c = *in.core;
    std::fprintf(out, "\nmisses by class:\n%-22s %12s %12s %12s %12s %12s %12s\n", "cache", "misses", "compulsory",
                 "invalidation", "capacity", "conflict", "merged");
    auto row = [&](const char *n, const CacheView &v) {
        std::fprintf(out, "%-22s %12" PRIu64, n, v.s.misses);
        for (unsigned k = 0; k < IMS_MISS_CLASSES; k++)
            std::fprintf(out, " %12" PRIu64, v.s.miss_class[k]);
        std::fprintf(out, " %12" PRIu64 "\n", v.merged);
    };
    each_cache_row(in, row);
    std::fprintf(out, "(capacity: a fully associative LRU cache of as many entries would miss too; conflict: it "
                      "would hit; invalidation: the entry was removed by an invalidation)\n");
    text_id_rows(out, "domain", c.by_did, c.n_did, false);
    text_id_rows(out, "device", c.by_rid, c.n_rid, true);
    std::fprintf(out, "(per domain and device: the core's view, in which a miss merged into a fill in flight is a "
                      "hit)\n");
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

// Cycles to nanoseconds at the IOMMU clock.
double ns(double cycles, std::uint32_t mhz) { return cycles * 1000.0 / mhz; }

std::string json_str_list(const std::vector<std::string> &v)
{
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); i++)
        s += (i ? ", " : "") + json_str(v[i]);
    return s + "]";
}

// The JSON's inputs: what produced the numbers. The provenance object is one
// line (build, command line, wall time: what differs between two runs of the
// same point); every other line follows from the inputs alone.
void json_inputs(Out &o, const ReportInputs &in)
{
    const RunMeta *m = in.meta;
    if (m) {
        char wall[32];
        std::snprintf(wall, sizeof wall, "%.3f", in.wall_seconds);
        o.s += "  \"provenance\": {\"version\": " + json_str(m->version) + ", \"git\": " + json_str(m->git) +
               ", \"command\": " + json_str_list(m->command) + ", \"config_path\": " + json_str(m->config_path) +
               ", \"config_from\": " + json_str(m->config_from) + ", \"wall_seconds\": " + wall +
               ", \"read_ahead\": " + (m->read_ahead ? "true" : "false") + "},\n";
        o.s += "  \"overrides\": " + json_str_list(m->overrides) + ",\n";
    }
    o.f("  \"seed\": %" PRIu64 ",\n", in.cfg->seed);
    if (m) {
        const TraceSummary &t = m->trace;
        o.s += "  \"trace_info\": {\"digest\": " + (t.digest.empty() ? std::string("null") : json_str(t.digest));
        if (t.digest.empty())  // not a regular file: its size is not known either
            o.s += ", \"file_bytes\": null, ";
        else
            o.f(", \"file_bytes\": %" PRIu64 ", ", t.file_bytes);
        o.s += "\"form\": " + json_str(t.form);
        o.f(", \"version\": %u, ", t.version);
        o.s += "\"creator\": " + json_str(t.creator) + ", \"source\": " + json_str(t.source);
        o.f(", \"devices\": %d, \"bridges\": %d},\n", t.devices, t.bridges);
    }
    // Every key, as a configuration file would set it: strings, so that
    // lists, policy names and addresses keep their form and read back exactly.
    o.f("  \"effective_config\": {\n");
    const std::size_t n = ims_sim_cfg_keys();
    for (std::size_t i = 0; i < n; i++) {
        char v[512];  // (riommu.rings: a list as long as a configuration line)
        const char *k = ims_sim_cfg_key(i);
        ims_sim_cfg_get(in.cfg, k, v, sizeof v);
        o.s += "    " + json_str(k) + ": " + json_str(v) + (i + 1 < n ? ",\n" : "\n");
    }
    o.f("  },\n");
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
    if (s.not_checked)
        std::fprintf(out, "  walks the RTL walker does not make (first-level, nested; timed by the TLM walker) %" PRIu64
                          "\n",
                     s.not_checked);
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
    if (s.late_entries)
        std::fprintf(out, "  walks that entered the RTL later than they started (before the oldest snapshot) %" PRIu64
                          "\n",
                     s.late_entries);
    if (s.delayed_entries)
        std::fprintf(out, "  walks that entered the RTL after their start (arrival order) %" PRIu64 "\n", s.delayed_entries);
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
        ", \"delayed_entries\": %" PRIu64 ", \"late_entries\": %" PRIu64 ",\n",
        s.rtl_cycles, s.replays, s.rtl_cycles_spanned, s.delayed_entries, s.late_entries);
    o.f("    \"not_checked\": %" PRIu64 ",\n", s.not_checked);
    // The one figure here that depends on the machine (wall time): on a line of its own.
    o.f("    \"rtl_cycles_per_second\": %.0f},\n",
        s.rtl_seconds > 0 ? static_cast<double>(s.rtl_cycles) / s.rtl_seconds : 0.0);
}

}  // namespace

// The miss-class keys (with stats.miss_classes).
void miss_class_terms(std::vector<ReportTerm> *t)
{
    static const char *const cls[][2] = {
        {"compulsory", "misses of keys never cached before"},
        {"invalidation", "misses of keys whose last copy an invalidation removed (not a replacement)"},
        {"capacity", "other misses a fully associative LRU cache of as many entries misses too"},
        {"conflict", "other misses that fully associative LRU cache hits"},
    };
    static const char *const cache[][2] = {
        {"context_cache", "context cache"},  {"iotlb", "IOTLB"},
        {"psc.l2", "PDE cache (level 2)"},   {"psc.l3", "PDPE cache (level 3)"},
        {"psc.l4", "PML4E cache (level 4)"}, {"psc.l5", "PML5E cache (level 5)"},
    };
    for (const auto &c : cache) {
        for (const auto &k : cls)
            t->push_back({std::string("miss_classes.") + c[0] + "." + k[0], std::string(c[1]) + ": " + k[1]});
        t->push_back({std::string("miss_classes.") + c[0] + ".merged",
                      std::string(c[1]) + ": misses merged into a fill in flight (the core saw a hit); with the "
                                          "four classes they make the misses"});
    }
    static const char *const tab[][4] = {
        {"iotlb_by_domain", "did", "the domain id (null: the row shared by domains beyond 256)", "the domain's"},
        {"iotlb_by_device", "rid", "the requester id the IOMMU sees, bus:dev.fn (null: the row shared beyond 256)",
         "the device's"},
    };
    for (const auto &r : tab) {
        const std::string p = std::string("miss_classes.") + r[0] + "[].";
        const std::string who = r[3];
        t->push_back({p + r[1], r[2]});
        t->push_back({p + "lookups", who + " IOTLB lookups (the core's view: merged misses are hits)"});
        t->push_back({p + "hits", who + " IOTLB hits"});
        t->push_back({p + "misses", who + " IOTLB misses (the four classes sum to it)"});
        for (const auto &k : cls)
            t->push_back({p + k[0], who + " " + k[1]});
    }
}

std::vector<ReportTerm> report_terms()
{
    std::vector<ReportTerm> t = {
        {"schema", "what this file is: iommusim-run/N, N the JSON layout's version"},
        {"trace", "the trace replayed, as given on the command line"},
        {"config", "the design point named by --config (or recorded by --config-from)"},
        {"provenance.version", "iommusim version that wrote the file"},
        {"provenance.git", "git describe of the build's checkout (unknown without git)"},
        {"provenance.command[]", "the command line, one word per element"},
        {"provenance.config_path", "the configuration file read (empty with --config-from)"},
        {"provenance.config_from", "the run result the configuration was taken from (--config-from), or empty"},
        {"provenance.wall_seconds", "host time the simulation took, s (varies run to run)"},
        {"provenance.read_ahead", "whether the trace was decompressed on a thread of its own (run --read-ahead)"},
        {"overrides[]", "key=value settings applied over the configuration (--set), in order"},
        {"seed", "seed of every random choice (random replacement, table-read cache)"},
        {"trace_info.digest", "sha256: and the SHA-256 of the trace file's bytes; null if not a regular file"},
        {"trace_info.file_bytes", "size of the trace file, bytes (compressed size for .itr.zst)"},
        {"trace_info.form", "trace form: binary, zstd or text"},
        {"trace_info.version", "trace format version in its header"},
        {"trace_info.creator", "tool that wrote the trace (header)"},
        {"trace_info.source", "how the trace was made: recording command or generator and seed (header)"},
        {"trace_info.devices", "devices in the trace header's topology"},
        {"trace_info.bridges", "bridges in the trace header's topology"},
        {"effective_config.<key>", "every configuration key after --config and --set, as a file would set it"},
        {"clock_mhz", "IOMMU clock, MHz (cycles to ns: cycles * 1000 / clock_mhz)"},
        {"records", "trace records read (whole run)"},
        {"dma_records", "DMA records read (whole run)"},
        {"warmup_dma_records", "DMA records excluded as warm-up"},
        {"translations", "requests translated in the measured phase (DMA records split at 4 KiB)"},
        {"bytes", "bytes of DMA translated in the measured phase"},
        {"faults", "translations that faulted"},
        {"expected_faults", "translations the trace marked as faulting in the recording"},
        {"requests_simulated", "every request simulated, warm-up included (what speed figures count)"},
        {"checked", "translations compared with the recording (whole run)"},
        {"mismatches", "compared translations that disagreed with the recording; non-zero: exit status 1"},
        {"reordered", "open loop: DMA records issued late, after another device's later timestamp (whole run)"},
        {"cycles", "measured span, cycles (= time.measured_cycles)"},
        {"time.total_cycles", "simulated time from cycle 0 to the last completion, cycles"},
        {"time.first_dma_cycle", "cycle the first DMA request was issued"},
        {"time.dma_span_cycles", "first DMA request issued to the last completion, cycles"},
        {"time.measured_start_cycle", "cycle the first request after warm-up was issued"},
        {"time.measured_cycles", "first request after warm-up to the last completion, cycles"},
        {"throughput.translations_per_us", "translations per microsecond over the measured span"},
        {"throughput.gbytes_per_s", "bytes translated per nanosecond (GB/s) over the measured span"},
        {"warnings[].code", "why the numbers may mislead: a stable code (docs/stats.md)"},
        {"warnings[].text", "the warning in words"},
    };
    // The latency summaries in both units, the histogram, the caches (which
    // share a layout), then the rest.
    static const char *const lat[][2] = {
        {"min", "shortest"}, {"mean", "mean"}, {"p50", "median"}, {"p90", "90th-percentile"},
        {"p99", "99th-percentile"}, {"p999", "99.9th-percentile"}, {"max", "longest"},
    };
    for (const char *unit : {"cycles", "ns"})
        for (const auto &l : lat)
            t.push_back({std::string("latency_") + unit + "." + l[0],
                         std::string(l[1]) + " translation latency (arrival to leaving the IOMMU), " + unit});
    for (const ReportTerm &h : std::vector<ReportTerm>{
        {"latency_histogram[].lo", "bucket's lowest translation latency, cycles"},
        {"latency_histogram[].hi", "bucket's highest translation latency, cycles"},
        {"latency_histogram[].count", "translations in the bucket"},
        {"latency_percentiles[]", "translation latency percentiles p0 (min) .. p100 (max) in steps of 1%, cycles"},
         })
        t.push_back(h);
    static const char *const cache[][2] = {
        {"context_cache", "context cache"}, {"iotlb", "IOTLB"},
        {"psc.l2", "PDE cache (level 2)"},  {"psc.l3", "PDPE cache (level 3)"},
        {"psc.l4", "PML4E cache (level 4)"}, {"psc.l5", "PML5E cache (level 5)"},
        {"pasid_cache", "scalable mode only: PASID cache"},
    };
    static const char *const field[][2] = {
        {"lookups", "lookups"},
        {"hits", "lookups that found the entry ready"},
        {"misses", "lookups that did not find it ready (merged ones included)"},
        {"merged", "misses that waited for a fill already in flight"},
        {"hit_rate", "hits / lookups"},
        {"fills", "entries filled"},
        {"evictions", "entries evicted by a fill"},
        {"invalidated", "entries removed by invalidations"},
    };
    for (const auto &c : cache)
        for (const auto &f : field)
            t.push_back({std::string(c[0]) + "." + f[0], std::string(c[1]) + ": " + f[1]});
    miss_class_terms(&t);
    const std::vector<ReportTerm> rest = {
        {"walks", "second-level page walks"},
        {"ptw_reads", "page-table reads of the walks"},
        {"ptw_reads_per_walk", "ptw_reads / walks"},
        {"ctx_reads", "root- and context-entry reads"},
        {"merged_misses", "IOTLB misses merged into a walk in flight for the same page (= iotlb.merged)"},
        {"walker.count", "page walkers (walker.count)"},
        {"walker.occupancy", "busy fraction of the walkers over the measured span"},
        {"walker.queued", "walks that waited for a walker"},
        {"walker.queue_delay_mean", "mean wait for a walker per walk, cycles"},
        {"walker.queue_delay_max", "longest wait for a walker, cycles"},
        {"walker.queue_delay_mean_ns", "mean wait for a walker per walk, ns"},
        {"walker.queue_delay_max_ns", "longest wait for a walker, ns"},
        {"walker.input_stall_cycles", "request-cycles spent at a stalled input (walk queue full)"},
        {"walker.wait_fraction", "(input stall + walker wait) / total translation latency: the overload criterion"},
        {"memory.accesses", "timed memory accesses of the IOMMU (measured phase)"},
        {"memory.cache_hits", "table reads that hit a cache on the way (mem.ptw_cache_hit)"},
        {"memory.stall_cycles", "cycles table reads waited for bandwidth or a slot"},
        {"invalidations.iotlb", "IOTLB invalidation commands"},
        {"invalidations.context", "context-cache invalidation commands"},
        {"invalidations.mean_latency_cycles", "mean invalidation completion latency, cycles"},
        {"invalidations.mean_latency_ns", "mean invalidation completion latency, ns"},
        {"fault_queue.records", "fault records written to the fault queue"},
        {"fault_queue.dropped", "fault records dropped: queue full"},
        {"fault_queue.suppressed", "fault records suppressed by FPD"},
        {"ats_no_access", "ATS translation requests completed with R=W=0 (no translation; not faults)"},
        {"iotlb_prefetch.candidates", "pages the prefetch policy named on demand misses (iotlb.prefetch; 0 with none)"},
        {"iotlb_prefetch.cached", "of those: already in the IOTLB, not walked"},
        {"iotlb_prefetch.issued", "prefetch walks made"},
        {"iotlb_prefetch.filled", "prefetch walks that found a translation and inserted it"},
        {"iotlb_prefetch.unmapped", "prefetch walks that found no translation: nothing inserted"},
        {"iotlb_prefetch.useful", "prefetched entries hit before they left the IOTLB"},
        {"iotlb_prefetch.useless", "prefetched entries evicted or invalidated before any hit"},
        {"iotlb_prefetch.reads", "paging-entry reads of the prefetch walks (not in ptw_reads)"},
        {"iotlb_prefetch_buffer.entries", "iotlb.prefetch_buffer set (with a policy) only: the prefetch buffer's entries"},
        {"iotlb_prefetch_buffer.hits", "IOTLB misses the prefetch buffer served (entry moved into the IOTLB; counted in iotlb.hits and iotlb_prefetch.useful)"},
        {"iotlb_prefetch_on_map.hints", "iotlb.prefetch_on_map set only: replayed maps hinted to the IOMMU"},
        {"iotlb_prefetch_on_map.dropped", "of those: dropped, no context entry of the domain cached"},
        {"iotlb_prefetch_on_map.candidates", "the hints' pages (in iotlb_prefetch.candidates)"},
        {"iotlb_prefetch_on_map.issued", "the hints' walks (in iotlb_prefetch.issued)"},
        {"riommu.rings", "riommu.rings set only: rIOMMU rings"},
        {"riommu.hits", "ring-slot requests the rIOTLB served (current slot, or the read-ahead next one)"},
        {"riommu.misses", "ring-slot requests that read the slot's flat entry on their path"},
        {"riommu.hit_rate", "riommu.hits / (hits + misses)"},
        {"riommu.table_reads", "flat-table reads: misses and next-slot read-aheads (not in ptw_reads)"},
        {"riommu.prefetches", "of those: next-slot read-aheads"},
        {"riommu.faults", "ring-slot requests that faulted (slot not mapped, or no permission)"},
        {"riommu.inv_elided", "IOTLB invalidations covering ring slots only: elided (not in invalidations.iotlb)"},
        {"riommu.slot_writes", "flat entries the replayed maps wrote and unmaps cleared"},
        {"atc.devices", "atc.entries > 0 only: devices with an ATC (attached with TT = device TLB; whole run)"},
        {"atc.lookups", "requests of devices with an ATC, each looked up in its ATC"},
        {"atc.hits", "ATC lookups that found the page with the access's permission (translated request only)"},
        {"atc.misses", "ATC lookups that sent a translation request first"},
        {"atc.hit_rate", "atc.hits / atc.lookups"},
        {"atc.translation_requests", "ATS translation requests the devices sent on ats_in"},
        {"atc.no_access", "translation completions granting the access nothing (R=W=0): the access went untranslated"},
        {"atc.translation_faults", "translation requests the IOMMU faulted: no access was sent"},
        {"atc.translated_requests", "accesses sent translated (AT=10b) on dma_in"},
        {"atc.fills", "ATC entries filled from translation completions"},
        {"atc.evictions", "ATC entries evicted by a fill"},
        {"atc.invalidations", "device-TLB invalidations (legacy: one per ATC device of a domain per IOTLB invalidation; scalable: the trace's)"},
        {"atc.invalidated", "ATC entries those invalidations removed"},
        {"pri.page_requests", "page requests the devices attached sm dte pre sent (parts held: no access under a PASID); pri present only when not 0"},
        {"pri.groups", "page request groups (one per DMA record with held parts)"},
        {"pri.queued", "page request descriptors written to the page request queue"},
        {"pri.overflows", "page requests that found the queue full (PRO set)"},
        {"pri.dropped", "page requests dropped while PRO was set"},
        {"pri.refused", "page requests not queued: PRE clear or no queue"},
        {"pri.auto_responses", "page request groups the IOMMU answered itself (overflow, drop: Success; refusal: Invalid)"},
        {"pri.responses.success", "pgresp records with Success for an outstanding group"},
        {"pri.responses.invalid", "pgresp records with Invalid Request for an outstanding group"},
        {"pri.responses.failure", "pgresp records with Response Failure for an outstanding group"},
        {"pri.stale_responses", "pgresp records for a group the IOMMU had answered itself"},
        {"pri.retries", "held parts sent again after a Success (translation request, then the access)"},
        {"pri.retry_no_access", "retries that again got no access (sent untranslated: the IOMMU faults them)"},
        {"pri.untranslated", "held parts sent untranslated without a retry (refused, invalid, failure)"},
        {"pri.queue_entries", "the page request queue's descriptors (pri.queue_entries)"},
        {"pri.latency.count", "retried parts"},
        {"pri.latency.mean", "mean cycles from a retried part's first issue to its retry's completion"},
        {"pri.latency.p50", "median of those cycles"},
        {"pri.latency.p90", "90th percentile of those cycles"},
        {"pri.latency.p99", "99th percentile of those cycles"},
        {"pri.latency.max", "longest of those cycles"},
        {"scalable.pasid_dir_reads", "scalable mode only: PASID-directory entry reads"},
        {"scalable.pasid_entry_reads", "scalable mode only: PASID-table entry reads"},
        {"scalable.first_level_reads", "scalable mode only: first-level paging-entry reads (first-level and nested walks)"},
        {"scalable.nested_second_level_reads",
         "scalable mode only: second-level entry reads of nested walks (translating each first-level table address "
         "and the result)"},
        {"scalable.second_level_reads", "scalable mode only: second-level entry reads of second-level-only walks"},
        {"scalable.ad_writes", "scalable mode only: first-level accessed/dirty updates written"},
        {"scalable.walks_first_level", "scalable mode only: walks of PGTT first-level entries"},
        {"scalable.walks_nested", "scalable mode only: walks of PGTT nested entries"},
        {"scalable.walks_second_level", "scalable mode only: walks of PGTT second-level entries"},
        {"scalable.passthrough", "scalable mode only: translations of PGTT pass-through entries"},
        {"scalable.inv_pasid_cache", "scalable mode only: PASID-cache invalidation commands"},
        {"scalable.inv_piotlb", "scalable mode only: PASID-based IOTLB invalidation commands"},
        {"fault_reasons.<reason>", "faults per VT-d fault reason, keyed by the reason in hex (\"0x5\")"},
        {"cosim.impl", "walker.impl rtl or lockstep: who made the walks (no cosim object with tlm)"},
        {"cosim.walks", "walks the RTL walker made (whole run, warm-up included)"},
        {"cosim.mismatches", "RTL walks that disagreed with the C core; non-zero: exit status 1"},
        {"cosim.mismatch_fields.pa", "RTL walks whose output address differed from the C core's"},
        {"cosim.mismatch_fields.page_size", "RTL walks whose page size differed"},
        {"cosim.mismatch_fields.perm", "RTL walks whose permissions differed"},
        {"cosim.mismatch_fields.fault", "RTL walks whose fault reason differed"},
        {"cosim.mismatch_fields.reads", "RTL walks whose ordered table-read addresses differed"},
        {"cosim.reports[]", "the first cosim.report_limit mismatching walks, each field that differed"},
        {"cosim.latency_compared", "lockstep: walks whose RTL latency was compared with the TLM walker's"},
        {"cosim.latency_error_mean_pct", "lockstep: mean |RTL - TLM| / TLM walk latency, percent (null in rtl)"},
        {"cosim.latency_error_max_cycles", "lockstep: largest |RTL - TLM| walk latency, cycles (null in rtl)"},
        {"cosim.latency_exact", "lockstep: walks whose RTL latency equalled the TLM walker's"},
        {"cosim.rtl_cycles", "RTL clock cycles evaluated (idle cycles skipped are not)"},
        {"cosim.rtl_cycles_replayed", "of those: evaluated again after a rollback"},
        {"cosim.rtl_cycles_spanned", "the last RTL cycle reached"},
        {"cosim.delayed_entries", "walks presented to the RTL after their start: they enter in arrival order"},
        {"cosim.late_entries", "walks that entered the RTL later than they started (no snapshot that far back)"},
        {"cosim.not_checked", "walks the RTL walker does not make (scalable mode's first-level and nested walks): timed by the TLM walker, checked by nothing"},
        {"cosim.rtl_cycles_per_second", "RTL cycles evaluated per second of time inside the RTL (varies run to run)"},

        {"devices[].rid", "the device's own requester id (bus:dev.fn)"},
        {"devices[].seen_as", "the requester id the IOMMU sees after bridge aliasing"},
        {"devices[].name", "the device's name in the trace header"},
        {"devices[].translations", "the device's translations (measured phase)"},
        {"devices[].faults", "the device's translations that faulted"},
        {"devices[].mismatches", "the device's translations that disagreed with the recording"},
        {"devices[].iotlb_hit_rate", "the device's IOTLB hits / translations (merged misses are not hits)"},
        {"devices[].latency_mean", "the device's mean translation latency, cycles"},
        {"devices[].latency_p99", "the device's 99th-percentile translation latency, cycles"},
        {"devices[].latency_max", "the device's longest translation latency, cycles"},
        {"devices[].latency_mean_ns", "the device's mean translation latency, ns"},
        {"devices[].latency_p99_ns", "the device's 99th-percentile translation latency, ns"},
        {"devices[].latency_max_ns", "the device's longest translation latency, ns"},
    };
    t.insert(t.end(), rest.begin(), rest.end());
    return t;
}

void report_text(const ReportInputs &in, std::FILE *out)
{

    const RunStats &r = *in.run;
    const ims_stats &c = *in.core;
    const IommuTimingStats &t = *in.timing;
    const Spans sp = spans(r);
    const Cycles span = sp.measured;
    const std::uint32_t mhz = in.cfg->clock_mhz;
    std::fprintf(out, "iommusim run: %s  (config %s, %u MHz)\n", in.trace_path, in.config_name, in.cfg->clock_mhz);
    if (in.meta && !in.meta->config_from.empty())
        std::fprintf(out, "configuration from %s\n", in.meta->config_from.c_str());
    if (in.meta && !in.meta->overrides.empty()) {
        std::string s;
        for (const std::string &kv : in.meta->overrides)
            s += (s.empty() ? "" : ", ") + kv;
        std::fprintf(out, "overrides (--set): %s\n", s.c_str());
    }
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
    std::fprintf(out, "translation latency (ns):     min %.1f  mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                 ns(h.min(), mhz), ns(h.mean(), mhz), ns(h.percentile(0.5), mhz), ns(h.percentile(0.9), mhz),
                 ns(h.percentile(0.99), mhz), ns(h.percentile(0.999), mhz), ns(h.max(), mhz));
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
    each_cache_row(in, row);
    std::fprintf(out, "(merged: misses that found the entry still being filled and waited for that fill; counted "
                      "as misses)\n");
    if (in.cfg->iommu.miss_classes)
        text_miss_classes(out, in);

    std::fprintf(out, "\nwalks %" PRIu64 ", table reads %" PRIu64 " (%.2f per walk), context reads %" PRIu64
                      ", misses merged into walks in flight %" PRIu64 "\n",
                 c.walks, c.ptw_reads, rate(c.ptw_reads, c.walks), c.ctx_reads, t.merged);
    std::fprintf(out, "walkers %u: occupancy %.4f%%, walks that waited %" PRIu64 ", queueing delay mean %.1f max %" PRIu64
                      " cycles (%.1f / %.1f ns); input stalled %" PRIu64 " request-cycles; waiting share of latency %.2f%%\n",
                 in.walkers, 100.0 * rate(t.walk_cycles, span * in.walkers), t.queued, rate(t.queue_cycles, t.walks),
                 t.queue_max, ns(rate(t.queue_cycles, t.walks), mhz), ns(t.queue_max, mhz), t.input_stall_cycles, 100.0 * wait_fraction(r, t));
    std::fprintf(out, "memory: %" PRIu64 " accesses, %" PRIu64 " table-read cache hits, %" PRIu64
                      " cycles waiting for bandwidth/slots\n",
                 in.mem->accesses() - r.mem_accesses0, in.mem->cache_hits() - r.mem_cache_hits0,
                 in.mem->stall_cycles() - r.mem_stall0);
    std::fprintf(out, "invalidations: IOTLB %" PRIu64 ", context %" PRIu64 ", mean completion %.1f cycles (%.1f ns)\n",
                 t.inv_iotlb, t.inv_ctx, rate(t.inv_cycles, t.inv_iotlb + t.inv_ctx),
                 ns(rate(t.inv_cycles, t.inv_iotlb + t.inv_ctx), mhz));
    std::fprintf(out, "fault queue: %" PRIu64 " records written, %" PRIu64 " dropped (full), %" PRIu64
                      " suppressed (FPD)\n",
                 c.fault_records, c.fault_dropped, c.fault_suppressed);
    if (c.ats_no_access)
        std::fprintf(out, "ATS translation requests completed with R=W=0 (no translation, not faults) %" PRIu64 "\n",
                     c.ats_no_access);
    if (in.cfg->iommu.iotlb_prefetch != IMS_PF_NONE || in.cfg->iommu.iotlb_prefetch_on_map) {
        const ims_pf_stats &p = c.pf;
        std::fprintf(out, "IOTLB prefetch %s: %" PRIu64 " candidates (%" PRIu64 " already cached), %" PRIu64
                          " walks, %" PRIu64 " filled, %" PRIu64 " unmapped; %" PRIu64 " useful, %" PRIu64
                          " useless; %" PRIu64 " table reads\n",
                     ims_pf_name(in.cfg->iommu.iotlb_prefetch), p.candidates, p.cached, p.issued, p.filled,
                     p.unmapped, p.useful, p.useless, p.reads);
        if (in.cfg->iommu.iotlb_prefetch_buffer)
            std::fprintf(out, "IOTLB prefetch buffer of %u entries: %" PRIu64 " hits (IOTLB misses it served)\n",
                         unsigned{in.cfg->iommu.iotlb_prefetch_buffer}, p.buffer_hits);
        if (in.cfg->iommu.iotlb_prefetch_on_map)
            std::fprintf(out, "IOTLB prefetch at map time: %" PRIu64 " map hints (%" PRIu64 " dropped: no context "
                              "entry of the domain cached), %" PRIu64 " pages, %" PRIu64 " walks\n",
                         p.map_hints, p.map_dropped, p.map_candidates, p.map_issued);
    }
    if (in.cfg->iommu.riommu.n_rings) {
        const ims_riommu_stats &q = c.riommu;
        std::fprintf(out, "rIOMMU %u rings: %" PRIu64 " rIOTLB hits, %" PRIu64 " misses (hit rate %.4f), %" PRIu64
                          " flat-table reads (%" PRIu64 " read ahead), %" PRIu64 " faults, %" PRIu64
                          " IOTLB invalidations elided\n",
                     in.cfg->iommu.riommu.n_rings, q.hits, q.misses, rate(q.hits, q.hits + q.misses), q.table_reads,
                     q.prefetches, q.faults, q.inv_elided);
    }
    if (r.atc.enabled || r.atc.devices)  // atc.entries > 0, or a PRI device's ATC of 0 entries
        std::fprintf(out, "device ATCs (%" PRIu64 " devices): %" PRIu64 " lookups, hit rate %.4f, %" PRIu64
                          " translation requests (%" PRIu64 " R=W=0, %" PRIu64 " faulted), %" PRIu64
                          " device-TLB invalidations removing %" PRIu64 " entries\n",
                     r.atc.devices, r.atc.lookups, rate(r.atc.hits, r.atc.lookups), r.atc.translation_requests,
                     r.atc.no_access, r.atc.translation_faults, r.atc.invalidations, r.atc.invalidated);
    if (r.pri.page_requests)
        std::fprintf(out, "page requests: %" PRIu64 " in %" PRIu64 " groups (%" PRIu64 " queued, %" PRIu64 " overflows, %" PRIu64
                          " dropped, %" PRIu64 " refused); %" PRIu64 " retries (%" PRIu64 " again without access), latency"
                          " mean %.1f p99 %" PRIu64 " max %" PRIu64 " cycles\n",
                     r.pri.page_requests, r.pri.groups, r.pri.queued, r.pri.overflows, r.pri.dropped, r.pri.refused,
                     r.pri.retries, r.pri.retry_no_access, r.pri_latency.mean(), r.pri_latency.percentile(0.99),
                     r.pri_latency.max());
    if (in.cosim)
        text_cosim(out, *in.cosim);

    for (unsigned fr = 1; fr < 256; fr++)

        if (c.fault_reason[fr])
            std::fprintf(out, "  fault 0x%x %-28s %" PRIu64 "\n", fr,
                         ims_fault_reason_name(fr) ? ims_fault_reason_name(fr) : "?", c.fault_reason[fr]);

    std::fprintf(out, "\nper device (latencies in cycles, and p99 in ns):\n%-10s %-10s %-20s %10s %8s %8s %9s %8s %8s %9s\n", "device", "seen as", "name", "requests",
                 "faults", "IOTLB%", "mean", "p99", "max", "p99 ns");
    for (const DeviceStats &d : r.devices) {
        std::fprintf(out, "%-10s %-10s %-20.20s %10" PRIu64 " %8" PRIu64 " %7.2f%% %9.1f %8" PRIu64 " %8" PRIu64 " %9.1f\n",
                     bdf(d.rid).c_str(), bdf(d.alias).c_str(), d.name.empty() ? "-" : d.name.c_str(), d.requests,
                     d.faults, 100.0 * rate(d.iotlb_hits, d.requests), d.latency.mean(), d.latency.percentile(0.99),
                     d.latency.max(), ns(d.latency.percentile(0.99), mhz));
    }
    if (in.wall_seconds > 0)
        std::fprintf(out, "\nwall time %.3f s: %.2f M translations/s\n", in.wall_seconds,
                     static_cast<double>(r.requests_simulated) / in.wall_seconds / 1e6);
    std::fprintf(out, "(every term, as its JSON key, in one line each: iommusim run --explain)\n");
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
    o.s += std::string("  \"schema\": \"") + kRunSchema + "\",\n";
    o.s += "  \"trace\": " + json_str(in.trace_path) + ",\n";
    o.s += "  \"config\": " + json_str(in.config_name) + ",\n";
    json_inputs(o, in);
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
    o.f("  \"latency_ns\": {\"min\": %.3f, \"mean\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p999\": %.3f, "
        "\"max\": %.3f},\n",
        ns(h.min(), mhz), ns(h.mean(), mhz), ns(h.percentile(0.5), mhz), ns(h.percentile(0.9), mhz),
        ns(h.percentile(0.99), mhz), ns(h.percentile(0.999), mhz), ns(h.max(), mhz));
    o.f("  \"latency_histogram\": [");
    const std::vector<std::uint64_t> lg = h.log2_counts();
    for (std::size_t k = 0; k < lg.size(); k++) {
        const Cycles lo = k ? Cycles{1} << (k - 1) : 0, hi = k ? (Cycles{1} << k) - 1 : 0;
        o.f("%s{\"lo\": %" PRIu64 ", \"hi\": %" PRIu64 ", \"count\": %" PRIu64 "}", k ? ", " : "", lo, hi, lg[k]);
    }
    o.f("],\n");
    // p0..p100 in steps of 1% (p0 = min, p100 = max): a CDF without the histogram.
    o.f("  \"latency_percentiles\": [");
    for (int p = 0; p <= 100; p++)
        o.f("%s%" PRIu64, p ? ", " : "", p == 0 ? h.min() : p == 100 ? h.max() : h.percentile(p / 100.0));
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
        "\"queue_delay_max\": %" PRIu64 ", \"input_stall_cycles\": %" PRIu64 ", \"wait_fraction\": %.6f, "
        "\"queue_delay_mean_ns\": %.3f, \"queue_delay_max_ns\": %.3f},\n",
        in.walkers, rate(t.walk_cycles, span * in.walkers), t.queued, rate(t.queue_cycles, t.walks), t.queue_max,
        t.input_stall_cycles, wait_fraction(r, t), ns(rate(t.queue_cycles, t.walks), mhz), ns(t.queue_max, mhz));
    o.f("  \"memory\": {\"accesses\": %" PRIu64 ", \"cache_hits\": %" PRIu64 ", \"stall_cycles\": %" PRIu64 "},\n",
        in.mem->accesses() - r.mem_accesses0, in.mem->cache_hits() - r.mem_cache_hits0,
        in.mem->stall_cycles() - r.mem_stall0);
    o.f("  \"invalidations\": {\"iotlb\": %" PRIu64 ", \"context\": %" PRIu64 ", \"mean_latency_cycles\": %.3f, "
        "\"mean_latency_ns\": %.3f},\n",
        t.inv_iotlb, t.inv_ctx, rate(t.inv_cycles, t.inv_iotlb + t.inv_ctx),
        ns(rate(t.inv_cycles, t.inv_iotlb + t.inv_ctx), mhz));
    o.f("  \"fault_queue\": {\"records\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"suppressed\": %" PRIu64 "},\n",
        c.fault_records, c.fault_dropped, c.fault_suppressed);
    o.f("  \"ats_no_access\": %" PRIu64 ",\n", c.ats_no_access);
    o.f("  \"iotlb_prefetch\": {\"candidates\": %" PRIu64 ", \"cached\": %" PRIu64 ", \"issued\": %" PRIu64
        ", \"filled\": %" PRIu64 ", \"unmapped\": %" PRIu64 ", \"useful\": %" PRIu64 ", \"useless\": %" PRIu64
        ", \"reads\": %" PRIu64 "},\n",
        c.pf.candidates, c.pf.cached, c.pf.issued, c.pf.filled, c.pf.unmapped, c.pf.useful, c.pf.useless, c.pf.reads);
    const bool prefetcher = in.cfg->iommu.iotlb_prefetch != IMS_PF_NONE || in.cfg->iommu.iotlb_prefetch_on_map;
    if (in.cfg->iommu.iotlb_prefetch_buffer && prefetcher)  // (docs/stats.md)
        o.f("  \"iotlb_prefetch_buffer\": {\"entries\": %u, \"hits\": %" PRIu64 "},\n",
            unsigned{in.cfg->iommu.iotlb_prefetch_buffer}, c.pf.buffer_hits);
    if (in.cfg->iommu.iotlb_prefetch_on_map)
        o.f("  \"iotlb_prefetch_on_map\": {\"hints\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"candidates\": %" PRIu64
            ", \"issued\": %" PRIu64 "},\n",
            c.pf.map_hints, c.pf.map_dropped, c.pf.map_candidates, c.pf.map_issued);
    if (in.cfg->iommu.riommu.n_rings) {  // riommu.rings set (docs/stats.md)
        const ims_riommu_stats &q = c.riommu;
        o.f("  \"riommu\": {\"rings\": %u, \"hits\": %" PRIu64 ", \"misses\": %" PRIu64 ", \"hit_rate\": %.6f, "
            "\"table_reads\": %" PRIu64 ", \"prefetches\": %" PRIu64 ", \"faults\": %" PRIu64
            ", \"inv_elided\": %" PRIu64 ", \"slot_writes\": %" PRIu64 "},\n",
            in.cfg->iommu.riommu.n_rings, q.hits, q.misses, rate(q.hits, q.hits + q.misses), q.table_reads,
            q.prefetches, q.faults, q.inv_elided, q.slot_writes);
    }
    if (r.atc.enabled || r.atc.devices) {  // atc.entries > 0, or a PRI device's ATC of 0 entries (docs/stats.md)
        const AtcStats &a = r.atc;
        o.f("  \"atc\": {\"devices\": %" PRIu64 ", \"lookups\": %" PRIu64 ", \"hits\": %" PRIu64 ", \"misses\": %" PRIu64
            ", \"hit_rate\": %.6f, \"translation_requests\": %" PRIu64 ", \"no_access\": %" PRIu64
            ", \"translation_faults\": %" PRIu64 ", \"translated_requests\": %" PRIu64 ", \"fills\": %" PRIu64
            ", \"evictions\": %" PRIu64 ", \"invalidations\": %" PRIu64 ", \"invalidated\": %" PRIu64 "},\n",
            a.devices, a.lookups, a.hits, a.misses, rate(a.hits, a.lookups), a.translation_requests, a.no_access,
            a.translation_faults, a.translated_requests, a.fills, a.evictions, a.invalidations, a.invalidated);
    }
    if (r.pri.page_requests)  // a trace with page requests only (docs/stats.md "pri")
        json_pri(o, r);
    if (in.scalable)
        json_scalable(o, in);
    if (in.cfg->iommu.miss_classes)
        json_miss_classes(o, in);
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
            ", \"latency_mean_ns\": %.3f, \"latency_p99_ns\": %.3f, \"latency_max_ns\": %.3f}%s\n",
            d.requests, d.faults, d.mismatches, rate(d.iotlb_hits, d.requests), d.latency.mean(),
            d.latency.percentile(0.99), d.latency.max(), ns(d.latency.mean(), mhz),
            ns(d.latency.percentile(0.99), mhz), ns(d.latency.max(), mhz), i + 1 < r.devices.size() ? "," : "");
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
