// `iommusim run`: replays a trace through the cycle-approximate SystemC model.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <jansson.h>

#include "cmd.h"
#include "plot.h"
#include "iommusim/cosim.hpp"
#include "iommusim/run.hpp"
#include "iommusim/version.h"

// libsystemc's own main() calls sc_main; iommusim has its own main() and
// starts the kernel with ims::run_kernel() (sc_start()) from `run`, so this is
// never called.
int sc_main(int, char **) { return 2; }

namespace {

const char kUsage[] =
    "usage: iommusim run [--config NAME|FILE] [--trace FILE] [--set key=value]...\n"
    "                    [--json FILE] [--csv FILE] [--quiet] [--print-config] [--explain]\n"
    "                    [--read-ahead auto|on|off]\n"
    "                    [--interval N[c] --interval-csv FILE] [--plot DIR [--plot-format F]]\n"
    "       iommusim run --config-from RESULT.json [--trace FILE] [--allow-trace-change] ...\n"
    "\n"
    "Replays a DMA trace through the cycle-approximate SystemC TLM model and\n"
    "prints a report: translations, faults, latency distribution, hit rates of\n"
    "every cache, walker and memory use, per-device breakdown.\n"
    "\n"
    "  --config NAME|FILE  design point: a file, or a name from configs/ (default: default)\n"
    "  --trace FILE        trace to replay (default: traces/nvme-strict.itr.zst); - reads\n"
    "                      standard input (a pipe too; then no digest in the JSON)\n"
    "  --set key=value     override one configuration key (repeatable; after --config)\n"
    "  --json FILE         also write the statistics as JSON (keys in docs/stats.md);\n"
    "                      - for stdout (then no text report)\n"
    "  --csv FILE          also write the per-device table as CSV (- for stdout)\n"
    "  --quiet             no text report on stdout\n"
    "  --print-config      print every key with its value and meaning, then exit\n"
    "  --explain           print every term of the report (JSON key) with its meaning, then exit\n"
    "  --config-from RESULT.json  rerun a point: the configuration (every key) and\n"
    "                      trace that RESULT.json (a --json output) records; not with --config;\n"
    "                      --set on top is applied and recorded. Refused if the trace's SHA-256\n"
    "                      differs from the recorded one\n"
    "  --allow-trace-change  with --config-from: a trace whose digest differs is a warning\n"
    "  --read-ahead auto|on|off\n"
    "                      decompress a .itr.zst trace on a thread of its own (results are\n"
    "                      the same either way); auto (default): on when this process may\n"
    "                      run on 3 or more CPUs (docs/performance.md, \"zstd read-ahead\")\n"
    "  --walker tlm|rtl|lockstep\n"
    "                      who walks (walker.impl): the TLM walker; the verilated RTL\n"
    "                      walker; or both, each RTL walk checked against the C core\n"
    "                      (docs/rtl.md)\n"
    "  --interval N|Nt|Nc  a time series of the measured phase (warm-up excluded): one row per\n"
    "                      N translations (N or Nt) or N cycles (Nc) into --interval-csv FILE\n"
    "                      (columns: docs/stats.md, \"Interval CSV\")\n"
    "  --plot DIR          plot this run into DIR: latency histogram and CDF (and with\n"
    "                      --interval the time series); DIR/run.json is its JSON. Needs gnuplot\n"
    "  --plot-format png|svg|both  the plots' image formats (default both)\n"
    "  --wave FILE.fst     write the RTL walker's waveform (FST; GTKWave opens it)\n"
    "  --wave-cycles A:B   only cycles A..B of it;  --wave-records A:B  only the walks\n"
    "                      of trace records A..B\n"
    "\n"
    "Exit status: 0 ok; 1 some translation disagreed with the trace's recorded\n"
    "result (mismatches > 0), or an RTL walk with the C core's (cosim.mismatches\n"
    "> 0); 2 bad arguments, configuration or trace, or an\n"
    "output that could not be written (docs/tools.md, \"Output files\").\n";

// --config ARG (ims_config_path, tools/inputs.c); empty with a message in *why.
std::string config_path(const std::string &arg, std::string *why)
{
    char msg[2048];
    char *p = ims_config_path(arg.c_str(), msg, sizeof msg);
    if (!p) {
        *why = msg;
        return std::string();
    }
    std::string s = p;
    std::free(p);
    return s;
}

// ---- Reproducible runs: --config-from, the run's inputs in its JSON, --explain ----

struct ReproOptions {
    std::string config_from;          // --config-from FILE
    bool seen_config_from = false;
    bool allow_trace_change = false;  // --allow-trace-change
    bool explain = false;             // --explain
};

// Parses one of the options above at argv[i] (advancing i past its value).
// 1: consumed; 0: not one of them; -1: an error, with the message in *err.
int repro_option(int argc, char **argv, int &i, ReproOptions &ro, std::string *err)
{
    const std::string a = argv[i];
    if (a == "--config-from") {
        if (i + 1 >= argc)
            return *err = "--config-from needs a file (a run's --json output)", -1;
        if (ro.seen_config_from)
            return *err = "--config-from given twice (one design point per run)", -1;
        ro.seen_config_from = true;
        ro.config_from = argv[++i];
        if (ro.config_from.empty())
            return *err = "--config-from: empty file name", -1;
        return 1;
    }
    if (a == "--allow-trace-change")
        return ro.allow_trace_change = true, 1;
    if (a == "--explain")
        return ro.explain = true, 1;
    return 0;
}

// "key=value" as ims_sim_cfg_set_kv applies it: key and value trimmed.
std::string normal_kv(const std::string &kv)
{
    auto trim = [](std::string s) {
        const char *ws = " \t\r\n\f\v";
        s.erase(0, s.find_first_not_of(ws));
        s.erase(s.find_last_not_of(ws) + 1);
        return s;
    };
    const std::size_t eq = kv.find('=');
    return eq == std::string::npos ? kv : trim(kv.substr(0, eq)) + "=" + trim(kv.substr(eq + 1));
}

// What --config-from takes from a run's JSON besides the configuration.
struct Recorded {
    std::string config, trace, digest;  // digest empty: none recorded (null)
    std::vector<std::string> overrides;
};

// Reads a run result (iommusim run --json) and sets cfg to its
// effective_config. Refuses a file that is not JSON, not a run result of a
// schema this version reads, or that names a key this version does not
// know; a key it lacks (a newer key than the writer knew) keeps its
// built-in default, with a warning. Returns an empty string or the message.
std::string load_config_from(const std::string &path, ims_sim_cfg *cfg, Recorded *rec)
{
    const std::string where = "--config-from " + path + ": ";
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return where + "is a directory, not a run result";
    std::FILE *f = std::fopen(path.c_str(), "r");
    if (!f)
        return where + "cannot open: " + std::strerror(errno);
    json_error_t e;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
    std::fclose(f);
    if (!root)
        return where + "not JSON: line " + std::to_string(e.line) + " column " + std::to_string(e.column) + ": " +
               e.text;
    std::string msg;
    auto str = [&](const char *key, std::string *out) -> bool {
        const json_t *v = json_object_get(root, key);
        if (!json_is_string(v)) {
            msg = where + "\"" + key + "\" is missing or not a string";
            return false;
        }
        *out = json_string_value(v);
        return true;
    };
    const json_t *schema = json_is_object(root) ? json_object_get(root, "schema") : nullptr;
    const json_t *ec = json_is_object(root) ? json_object_get(root, "effective_config") : nullptr;
    const json_t *ti = json_is_object(root) ? json_object_get(root, "trace_info") : nullptr;
    const json_t *ov = json_is_object(root) ? json_object_get(root, "overrides") : nullptr;
    if (!json_is_string(schema) || std::strncmp(json_string_value(schema), "iommusim-run/", 13) != 0) {
        msg = where + "not an iommusim run result (no \"schema\": \"iommusim-run/N\"; results written before " +
              "the schema existed do not record their configuration)";
    } else if (std::strcmp(json_string_value(schema), ims::kRunSchema) != 0) {
        msg = where + "schema " + json_string_value(schema) + ": this iommusim (" + IMS_VERSION_STRING + ") reads " +
              ims::kRunSchema + " only";
    } else if (!json_is_object(ec) || !json_is_object(ti) || !json_is_array(ov)) {
        msg = where + "not a complete run result (\"effective_config\", \"trace_info\" and \"overrides\" are required)";
    } else if (str("config", &rec->config) && str("trace", &rec->trace)) {
        const json_t *d = json_object_get(ti, "digest");
        if (json_is_string(d))
            rec->digest = json_string_value(d);
        else if (!json_is_null(d))
            msg = where + "\"trace_info.digest\" is missing or not a string";
        std::size_t i;
        const json_t *v;
        json_array_foreach(ov, i, v)
        {
            if (!json_is_string(v)) {
                msg = where + "\"overrides\" holds a value that is not a string";
                break;
            }
            rec->overrides.push_back(json_string_value(v));
        }
        const char *key;
        json_object_foreach(const_cast<json_t *>(ec), key, v)
        {
            if (!msg.empty())
                break;
            char buf[128], err[512];
            if (ims_sim_cfg_get(cfg, key, buf, sizeof buf) != 0)
                msg = where + "effective_config: unknown key '" + key + "' (this iommusim, " + IMS_VERSION_STRING +
                      ", does not know it: the point cannot be rerun exactly)";
            else if (!json_is_string(v))
                msg = where + "effective_config." + key + ": not a string";
            else if (ims_sim_cfg_set(cfg, key, json_string_value(v), err, sizeof err))
                msg = where + "effective_config." + err;
        }
        // Keys the writer did not know (an older version): one warning for all.
        std::string missing;
        std::size_t nmissing = 0;
        for (std::size_t k = 0; msg.empty() && k < ims_sim_cfg_keys(); k++)
            if (!json_object_get(ec, ims_sim_cfg_key(k))) {
                char buf[128];
                ims_sim_cfg_get(cfg, ims_sim_cfg_key(k), buf, sizeof buf);
                missing += (nmissing++ ? ", " : "") + std::string(ims_sim_cfg_key(k)) + "=" + buf;
            }
        if (nmissing)
            std::fprintf(stderr, "iommusim run: warning: %s: effective_config lacks %zu key(s), which keep their defaults: %s\n",
                         path.c_str(), nmissing, missing.c_str());
    }
    json_decref(root);
    return msg;
}

// The trace header's summary (no file access).
void trace_header_summary(const ims_trace_reader *r, ims::TraceSummary *t)
{
    const ims_trace_hdr *h = ims_trace_header(r);
    const int form = ims_trace_reader_form(r);
    t->form = form == IMS_TRACE_BINARY ? "binary" : form == IMS_TRACE_BINARY_ZSTD ? "zstd" : "text";
    t->version = h->version;
    t->creator = h->creator;
    t->source = h->source;
    t->devices = h->topo.n_devices;
    t->bridges = h->topo.n_bridges;
}

// The trace file's SHA-256 and size into t->digest and t->file_bytes; "" or
// an error. A trace that is not a regular file (a FIFO, standard input) is
// not read twice: no digest. Touches nothing but its arguments (it runs
// beside the replay).
std::string trace_digest(const std::string &path, ims::TraceSummary *t)
{
    if (path == "-")  // not a file of that name
        return std::string();
    char d[IMS_DIGEST_LEN], err[512];
    unsigned long long bytes = 0;
    const int rc = ims_file_digest(path.c_str(), d, &bytes, err, sizeof err);
    if (rc < 0)
        return err;
    if (rc == 0) {
        t->digest = d;
        t->file_bytes = bytes;
    }
    return std::string();
}

void explain(std::FILE *out)
{
    for (const ims::ReportTerm &t : ims::report_terms())
        std::fprintf(out, "%-36s %s\n", t.key.c_str(), t.text.c_str());
}

int fail(const std::string &msg)
{
    std::fprintf(stderr, "iommusim run: %s\n", msg.c_str());
    return 2;
}

// The RTL walker's options (--walker, --wave, --wave-cycles, --wave-records).
struct CosimArgs {
    std::string walker;  // "", or walker.impl's value
    ims::Cosim::Options opt;
    bool window = false;
};

// "A:B" (decimal, A <= B) into a and b; false if malformed.
bool parse_range(const std::string &s, std::uint64_t *a, std::uint64_t *b)
{
    const std::size_t colon = s.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
        return false;
    auto num = [](const std::string &t, std::uint64_t *v) {
        if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 19)
            return false;
        *v = std::strtoull(t.c_str(), nullptr, 10);
        return true;
    };
    return num(s.substr(0, colon), a) && num(s.substr(colon + 1), b) && *a <= *b;
}

// argv[*i] if it is one of the RTL walker's options: 1 (consumed, *i moved
// past its value), 0 not one of them, -1 bad (message in *why).
int cosim_option(int argc, char **argv, int *i, CosimArgs *c, std::string *why)
{
    const std::string a = argv[*i];
    if (a != "--walker" && a != "--wave" && a != "--wave-cycles" && a != "--wave-records")
        return 0;
    if (*i + 1 >= argc) {
        *why = a + " needs a value";
        return -1;
    }
    const std::string v = argv[++*i];
    std::uint64_t x = 0, y = 0;
    if (a == "--walker") {
        if (!c->walker.empty()) {
            *why = "--walker given twice";
            return -1;
        }
        if (v != "tlm" && v != "rtl" && v != "lockstep") {
            *why = "--walker: '" + v + "' is not tlm, rtl or lockstep";
            return -1;
        }
        c->walker = v;
    } else if (a == "--wave") {
        if (!c->opt.wave.empty()) {
            *why = "--wave given twice";
            return -1;
        }
        if (v.empty()) {
            *why = "--wave: empty file name";
            return -1;
        }
        c->opt.wave = v;
    } else {
        if (c->window) {
            *why = "one waveform window: " + a + " after another --wave-cycles or --wave-records";
            return -1;
        }
        if (!parse_range(v, &x, &y)) {
            *why = a + ": '" + v + "' is not FIRST:LAST (decimal, FIRST <= LAST)";
            return -1;
        }
        c->window = true;
        if (a == "--wave-cycles") {
            c->opt.wave_from = x;
            c->opt.wave_to = y;
        } else {
            c->opt.by_records = true;
            c->opt.rec_from = x;
            c->opt.rec_to = y;
        }
    }
    return 1;
}

// ---- Interval sampling and plots (--interval, --interval-csv, --plot, --plot-format) ----

struct SeriesArgs {
    ims::IntervalCfg iv;         // every = 0: --interval not given
    std::string csv;             // --interval-csv FILE
    std::string plot_dir;        // --plot DIR
    int formats = IMS_PLOT_PNG | IMS_PLOT_SVG;  // --plot-format
    bool seen_fmt = false;
};

// "N" (translations), "Nt" or "Nc" (cycles), N >= 1 decimal; false if malformed.
bool parse_interval(const std::string &v, ims::IntervalCfg *c)
{
    std::string n = v;
    c->by_cycles = false;
    if (!n.empty() && (n.back() == 'c' || n.back() == 't')) {
        c->by_cycles = n.back() == 'c';
        n.pop_back();
    }
    if (n.empty() || n.size() > 19 || n.find_first_not_of("0123456789") != std::string::npos)
        return false;
    c->every = std::strtoull(n.c_str(), nullptr, 10);
    return c->every > 0;
}

// argv[*i] if it is one of the options above: 1 (consumed, *i moved past its
// value), 0 not one of them, -1 bad (message in *why).
int series_option(int argc, char **argv, int *i, SeriesArgs *s, std::string *why)
{
    const std::string a = argv[*i];
    if (a != "--interval" && a != "--interval-csv" && a != "--plot" && a != "--plot-format")
        return 0;
    if (*i + 1 >= argc)
        return *why = a + " needs a value", -1;
    const std::string v = argv[++*i];
    if (a == "--interval") {
        if (s->iv.every)
            return *why = "--interval given twice", -1;
        if (!parse_interval(v, &s->iv))
            return *why = "--interval: '" + v + "' is not N (translations), Nt or Nc (cycles) with N >= 1", -1;
    } else if (a == "--interval-csv" || a == "--plot") {
        std::string &dst = a == "--plot" ? s->plot_dir : s->csv;
        if (!dst.empty())
            return *why = a + " given twice", -1;
        if (v.empty())
            return *why = a + ": empty " + (a == "--plot" ? "directory" : "file") + " name", -1;
        dst = v;
    } else {
        if (s->seen_fmt)
            return *why = "--plot-format given twice", -1;
        s->seen_fmt = true;
        if ((s->formats = ims_plot_format(v.c_str())) < 0)
            return *why = "--plot-format: '" + v + "' is not png, svg or both", -1;
    }
    return 1;
}

// The options' combinations, and the plot directory made and gnuplot found
// before the run (not after it). Empty, or the message.
std::string series_check(const SeriesArgs &s)
{
    if (s.iv.every && s.csv.empty())
        return "--interval: where should the time series go? (--interval-csv FILE)";
    if (!s.csv.empty() && !s.iv.every)
        return "--interval-csv: needs --interval N (translations) or Nc (cycles)";
    if (s.seen_fmt && s.plot_dir.empty())
        return "--plot-format: only with --plot DIR";
    char err[1024];
    if (!s.plot_dir.empty() && (ims_plot_have_gnuplot(err, sizeof err) || ims_plot_prepare_dir(s.plot_dir.c_str(), err, sizeof err)))
        return err;
    return std::string();
}

// After the run: the interval CSV, then the plots of --plot DIR (the run's
// JSON as DIR/run.json, its latency histogram and CDF, and with --interval
// the time series). 0, or 2 with the message printed.
int series_write(const SeriesArgs &s, const ims::TracePlayer &player, const ims::ReportInputs &in, ims_outfile *iout)
{
    std::string werr;
    if (iout && !ims::interval_csv(*player.interval(), in.walkers, iout, &werr))
        return fail(werr);
    if (s.plot_dir.empty())
        return 0;
    const std::string json = s.plot_dir + "/run.json";
    if (!ims::report_json(in, json.c_str(), &werr))
        return fail(werr);
    char err[1024];
    if (ims_plot_run_json(json.c_str(), s.plot_dir.c_str(), s.formats, nullptr, err, sizeof err))
        return fail(err);
    if (iout && ims_plot_interval_csv(s.csv.c_str(), s.plot_dir.c_str(), s.formats, nullptr, err, sizeof err))
        return fail(err);
    return 0;
}

}  // namespace

extern "C" int ims_cmd_run(int argc, char **argv)
{
    CosimArgs cosim_args;
    SeriesArgs series;  // --interval, --interval-csv, --plot, --plot-format

    std::string config = "default", trace, json, csv, read_ahead = "auto";
    std::vector<std::string> sets;
    bool quiet = false, print_config = false;
    bool seen_config = false, seen_trace = false, seen_json = false, seen_csv = false;
    ReproOptions ro;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        std::string rerr; // --config-from, --allow-trace-change, --explain: repro_option()
        if (const int r = repro_option(argc, argv, i, ro, &rerr)) {
            if (r < 0)
                return fail(rerr);
            continue;
        }
        auto value = [&](std::string &dst) -> bool {
            if (i + 1 >= argc)
                return false;
            dst = argv[++i];
            return true;
        };
        // A second --config, --trace, --json or --csv would silently win.
        auto once = [&](bool &seen) -> bool {
            const bool first = !seen;
            seen = true;
            return first;
        };
        std::string v;
        const int co = cosim_option(argc, argv, &i, &cosim_args, &v);
        if (co < 0)
            return fail(v);
        if (co > 0)
            continue;
        const int so = series_option(argc, argv, &i, &series, &v);
        if (so < 0)
            return fail(v);
        if (so > 0)
            continue;
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--config") {
            if (!value(config))
                return fail("--config needs a value");
            if (!once(seen_config))
                return fail("--config given twice (one design point per run; --set overrides single keys)");
            if (config.empty())
                return fail("--config: empty name");
        } else if (a == "--trace") {
            if (!value(trace))
                return fail("--trace needs a value");
            if (!once(seen_trace))
                return fail("--trace given twice (one trace per run)");
            if (trace.empty()) // would silently mean the default trace
                return fail("--trace: empty file name");
        } else if (a == "--set") {
            if (!value(v))
                return fail("--set needs key=value");
            sets.push_back(v);
        } else if (a == "--json") {
            if (!value(json))
                return fail("--json needs a file");
            if (!once(seen_json))
                return fail("--json given twice");
            if (json.empty())
                return fail("--json: empty file name");
        } else if (a == "--csv") {
            if (!value(csv))
                return fail("--csv needs a file");
            if (!once(seen_csv))
                return fail("--csv given twice");
            if (csv.empty())
                return fail("--csv: empty file name");
        } else if (a == "--quiet") {
            quiet = true;
        } else if (a == "--read-ahead") {
            if (!value(read_ahead))
                return fail("--read-ahead needs a value (auto, on or off)");
            if (read_ahead != "auto" && read_ahead != "on" && read_ahead != "off")
                return fail("--read-ahead: '" + read_ahead + "': expected auto, on or off");
        } else if (a == "--print-config") {
            print_config = true;
        } else {
            std::fputs(kUsage, stderr);
            return fail("unknown argument '" + a + "'");
        }
    }

    if (ro.explain) {
        explain(stdout);
        return 0;
    }
    if (seen_config && ro.seen_config_from)
        return fail("--config and --config-from: one source of the configuration (--set changes keys on top of either)");
    if (ro.allow_trace_change && !ro.seen_config_from)
        return fail("--allow-trace-change: only with --config-from");
    char err[512];
    ims_sim_cfg cfg;
    ims_sim_cfg_default(&cfg);
    std::string why;
    Recorded rec;
    ims::RunMeta meta;
    std::string cpath;
    if (ro.seen_config_from) {
        // The recorded point, its name and overrides; --set goes on top.
        const std::string e = load_config_from(ro.config_from, &cfg, &rec);
        if (!e.empty())
            return fail(e);
        config = rec.config;
        meta.overrides = rec.overrides;
        meta.config_from = ro.config_from;
        cpath = ro.config_from;
        if (!seen_trace)
            trace = rec.trace;
    } else {
        cpath = config_path(config, &why);
        if (cpath.empty())
            return fail(why);
        if (ims_sim_cfg_load(&cfg, cpath.c_str(), err, sizeof err))
            return fail(err);
        meta.config_path = cpath;
    }
    if (!cosim_args.walker.empty())  // --walker X is --set walker.impl=X, given first
        sets.insert(sets.begin(), "walker.impl=" + cosim_args.walker);
    for (const std::string &s : sets)
        meta.overrides.push_back(normal_kv(s));
    // A cross-key check that fails is the file's fault if the file alone
    // fails it, else the --set values' (they made a good file bad).
    const ims_sim_cfg file_cfg = cfg;
    for (const std::string &s : sets)
        if (ims_sim_cfg_set_kv(&cfg, s.c_str(), "--set", err, sizeof err))
            return fail(err);
    if (ims_sim_cfg_check(&cfg, err, sizeof err)) {
        if (sets.empty() || ims_sim_cfg_check(&file_cfg, err, sizeof err))
            return fail(cpath + ": " + err);
        ims_sim_cfg_check(&cfg, err, sizeof err);
        return fail(std::string("--set: ") + err + " (over " + cpath + ")");
    }
    if (print_config) {
        ims_sim_cfg_print(&cfg, stdout);
        return 0;
    }
    if (cfg.walker_impl == IMS_WALKER_TLM && (!cosim_args.opt.wave.empty() || cosim_args.window))
        return fail("--wave: the waveform is the RTL walker's; it needs walker.impl rtl or lockstep (--walker)");
    if (cosim_args.window && cosim_args.opt.wave.empty())
        return fail("--wave-cycles/--wave-records: a window of which waveform? (--wave FILE.fst)");
    {
        const std::string e = series_check(series);
        if (!e.empty())
            return fail(e);
    }

    if (trace.empty())
        trace = std::string(ims_data_dir()) + "/traces/nvme-strict.itr.zst";

    // Outputs: never one of the inputs or each other (a character device such
    // as /dev/null may be shared), and opened now, so that a path that cannot
    // be written fails before the run rather than after it.
    struct Output {
        const char *opt;
        const std::string &path;
    };
    const Output outs[] = {{"--json", json}, {"--csv", csv}, {"--wave", cosim_args.opt.wave}, {"--interval-csv", series.csv}};

    for (const Output &o : outs) {
        if (o.path.empty())
            continue;
        if (trace != "-" && ims_outfile_same(o.path.c_str(), trace.c_str()))  // "-": stdin in, stdout out
            return fail(o.opt + std::string(" ") + o.path + ": is the input trace");
        if (ims_outfile_same(o.path.c_str(), cpath.c_str()))
            return fail(o.opt + std::string(" ") + o.path + ": is the configuration file");
    }
    if (!json.empty() && !csv.empty() && ims_outfile_same(json.c_str(), csv.c_str()) &&
        !ims_outfile_is_chardev(json.c_str()))
        return fail("--json " + json + " and --csv " + csv + ": the same file");
    for (const std::string *o : {&json, &csv})
        if (!cosim_args.opt.wave.empty() && !o->empty() && ims_outfile_same(o->c_str(), cosim_args.opt.wave.c_str()))
            return fail("--wave " + cosim_args.opt.wave + ": the same file as another output");
    for (const std::string *o : {&json, &csv, &cosim_args.opt.wave})
        if (!series.csv.empty() && !o->empty() && ims_outfile_same(o->c_str(), series.csv.c_str()) &&
            !ims_outfile_is_chardev(o->c_str()))
            return fail("--interval-csv " + series.csv + ": the same file as another output");

    // Standard output carries the JSON or CSV: no text report around it.
    if (json == "-" || csv == "-")
        quiet = true;

    ims_trace_reader *reader = ims_trace_open(trace.c_str(), err, sizeof err);
    if (!reader && ro.seen_config_from && !seen_trace) // a relative path is taken from here
        return fail(std::string(err) + " (the trace " + ro.config_from + " records; --trace names another)");
    if (!reader)
        return fail(err);
    // The run keeps a reader's and a simulation thread busy: a third, zstd's,
    // pays only with a CPU of its own (on 2 CPUs it added CPU time and saved
    // no wall time: docs/performance.md, "zstd read-ahead").
    if (read_ahead == "on" || (read_ahead == "auto" && ims_usable_cpus() >= 3))
        meta.read_ahead = ims_trace_read_ahead(reader) == 1;
    // The digest: read before the run when --config-from must compare it,
    // else in a thread of its own beside the replay (hashing a 5 M-record
    // trace took about a tenth of its replay's wall time: docs/performance.md,
    // "The trace digest beside the replay"), joined before anything is reported.
    trace_header_summary(reader, &meta.trace);
    std::thread digest_thread;
    std::string digest_err;
    struct Join {  // every return below waits for it
        std::thread &t;
        ~Join()
        {
            if (t.joinable())
                t.join();
        }
    } join_digest{digest_thread};
    if (!ro.seen_config_from) {
        digest_thread = std::thread([&trace, &meta, &digest_err] { digest_err = trace_digest(trace, &meta.trace); });
    } else {
        const std::string e = trace_digest(trace, &meta.trace);
        std::string d;
        if (e.empty() && ro.seen_config_from && meta.trace.digest != rec.digest)
            d = trace + ": its digest (" + (meta.trace.digest.empty() ? "none: not a regular file" : meta.trace.digest) +
                ") differs from the one " + ro.config_from + " records (" +
                (rec.digest.empty() ? "none" : rec.digest) + "): not the trace of that run";
        if (!e.empty() || (!d.empty() && !ro.allow_trace_change)) {
            ims_trace_close(reader);
            return fail(e.empty() ? d + " (--allow-trace-change runs it anyway)" : e);
        }
        if (!d.empty())
            std::fprintf(stderr, "iommusim run: warning: %s\n", d.c_str());
    }
    meta.version = IMS_VERSION_STRING;
    meta.git = IMS_GIT_DESCRIBE;
    meta.command.push_back("iommusim");
    for (int i = 0; i < argc; i++)
        meta.command.push_back(argv[i]);
    ims_outfile *jout = nullptr, *cout = nullptr, *iout = nullptr;
    if ((!json.empty() && !(jout = ims_outfile_open(json.c_str(), err, sizeof err))) ||
        (!csv.empty() && !(cout = ims_outfile_open(csv.c_str(), err, sizeof err))) ||
        (!series.csv.empty() && !(iout = ims_outfile_open(series.csv.c_str(), err, sizeof err)))) {
        ims_outfile_abort(jout);
        ims_outfile_abort(cout);
        ims_trace_close(reader);
        return fail(err);
    }

    // Every random choice derives from the one seed.
    ims_replay_cfg rcfg;
    ims_replay_cfg_default(&rcfg);
    rcfg.iommu = cfg.iommu;
    rcfg.iommu.ctx_cache.seed = cfg.seed ^ 0x1;
    rcfg.iommu.iotlb.seed = cfg.seed ^ 0x2;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        rcfg.iommu.psc[l].seed = cfg.seed ^ (0x10 + l);
    rcfg.tb = cfg.tb;
    rcfg.tb.caps = cfg.iommu.caps;
    rcfg.fault_drain_every = cfg.fault_drain_every;
    rcfg.prq_entries = cfg.pri_queue_entries;

    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
    ims::Clock clk(cfg.clock_mhz);
    ims::Memory memory("memory", cfg, clk);
    ims::DataSink sink("sink");
    ims::Iommu iommu("iommu", cfg, clk);
    ims_replay *rp = ims_replay_create(ims_trace_header(reader), &rcfg, &ims::Iommu::kMemOps, &iommu, err, sizeof err);
    if (!rp) {
        ims_outfile_abort(jout);
        ims_outfile_abort(cout);
        ims_outfile_abort(iout);
        ims_trace_close(reader);
        return fail(trace + ": " + err);
    }
    memory.bind_backing(ims_replay_mem(rp));
    iommu.bind_core(ims_replay_iommu(rp));
    std::unique_ptr<ims::Cosim> cosim;
    // Scalable-mode traces too: the RTL makes their second-level-only walks,
    // and the rest are counted as not checked (cosim.cpp, docs/rtl-verification.md).
    if (cfg.walker_impl != IMS_WALKER_TLM) {
        std::string cerr;
        cosim = ims::Cosim::create(cfg, ims_replay_iommu(rp), 1000000u / cfg.clock_mhz, cosim_args.opt, &cerr);
        if (!cosim) {
            ims_outfile_abort(jout);
            ims_outfile_abort(cout);
            ims_outfile_abort(iout);
            ims_replay_destroy(rp);
            ims_trace_close(reader);
            return fail(cerr);
        }
        iommu.set_walker(cosim.get());
    }

    ims::TracePlayer player("player", cfg, clk, reader, ims_trace_input_name(trace.c_str()), rp, iommu,
                            !quiet && isatty(2));
    player.set_memory(&memory.timing());  // warm-up excludes memory counters too
    player.set_interval(series.iv);
    player.isock.bind(iommu.dma_in);
    player.ats.bind(iommu.ats_in);
    iommu.dma_out.bind(sink.tsock);
    iommu.mem.bind(memory.tsock);

    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::string> ended = ims::run_kernel();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (cosim && !cosim->finish())
        std::fprintf(stderr, "iommusim run: %s\n", cosim->error().c_str());

    int rc = 0;
    if (digest_thread.joinable())
        digest_thread.join();

    // A thread of the model that returned instead of parking (ims::run_kernel).
    std::string ended_err;
    for (const std::string &n : ended)
        ended_err += (ended_err.empty() ? "internal error: SystemC thread(s) returned instead of parking: " : ", ") + n;
    if (!ended_err.empty())
        ended_err += " (report it)";

    if (player.failed() || !player.done() || !digest_err.empty() || !ended_err.empty()) {
        std::fprintf(stderr, "iommusim run: %s\n",
                     player.failed()       ? player.error().c_str()
                     : !player.done()      ? "simulation stopped early"
                     : !ended_err.empty()  ? ended_err.c_str()
                                           : digest_err.c_str());
        rc = 2;
        ims_outfile_abort(jout);
        ims_outfile_abort(cout);
        ims_outfile_abort(iout);
    } else {
        ims::ReportInputs in{&cfg,  trace.c_str(),          config.c_str(), &player.stats(), &player.core_stats(),
                             &player.timing_stats(), &memory.timing(), iommu.walkers(), wall};
        in.meta = &meta;
        in.cosim = cosim ? &cosim->stats() : nullptr;
        in.scalable = ims_replay_scalable(rp);
        if (!quiet)
            ims::report_text(in, stdout);
        else // the text report carries them otherwise; a quiet run must not hide them
            for (const ims::RunWarning &w : ims::run_warnings(in))
                std::fprintf(stderr, "iommusim run: warning [%s]: %s\n", w.code.c_str(), w.text.c_str());

        std::string werr;
        if (jout && !ims::report_json(in, jout, &werr))
            rc = fail(werr);
        if (cout && !ims::report_csv(in, cout, &werr))
            rc = fail(werr);
        if (const int r = series_write(series, player, in, iout))
            rc = r;
        if (rc == 0 && player.stats().mismatches) {
            std::fprintf(stderr, "iommusim run: %llu translations disagreed with the recording\n",
                         static_cast<unsigned long long>(player.stats().mismatches));
            rc = 1;
        }
        if (rc == 0 && cosim && cosim->stats().mismatches) {
            std::fprintf(stderr, "iommusim run: %llu walks of the RTL walker disagreed with the C core\n",
                         static_cast<unsigned long long>(cosim->stats().mismatches));
            rc = 1;
        }
    }

    ims_replay_destroy(rp);
    ims_trace_close(reader);
    return rc;
}
