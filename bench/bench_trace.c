/* Trace reading throughput: generates a ~20 M-record zstd binary trace (nic
 * generator) and a text trace in /tmp, then times the batch reader over each.
 * Prints `name value` lines (see docs/performance.md).
 *
 * usage: bench_trace [DMA_RECORDS [TEXT_DMA_RECORDS]]   (defaults 10000000 -> ~20 M records, 1000000)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "iommusim/gen.h"
#include "iommusim/trace.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Reads the whole trace in batches; returns records read, or -1. The
 * checksum keeps the compiler from skipping the decode. */
static long long read_all(const char *path, double *secs, unsigned long long *sum)
{
    char err[512];
    static struct ims_rec recs[1024];
    double t0 = now();
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    if (!r) {
        fprintf(stderr, "bench_trace: %s\n", err);
        return -1;
    }
    long long total = 0;
    long n;
    while ((n = ims_trace_read(r, recs, 1024)) > 0) {
        for (long i = 0; i < n; i++)
            *sum += recs[i].iova ^ recs[i].size;
        total += n;
    }
    if (n < 0) {
        fprintf(stderr, "bench_trace: %s\n", ims_trace_error(r));
        ims_trace_close(r);
        return -1;
    }
    ims_trace_close(r);
    *secs = now() - t0;
    return total;
}

static int gen(const char *path, unsigned long long count)
{
    struct ims_gen_cfg cfg;
    char err[512];
    struct ims_gen_stats st;
    ims_gen_cfg_default(&cfg, IMS_GEN_NIC);
    cfg.count = count;
    cfg.seed = 42;
    double t0 = now();
    if (ims_gen_write(&cfg, path, &st, err, sizeof err) < 0) {
        fprintf(stderr, "bench_trace: %s\n", err);
        return -1;
    }
    double dt = now() - t0;
    printf("gen_nic_records %llu\n", (unsigned long long)st.records);
    printf("gen_nic_records_per_s %.0f\n", (double)st.records / dt);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long n_zst = argc > 1 ? strtoull(argv[1], NULL, 0) : 10000000ull;
    unsigned long long n_txt = argc > 2 ? strtoull(argv[2], NULL, 0) : 1000000ull;
    char zst[64], txt[64];
    snprintf(zst, sizeof zst, "/tmp/bench_trace_%ld.itr.zst", (long)getpid());
    snprintf(txt, sizeof txt, "/tmp/bench_trace_%ld.itt", (long)getpid());
    unsigned long long sum = 0;
    double secs, best;
    int rc = 1;

    if (gen(zst, n_zst) < 0)
        goto out;
    best = 1e30;
    long long total = 0;
    for (int rep = 0; rep < 3; rep++) {
        total = read_all(zst, &secs, &sum);
        if (total < 0)
            goto out;
        if (secs < best)
            best = secs;
    }
    printf("trace_read_zst_records %lld\n", total);
    printf("trace_read_zst_seconds %.3f\n", best);
    printf("trace_read_zst_records_per_s %.0f\n", (double)total / best);

    if (gen(txt, n_txt) < 0)
        goto out;
    total = read_all(txt, &secs, &sum);
    if (total < 0)
        goto out;
    printf("trace_read_text_records %lld\n", total);
    printf("trace_read_text_records_per_s %.0f\n", (double)total / secs);
    printf("checksum %llx\n", sum);
    rc = 0;
out:
    unlink(zst);
    unlink(txt);
    return rc;
}
