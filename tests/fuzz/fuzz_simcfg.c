/* Fuzz target for the configuration parser, driven as `iommusim run
 * --config FILE [--set KEY=VALUE] --print-config` drives it: load the file
 * over the defaults, run the cross-key checks, print the result, and build
 * the core from it when the checks pass. The input's last line, if it holds
 * a '=', is also applied as a --set argument.
 *
 * Oracles besides the sanitizers: an error names the file and line (or
 * --set); every key's printed value (ims_sim_cfg_get) sets back to the same
 * value; a configuration that passes ims_sim_cfg_check builds an IOMMU. */
#define _GNU_SOURCE /* memfd_create */
#include <string.h>

#include "fuzz_util.h"
#include "iommusim/replay.h"
#include "iommusim/simcfg.h"

static void require(bool ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "fuzz_simcfg: contract broken: %s (%s)\n", what, detail);
        abort();
    }
}

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    struct ims_fuzz_file f;
    ims_fuzz_file_open(&f, data, size);
    struct ims_sim_cfg cfg;
    ims_sim_cfg_default(&cfg);
    char err[1024];
    int rc = ims_sim_cfg_load(&cfg, f.path, err, sizeof err);
    ims_fuzz_file_close(&f);
    if (rc < 0) {
        require(strncmp(err, f.path, strlen(f.path)) == 0, "a load error starts with the file name", err);
        return 0;
    }
    /* The last line as a --set argument (NUL-free, at most 511 bytes). */
    size_t start = size;
    while (start > 0 && data[start - 1] != '\n')
        start--;
    if (size - start < 512 && !memchr(data + start, 0, size - start) && memchr(data + start, '=', size - start)) {
        char kv[512];
        memcpy(kv, data + start, size - start);
        kv[size - start] = 0;
        if (ims_sim_cfg_set_kv(&cfg, kv, "--set", err, sizeof err) < 0) {
            require(strncmp(err, "--set", 5) == 0, "a --set error names --set", err);
            return 0;
        }
    }
    if (ims_sim_cfg_check(&cfg, err, sizeof err) < 0)
        return 0;
    ims_sim_cfg_print(&cfg, devnull);
    for (size_t i = 0; i < ims_sim_cfg_keys(); i++) {
        const char *key = ims_sim_cfg_key(i);
        char v1[512], v2[512];
        require(ims_sim_cfg_get(&cfg, key, v1, sizeof v1) == 0, "every listed key has a value", key);
        struct ims_sim_cfg again = cfg;
        require(ims_sim_cfg_set(&again, key, v1, err, sizeof err) == 0, "a printed value sets back", err);
        require(ims_sim_cfg_get(&again, key, v2, sizeof v2) == 0 && !strcmp(v1, v2), "a printed value round-trips",
                key);
    }
    /* As the timing model does: a functional replay (IOMMU, memory, table
     * builder) built from the configuration, for an empty trace. */
    struct ims_replay_cfg rc_cfg;
    ims_replay_cfg_default(&rc_cfg);
    rc_cfg.iommu = cfg.iommu;
    rc_cfg.tb = cfg.tb;
    rc_cfg.fault_drain_every = cfg.fault_drain_every;
    struct ims_trace_hdr hdr = {.version = IMS_TRACE_VERSION};
    struct ims_replay *rp = ims_replay_create(&hdr, &rc_cfg, NULL, NULL, err, sizeof err);
    require(rp != NULL, "a configuration that passes the checks builds the model", err);
    ims_replay_destroy(rp);
    return 0;
}
