/* Fuzz target for the QEMU VT-d log converter, driven as `iommusim trace
 * convert --from qemu-vtd` drives it: convert the log into a binary trace
 * (in a private directory under /dev/shm, or $TMPDIR), then read and replay
 * that trace as `trace validate` would. Oracles besides the sanitizers: an
 * error names the log; a successful conversion leaves a trace the reader
 * accepts (the converter writes only records that pass ims_rec_check); a
 * failed one leaves no output file. */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "iommusim/qemu_vtd.h"
#include "iommusim/trace.h"

static char out_dir[256];
static char out_path[300];

static void require(bool ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "fuzz_qemu_vtd: contract broken: %s (%s)\n", what, detail);
        abort();
    }
}

static void remove_out_dir(void)
{
    unlink(out_path);
    rmdir(out_dir);
}

static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(out_dir, sizeof out_dir, "%s/ims-fuzz-qemu.XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(out_dir)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(out_path, sizeof out_path, "%s/out.itr", out_dir);
    atexit(remove_out_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!out_dir[0])
        setup();
    struct ims_fuzz_file f;
    ims_fuzz_file_open(&f, data, size);
    struct ims_qemu_vtd_opts opts;
    ims_qemu_vtd_opts_default(&opts);
    struct ims_qemu_vtd_stats st;
    char err[1024];
    int rc = ims_qemu_vtd_convert(f.path, out_path, &opts, &st, err, sizeof err);
    if (rc < 0) {
        require(strstr(err, f.path) != NULL || strstr(err, out_path) != NULL, "an error names the file", err);
        struct stat sb;
        require(stat(out_path, &sb) != 0 && errno == ENOENT, "a failed conversion leaves no output", out_path);
    } else {
        struct ims_trace_reader *r = ims_trace_open(out_path, err, sizeof err);
        require(r != NULL, "the converted trace opens", err);
        ims_trace_close(r);
        ims_fuzz_replay_file(out_path);
        unlink(out_path);
    }
    ims_fuzz_file_close(&f);
    return 0;
}
