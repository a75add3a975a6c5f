// `iommusim run`: replays a trace through the cycle-approximate SystemC model.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "cmd.h"
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
    "  --json FILE         also write the statistics as JSON (keys in docs/stats.md)\n"
    "  --csv FILE          also write the per-device table as CSV\n"
    "  --quiet             no text report on stdout\n"
    "  --print-config      print every key with its value and meaning, then exit\n"
    "\n"
    "Exit status: 0 ok; 1 some translation disagreed with the trace's recorded\n"
    "result (mismatches > 0); 2 bad arguments, configuration or trace.\n";

bool file_exists(const std::string &p) { return access(p.c_str(), R_OK) == 0; }

// A config argument is a path if it names a readable file, else a name in configs/.
std::string config_path(const std::string &arg)
{
    if (file_exists(arg))
        return arg;
    const std::string p = std::string(ims_data_dir()) + "/configs/" + arg + ".cfg";
    return file_exists(p) ? p : std::string();
}

int fail(const std::string &msg)
{
    std::fprintf(stderr, "iommusim run: %s\n", msg.c_str());
    return 2;
}

}  // namespace

extern "C" int ims_cmd_run(int argc, char **argv)
{
    std::string config = "default", trace, json, csv;
    std::vector<std::string> sets;
    bool quiet = false, print_config = false;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&](std::string &dst) -> bool {
            if (i + 1 >= argc)
                return false;
            dst = argv[++i];
            return true;
        };
        std::string v;
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--config") {
            if (!value(config))
                return fail("--config needs a value");
        } else if (a == "--trace") {
            if (!value(trace))
                return fail("--trace needs a value");
        } else if (a == "--set") {
            if (!value(v))
                return fail("--set needs key=value");
            sets.push_back(v);
        } else if (a == "--json") {
            if (!value(json))
                return fail("--json needs a file");
        } else if (a == "--csv") {
            if (!value(csv))
                return fail("--csv needs a file");
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
    const std::string cpath = config_path(config);
    if (cpath.empty())
        return fail("config '" + config + "': no such file, and no configs/" + config + ".cfg in " + ims_data_dir());
    if (ims_sim_cfg_load(&cfg, cpath.c_str(), err, sizeof err))
        return fail(err);
    for (const std::string &s : sets)
        if (ims_sim_cfg_set_kv(&cfg, s.c_str(), "--set", err, sizeof err))
            return fail(err);
    if (ims_sim_cfg_check(&cfg, err, sizeof err))
        return fail(std::string(cpath) + ": " + err);
    if (print_config) {
        ims_sim_cfg_print(&cfg, stdout);
        return 0;
    }
    if (trace.empty())
        trace = std::string(ims_data_dir()) + "/traces/nvme-strict.itr.zst";

    ims_trace_reader *reader = ims_trace_open(trace.c_str(), err, sizeof err);
    if (!reader)
        return fail(err);

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
        ims_trace_close(reader);
        return fail(trace + ": " + err);
    }
    memory.bind_backing(ims_replay_mem(rp));
    iommu.bind_core(ims_replay_iommu(rp));
    ims::TracePlayer player("player", cfg, clk, reader, trace.c_str(), rp, iommu, !quiet && isatty(2));
    player.set_memory(&memory.timing());  // warm-up excludes memory counters too
    player.isock.bind(iommu.dma_in);
    player.ats.bind(iommu.ats_in);
    iommu.dma_out.bind(sink.tsock);
    iommu.mem.bind(memory.tsock);

    const auto t0 = std::chrono::steady_clock::now();
    sc_core::sc_start();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    int rc = 0;
    if (player.failed() || !player.done()) {
        std::fprintf(stderr, "iommusim run: %s\n", player.failed() ? player.error().c_str() : "simulation stopped early");
        rc = 2;
    } else {
        ims::ReportInputs in{&cfg,  trace.c_str(),          config.c_str(), &player.stats(), &player.core_stats(),
                             &player.timing_stats(), &memory.timing(), iommu.walkers(), wall};
        if (!quiet)
            ims::report_text(in, stdout);
        std::string werr;
        if (!json.empty() && !ims::report_json(in, json.c_str(), &werr))
            rc = fail(werr);
        if (!csv.empty() && !ims::report_csv(in, csv.c_str(), &werr))
            rc = fail(werr);
        if (rc == 0 && player.stats().mismatches) {
            std::fprintf(stderr, "iommusim run: %llu translations disagreed with the recording\n",
                         static_cast<unsigned long long>(player.stats().mismatches));
            rc = 1;
        }
    }
    ims_replay_destroy(rp);
    ims_trace_close(reader);
    return rc;
}
