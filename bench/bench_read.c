/* Reads one trace to its end and nothing else, for instruction counts of the
 * reader alone (`valgrind --tool=callgrind build/bench/bench_read FILE`;
 * docs/performance.md, "Trace format version 3"). Prints the records read
 * and a checksum of their fields (so the decode cannot be skipped).
 *
 * usage: bench_read FILE
 */
#include <inttypes.h>
#include <stdio.h>

#include "iommusim/trace.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_read FILE\n");
        return 2;
    }
    char err[1024];
    struct ims_trace_reader *r = ims_trace_open(argv[1], err, sizeof err);
    if (!r) {
        fprintf(stderr, "bench_read: %s\n", err);
        return 2;
    }
    static struct ims_rec recs[4096];
    uint64_t n = 0, sum = 0;
    long got;
    while ((got = ims_trace_read(r, recs, 4096)) > 0)
        for (long i = 0; i < got; i++, n++)
            sum += recs[i].ts ^ recs[i].iova ^ recs[i].size ^ recs[i].pa;
    if (got < 0) {
        fprintf(stderr, "bench_read: %s\n", ims_trace_error(r));
        ims_trace_close(r);
        return 2;
    }
    printf("records %" PRIu64 " version %u checksum %016" PRIx64 "\n", n, ims_trace_header(r)->version, sum);
    ims_trace_close(r);
    return 0;
}
