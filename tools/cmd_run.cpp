// `iommusim run`: replays a trace through the cycle-approximate SystemC model.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "cmd.h"
#include "iommusim/cosim.hpp"
#include "iommusim/run.hpp"


// libsystemc's own main() calls sc_main; iommusim has its own main() and
// starts the kernel with sc_start() from `run`, so this is never called.
int sc_main(int, char **) { return 2; }

namespace {

const char kUsage[] =
    "usage: iommusim run [--config NAME|FILE] [--trace FILE] [--set key=value]...\n"
    "                    [--json FILE] [--csv FILE] [--quiet] [--print-config]\n"
    "\n"
    "Replays a DMA trace through the cycle-approximate SystemC TLM model and\n"
    "prints a report: translations, faults, latency distribution, hit rates of\n"
    "every cache, walker and memory use, per-device breakdown.\n"
    "\n"
    "  --config NAME|FILE  design point: a file, or a name from configs/ (default: default)\n"
    "  --trace FILE        trace to replay (default: traces/nvme-strict.itr.zst)\n"
    "  --set key=value     override one configuration key (repeatable; after --config)\n"
    "  --json FILE         also write the statistics as JSON (keys in docs/stats.md);\n"
    "                      - for stdout (then no text report)\n"
    "  --csv FILE          also write the per-device table as CSV (- for stdout)\n"
    "  --quiet             no text report on stdout\n"
    "  --print-config      print every key with its value and meaning, then exit\n"
    "  --walker tlm|rtl|lockstep\n"
    "                      who walks (walker.impl): the TLM walker; the verilated RTL\n"
    "                      walker; or both, each RTL walk checked against the C core\n"
    "                      (docs/rtl.md)\n"
    "  --wave FILE.fst     write the RTL walker's waveform (FST; GTKWave opens it)\n"
    "  --wave-cycles A:B   only cycles A..B of it;  --wave-records A:B  only the walks\n"
    "                      of trace records A..B\n"
    "\n"

    "Exit status: 0 ok; 1 some translation disagreed with the trace's recorded\n"
    "result (mismatches > 0), or an RTL walk with the C core's (cosim.mismatches\n"
    "> 0); 2 bad arguments, configuration or trace, or an\n"

    "output that could not be written (docs/tools.md, \"Output files\").\n";

// The shipped configurations' names (configs/*.cfg), sorted, for messages.
std::string shipped_configs(const std::string &dir)
{
    std::vector<std::string> names;
    if (DIR *d = opendir(dir.c_str())) {
        while (const dirent *e = readdir(d)) {
            const std::string n = e->d_name;
            if (n.size() > 4 && n.compare(n.size() - 4, 4, ".cfg") == 0)
                names.push_back(n.substr(0, n.size() - 4));
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    std::string s;
    for (const std::string &n : names)
        s += (s.empty() ? "" : ", ") + n;
    return s.empty() ? "none" : s;
}

// --config ARG: a file if ARG names one; else, if ARG is a bare name (no
// '/'), configs/ARG.cfg (or configs/ARG if it already ends in .cfg) in the
// data directory. Empty with a message in *why if neither exists, or if ARG
// names something that is not a file (a directory would otherwise read as
// an empty configuration: the built-in defaults).
std::string config_path(const std::string &arg, std::string *why)
{
    struct stat st;
    if (stat(arg.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            *why = "--config " + arg + ": is a directory, not a configuration file";
            return std::string();
        }
        return arg;
    }
    std::string dir = ims_data_dir();
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    const bool has_suffix = arg.size() > 4 && arg.compare(arg.size() - 4, 4, ".cfg") == 0;
    if (arg.empty() || arg.find('/') != std::string::npos) {
        *why = "--config " + arg + ": no such file";
        return std::string();
    }
    const std::string name = arg + (has_suffix ? "" : ".cfg");
    const std::string p = dir + "/configs/" + name;
    if (stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode))
        return p;
    *why = "--config " + arg + ": no such file, and no configs/" + name + " in " + dir +
           " (shipped configurations: " + shipped_configs(dir + "/configs") + ")";
    return std::string();
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

}  // namespace

extern "C" int ims_cmd_run(int argc, char **argv)
{
    CosimArgs cosim_args;

    std::string config = "default", trace, json, csv;
    std::vector<std::string> sets;
    bool quiet = false, print_config = false;
    bool seen_config = false, seen_trace = false, seen_json = false, seen_csv = false;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
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
        } else if (a == "--print-config") {
            print_config = true;
        } else {
            std::fputs(kUsage, stderr);
            return fail("unknown argument '" + a + "'");
        }
    }

    char err[512];
    ims_sim_cfg cfg;
    ims_sim_cfg_default(&cfg);
    std::string why;
    const std::string cpath = config_path(config, &why);
    if (cpath.empty())
        return fail(why);
    if (ims_sim_cfg_load(&cfg, cpath.c_str(), err, sizeof err))
        return fail(err);
    // A cross-key check that fails is the file's fault if the file alone
    // fails it, else the --set values' (they made a good file bad).
    const ims_sim_cfg file_cfg = cfg;
    if (!cosim_args.walker.empty())  // --walker X is --set walker.impl=X, given first
        sets.insert(sets.begin(), "walker.impl=" + cosim_args.walker);
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

    if (trace.empty())
        trace = std::string(ims_data_dir()) + "/traces/nvme-strict.itr.zst";

    // Outputs: never one of the inputs or each other (a character device such
    // as /dev/null may be shared), and opened now, so that a path that cannot
    // be written fails before the run rather than after it.
    struct Output {
        const char *opt;
        const std::string &path;
    };
    const Output outs[] = {{"--json", json}, {"--csv", csv}, {"--wave", cosim_args.opt.wave}};

    for (const Output &o : outs) {
        if (o.path.empty())
            continue;
        if (ims_outfile_same(o.path.c_str(), trace.c_str()))
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

    // Standard output carries the JSON or CSV: no text report around it.
    if (json == "-" || csv == "-")
        quiet = true;

    ims_trace_reader *reader = ims_trace_open(trace.c_str(), err, sizeof err);
    if (!reader)
        return fail(err);
    ims_outfile *jout = nullptr, *cout = nullptr;
    if ((!json.empty() && !(jout = ims_outfile_open(json.c_str(), err, sizeof err))) ||
        (!csv.empty() && !(cout = ims_outfile_open(csv.c_str(), err, sizeof err)))) {
        ims_outfile_abort(jout);
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

    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
    ims::Clock clk(cfg.clock_mhz);
    ims::Memory memory("memory", cfg, clk);
    ims::DataSink sink("sink");
    ims::Iommu iommu("iommu", cfg, clk);
    ims_replay *rp = ims_replay_create(ims_trace_header(reader), &rcfg, &ims::Iommu::kMemOps, &iommu, err, sizeof err);
    if (!rp) {
        ims_outfile_abort(jout);
        ims_outfile_abort(cout);
        ims_trace_close(reader);
        return fail(trace + ": " + err);
    }
    memory.bind_backing(ims_replay_mem(rp));
    iommu.bind_core(ims_replay_iommu(rp));
    std::unique_ptr<ims::Cosim> cosim;
    if (cfg.walker_impl != IMS_WALKER_TLM) {
        std::string cerr;
        cosim = ims::Cosim::create(cfg, ims_replay_iommu(rp), 1000000u / cfg.clock_mhz, cosim_args.opt, &cerr);
        if (!cosim) {
            ims_outfile_abort(jout);
            ims_outfile_abort(cout);
            ims_replay_destroy(rp);
            ims_trace_close(reader);
            return fail(cerr);
        }
        iommu.set_walker(cosim.get());
    }

    ims::TracePlayer player("player", cfg, clk, reader, trace.c_str(), rp, iommu, !quiet && isatty(2));
    player.set_memory(&memory.timing());  // warm-up excludes memory counters too
    player.isock.bind(iommu.dma_in);
    player.ats.bind(iommu.ats_in);
    iommu.dma_out.bind(sink.tsock);
    iommu.mem.bind(memory.tsock);

    const auto t0 = std::chrono::steady_clock::now();
    sc_core::sc_start();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (cosim && !cosim->finish())
        std::fprintf(stderr, "iommusim run: %s\n", cosim->error().c_str());

    int rc = 0;

    if (player.failed() || !player.done()) {
        std::fprintf(stderr, "iommusim run: %s\n", player.failed() ? player.error().c_str() : "simulation stopped early");
        rc = 2;
        ims_outfile_abort(jout);
        ims_outfile_abort(cout);
    } else {
        ims::ReportInputs in{&cfg,  trace.c_str(),          config.c_str(), &player.stats(), &player.core_stats(),
                             &player.timing_stats(), &memory.timing(), iommu.walkers(), wall};
        in.cosim = cosim ? &cosim->stats() : nullptr;

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
