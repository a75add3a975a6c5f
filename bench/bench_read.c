/* Reads one trace to its end and nothing else, for instruction counts of the
 * reader alone (`valgrind --tool=callgrind build/bench/bench_read FILE`;
 * docs/performance.md, "Trace format version 3"). Prints the records read,
 * a checksum of four fields (so the decode cannot be skipped; the one
 * earlier measurements printed) and a digest of every field of every
 * record, so that two builds of the reader can be compared record for
 * record on the same file (docs/performance.md, "The trace reader, faster").
 *
 * usage: bench_read FILE
 */
#include <inttypes.h>
#include <stdio.h>

#include "iommusim/trace.h"

/* FNV-1a, 64 bits, over one field's value (little-endian bytes). */
static uint64_t mix(uint64_t h, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Every field by name (not the struct's bytes: padding is not a field). */
static uint64_t rec_digest(uint64_t h, const struct ims_rec *r)
{
    h = mix(h, r->ts, 8);
    h = mix(h, r->iova, 8);
    h = mix(h, r->pa, 8);
    h = mix(h, r->size, 8);
    h = mix(h, r->pasid, 4);
    h = mix(h, r->rid, 2);
    h = mix(h, r->did, 2);
    h = mix(h, r->prg, 2);
    h = mix(h, r->kind, 1);
    h = mix(h, r->flags, 1);
    h = mix(h, r->perm, 1);
    h = mix(h, r->gran, 1);
    h = mix(h, r->am, 1);
    h = mix(h, r->fm, 1);
    h = mix(h, r->levels, 1);
    h = mix(h, r->tt, 1);
    h = mix(h, r->reason, 1);
    h = mix(h, r->pid, 1);
    h = mix(h, r->vm, 1);
    h = mix(h, r->target, 1);
    h = mix(h, r->resp, 1);
    for (unsigned i = 0; i < IMS_REC_LABEL_MAX; i++)
        h = mix(h, (unsigned char)r->label[i], 1);
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 3 && argv[1][0] == '-' && argv[1][1] == 'a' && !argv[1][2])) {
        fprintf(stderr, "usage: bench_read [-a] FILE\n  -a: also a digest of every field of every record\n");
        return 2;
    }
    const bool all = argc == 3;
    const char *path = argv[argc - 1];
    char err[1024];
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    if (!r) {
        fprintf(stderr, "bench_read: %s\n", err);
        return 2;
    }
    static struct ims_rec recs[4096];
    uint64_t n = 0, sum = 0, dig = 0xcbf29ce484222325ull;
    long got;
    while ((got = ims_trace_read(r, recs, 4096)) > 0)
        for (long i = 0; i < got; i++, n++) {
            sum += recs[i].ts ^ recs[i].iova ^ recs[i].size ^ recs[i].pa;
            if (all)
                dig = rec_digest(dig, &recs[i]);
        }
    printf("records %" PRIu64 " version %u checksum %016" PRIx64, n, ims_trace_header(r)->version, sum);
    if (all)
        printf(" fields %016" PRIx64, dig);
    printf("\n");
    if (got < 0) { /* after the records before the bad one, which a comparison also wants */
        fprintf(stderr, "bench_read: %s\n", ims_trace_error(r));
        ims_trace_close(r);
        return 2;
    }
    ims_trace_close(r);
    return 0;
}
