/* `iommusim trace`: info, convert, validate and gen (docs/tools.md).
 * Exit status: 0 ok, 1 a check failed (validate), 2 usage or input error. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "iommusim/gen.h"
#include "iommusim/outfile.h"
#include "iommusim/qemu_vtd.h"
#include "iommusim/replay.h"
#include "iommusim/trace.h"
#include "iommusim/vtd.h"

#define EXIT_OK    0
#define EXIT_CHECK 1
#define EXIT_USAGE 2

#define BATCH 4096

static void usage_trace(FILE *f)
{
    fprintf(f, "usage: iommusim trace <subcommand> [options]\n"
               "\n"
               "subcommands:\n"
               "  info FILE                     summary: records per kind, DMA accesses, devices, time span,\n"
               "                                distinct 4 KiB pages, bytes moved, reads/writes\n"
               "  convert [--from FORMAT] IN OUT  convert between text, binary and zstd (by OUT's suffix),\n"
               "                                or from a QEMU VT-d log (--from qemu-vtd)\n"
               "  validate FILE                 replay functionally and check every DMA and record\n"
               "  gen KIND --count N [options] OUT  synthetic trace: nic, nvme, gpu, random, multi, calib\n"
               "\n"
               "Trace forms: .itr (binary), .itr.zst (zstd-compressed binary), .itt/.txt (text);\n"
               "readers detect the form from the file's first bytes. See docs/trace-format.md.\n"
               "'iommusim trace <subcommand> --help' describes each one.\n"
               "Exit status: 0 ok, 1 a check failed, 2 usage or input error.\n");
}

static bool is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* Progress on stderr, only when it is a terminal, at most a few times a second. */
struct progress {
    bool on;
    struct timespec last;
    const char *what;
};

static void progress_init(struct progress *p, const char *what)
{
    p->on = isatty(STDERR_FILENO);
    p->what = what;
    clock_gettime(CLOCK_MONOTONIC, &p->last);
}

static void progress_tick(struct progress *p, uint64_t n)
{
    if (!p->on)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - p->last.tv_sec) + 1e-9 * (double)(now.tv_nsec - p->last.tv_nsec);
    if (dt < 0.5)
        return;
    p->last = now;
    fprintf(stderr, "\r%s: %" PRIu64 " records", p->what, n);
}

static void progress_end(struct progress *p)
{
    if (p->on)
        fprintf(stderr, "\r\033[K");
}

static const char *form_name(int form)
{
    switch (form) {
    case IMS_TRACE_BINARY: return "binary";
    case IMS_TRACE_BINARY_ZSTD: return "binary, zstd-compressed";
    case IMS_TRACE_TEXT: return "text";
    default: return "?";
    }
}

/* ---- info ---- */

/* Open-addressing map from (requester id, 4 KiB IOVA page) to the time of
 * the page's last use; grows at 50% load. Slot: page + 1 (0 = empty), then
 * rid in bits 0..15 and the last-use time in bits 16..63. Memory: 16 bytes
 * per slot, at most 4 slots per distinct page. */
struct pageset {
    uint64_t *keys;
    size_t cap, n;
};

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The value word of (rid, page), inserted with time 0 (and *fresh set) when
 * new; NULL when out of memory. */
static uint64_t *pageset_slot(struct pageset *s, uint16_t rid, uint64_t page, bool *fresh)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 1024;
        uint64_t *nk = calloc(nc * 2, sizeof *nk);
        if (!nk)
            return NULL;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->keys[2 * i])
                continue;
            size_t h = mix64(s->keys[2 * i] ^ ((s->keys[2 * i + 1] & 0xffff) << 52)) & (nc - 1);
            while (nk[2 * h])
                h = (h + 1) & (nc - 1);
            nk[2 * h] = s->keys[2 * i];
            nk[2 * h + 1] = s->keys[2 * i + 1];
        }
        free(s->keys);
        s->keys = nk;
        s->cap = nc;
    }
    uint64_t k = page + 1;
    size_t h = mix64(k ^ ((uint64_t)rid << 52)) & (s->cap - 1);
    while (s->keys[2 * h]) {
        if (s->keys[2 * h] == k && (s->keys[2 * h + 1] & 0xffff) == rid) {
            *fresh = false;
            return &s->keys[2 * h + 1];
        }
        h = (h + 1) & (s->cap - 1);
    }
    s->keys[2 * h] = k;
    s->keys[2 * h + 1] = rid;
    s->n++;
    *fresh = true;
    return &s->keys[2 * h + 1];
}

/* Exact reuse distances (LRU stack distances) of the page-access stream: the
 * number of distinct other (rid, page) pairs used between two uses of one.
 * A Fenwick tree over access times holds a 1 at each page's last use, so the
 * distance is the count of ones between the previous use and now. Times are
 * renumbered 1..n (n = pages with a last use) whenever they reach the tree's
 * size, which stays within 4 slots per distinct page: memory grows with the
 * footprint, not the trace length. hist[d] counts reuses at distance d. */
struct reuse {
    uint64_t *bit; /* Fenwick tree, 1-based, cap entries */
    size_t cap;
    uint64_t now; /* the next access time, 1..cap */
    uint64_t *hist;
    size_t hcap;
    uint64_t reuses, first;
};

static uint64_t bit_sum(const struct reuse *u, uint64_t i)
{
    uint64_t s = 0;
    for (; i; i &= i - 1)
        s += u->bit[i - 1];
    return s;
}

static void bit_add(struct reuse *u, uint64_t i, int64_t v)
{
    for (; i <= u->cap; i += i & (~i + 1))
        u->bit[i - 1] += (uint64_t)v;
}

/* Renumbers every page's last-use time by its rank among them (a prefix sum
 * of the tree), grows the tree to at least twice that count, and refills it
 * with ones at 1..n. -1: out of memory. */
static int reuse_compact(struct reuse *u, struct pageset *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t *v = &s->keys[2 * i + 1];
        if (!s->keys[2 * i] || !(*v >> 16))
            continue;
        *v = (*v & 0xffff) | (bit_sum(u, *v >> 16) << 16);
        n++;
    }
    size_t nc = u->cap ? u->cap : 1024;
    while (2 * n + 2 > nc)
        nc *= 2;
    if (nc != u->cap) {
        uint64_t *nb = realloc(u->bit, nc * sizeof *nb);
        if (!nb)
            return -1;
        u->bit = nb;
        u->cap = nc;
    }
    memset(u->bit, 0, u->cap * sizeof *u->bit);
    for (uint64_t i = 1; i <= u->cap; i++) { /* linear build: ones at 1..n, sums pushed up */
        u->bit[i - 1] += i <= n;
        uint64_t j = i + (i & (~i + 1));
        if (j <= u->cap)
            u->bit[j - 1] += u->bit[i - 1];
    }
    u->now = n + 1;
    return 0;
}

/* One use of (rid, page). -1: out of memory. */
static int reuse_touch(struct reuse *u, struct pageset *s, uint16_t rid, uint64_t page)
{
    bool fresh;
    uint64_t *v = pageset_slot(s, rid, page, &fresh);
    if (!v)
        return -1;
    if (fresh) {
        u->first++;
    } else {
        uint64_t last = *v >> 16;
        uint64_t d = bit_sum(u, u->now - 1) - bit_sum(u, last);
        bit_add(u, last, -1);
        *v &= 0xffff;
        if (d >= u->hcap) {
            size_t nc = u->hcap ? u->hcap : 1024;
            while (nc <= d)
                nc *= 2;
            uint64_t *nh = realloc(u->hist, nc * sizeof *nh);
            if (!nh)
                return -1;
            memset(nh + u->hcap, 0, (nc - u->hcap) * sizeof *nh);
            u->hist = nh;
            u->hcap = nc;
        }
        u->hist[d]++;
        u->reuses++;
    }
    if (u->now > u->cap && reuse_compact(u, s) < 0)
        return -1;
    bit_add(u, u->now, 1);
    *v |= u->now << 16;
    u->now++;
    return 0;
}

/* The nearest-rank percentile p (0 < p <= 100) of the reuse distances. */
static uint64_t reuse_percentile(const struct reuse *u, unsigned p)
{
    uint64_t rank = (u->reuses * p + 99) / 100, cum = 0;
    for (size_t d = 0; d < u->hcap; d++) {
        cum += u->hist[d];
        if (cum >= rank)
            return d;
    }
    return u->hcap;
}

static uint64_t reuse_max(const struct reuse *u)
{
    for (size_t d = u->hcap; d > 0; d--)
        if (u->hist[d - 1])
            return d - 1;
    return 0;
}

/* The one FILE argument of `info` and `validate`: 0, or a message and
 * EXIT_USAGE for an unknown option or a second file. */
static int take_file(const char *cmd, const char *arg, const char **path)
{
    if (!*arg) {
        fprintf(stderr, "iommusim trace %s: empty file name\n", cmd);
        return EXIT_USAGE;
    }
    if (arg[0] == '-' && arg[1]) {
        fprintf(stderr, "iommusim trace %s: unknown option '%s'\n", cmd, arg);
        return EXIT_USAGE;
    }
    if (*path) {
        fprintf(stderr, "iommusim trace %s: expected one FILE, got '%s' and '%s'\n", cmd, *path, arg);
        return EXIT_USAGE;
    }
    *path = arg;
    return 0;
}

/* Opens the FILE of `cmd` (NULL: usage message); prints why not. */
static struct ims_trace_reader *open_file(const char *cmd, const char *path)
{
    if (!path) {
        fprintf(stderr, "usage: iommusim trace %s FILE\n", cmd);
        return NULL;
    }
    char err[1024];
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    if (!r)
        fprintf(stderr, "iommusim trace %s: %s\n", cmd, err);
    else
        ims_trace_read_ahead(r); /* zstd beside the work on the records (trace.h) */
    return r;
}

static int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            printf("usage: iommusim trace info FILE\n"
                   "\n"
                   "Reads the whole trace and prints its header and: records per kind; DMA accesses,\n"
                   "reads and writes; bytes moved; devices (distinct requester ids in DMA records);\n"
                   "time span of the DMA records; distinct 4 KiB pages touched, counted exactly as\n"
                   "distinct (requester id, IOVA page) pairs in a hash set (16 bytes per slot, memory\n"
                   "grows with the number of distinct pages, not with the trace length); page accesses\n"
                   "(each 4 KiB page a dma record covers, in record order) and the share of first\n"
                   "touches; exact reuse distances (distinct other pages used between two uses of one\n"
                   "(requester id, page)): p50, p90, p99 and max, in memory that grows with the\n"
                   "number of distinct pages.\n"
                   "FILE - reads standard input (a pipe too: the trace is read once, as a stream).\n"
                   "Exit status: 0 ok, 2 unreadable or malformed trace.\n");
            return EXIT_OK;
        }
        if (take_file("info", argv[i], &path))
            return EXIT_USAGE;
    }
    struct ims_trace_reader *r = open_file("info", path);
    if (!r)
        return EXIT_USAGE;
    struct ims_rec *recs = malloc(BATCH * sizeof *recs);
    uint8_t *seen = calloc(65536 / 8, 1);
    struct pageset ps = {0};
    struct reuse ru = {.now = 1};
    uint64_t kinds[IMS_REC_KIND_MAX + 1] = {0};
    uint64_t total = 0, reads = 0, writes = 0, rbytes = 0, wbytes = 0, exp_pa = 0, exp_fault = 0, pasid = 0;
    uint64_t ts_min = UINT64_MAX, ts_max = 0, marks = 0;
    unsigned devices = 0;
    int rc = EXIT_OK;
    if (!recs || !seen) {
        fprintf(stderr, "iommusim trace info: out of memory\n");
        rc = EXIT_USAGE;
        goto out;
    }
    struct progress pr;
    progress_init(&pr, path);
    long n;
    while ((n = ims_trace_read(r, recs, BATCH)) > 0) {
        for (long i = 0; i < n; i++) {
            const struct ims_rec *x = &recs[i];
            kinds[x->kind]++;
            if (x->kind == IMS_REC_MARK)
                marks++;
            if (x->kind != IMS_REC_DMA)
                continue;
            if (x->flags & IMS_RECF_WRITE) {
                writes++;
                wbytes += x->size;
            } else {
                reads++;
                rbytes += x->size;
            }
            exp_pa += (x->flags & IMS_RECF_EXPECT_PA) != 0;
            exp_fault += (x->flags & IMS_RECF_EXPECT_FAULT) != 0;
            pasid += (x->flags & IMS_RECF_PASID) != 0;
            if (x->ts < ts_min)
                ts_min = x->ts;
            if (x->ts > ts_max)
                ts_max = x->ts;
            if (!(seen[x->rid >> 3] & (1u << (x->rid & 7)))) {
                seen[x->rid >> 3] |= (uint8_t)(1u << (x->rid & 7));
                devices++;
            }
            uint64_t first = x->iova >> 12, last = (x->iova + x->size - 1) >> 12;
            for (uint64_t p = first; p <= last; p++)
                if (reuse_touch(&ru, &ps, x->rid, p) < 0) {
                    fprintf(stderr, "iommusim trace info: out of memory counting pages\n");
                    rc = EXIT_USAGE;
                    goto out;
                }
        }
        total += (uint64_t)n;
        progress_tick(&pr, total);
    }
    progress_end(&pr);
    if (n < 0) {
        fprintf(stderr, "iommusim trace info: %s\n", ims_trace_error(r));
        rc = EXIT_USAGE;
        goto out;
    }
    const struct ims_trace_hdr *h = ims_trace_header(r);
    printf("file: %s\n", ims_trace_input_name(path));
    printf("form: %s, version %u%s\n", form_name(ims_trace_reader_form(r)), h->version, h->scalable ? ", scalable mode" : "");
    printf("creator: %s\n", h->creator[0] ? h->creator : "-");
    printf("source: %s\n", h->source[0] ? h->source : "-");
    printf("topology: %d devices, %d bridges\n", h->topo.n_devices, h->topo.n_bridges);
    for (int i = 0; i < h->topo.n_devices; i++) {
        char b[IMS_BDF_TEXT_MAX];
        ims_bdf_format(b, sizeof b, h->topo.devices[i].bdf);
        printf("  device %s %s%s%s\n", h->topo.devices[i].name, b, h->topo.devices[i].bridge >= 0 ? " behind " : "",
               h->topo.devices[i].bridge >= 0 ? h->topo.bridges[h->topo.devices[i].bridge].name : "");
    }
    printf("records: %" PRIu64 "\n", total);
    for (unsigned k = 1; k <= IMS_REC_KIND_MAX; k++)
        printf("  %-10s %" PRIu64 "\n", ims_rec_kind_name(k), kinds[k]);
    printf("dma accesses: %" PRIu64 " (reads %" PRIu64 ", writes %" PRIu64 ")\n", kinds[IMS_REC_DMA], reads, writes);
    printf("bytes moved: %" PRIu64 " (read %" PRIu64 ", written %" PRIu64 ")\n", rbytes + wbytes, rbytes, wbytes);
    printf("expected pa: %" PRIu64 ", expected faults: %" PRIu64 ", with pasid: %" PRIu64 "\n", exp_pa, exp_fault,
           pasid);
    printf("devices: %u (distinct requester ids in dma records)\n", devices);
    if (kinds[IMS_REC_DMA])
        printf("time span: %" PRIu64 " .. %" PRIu64 " ns (%" PRIu64 " ns)\n", ts_min, ts_max, ts_max - ts_min);
    else
        printf("time span: - (no dma records)\n");
    printf("distinct 4 KiB pages touched: %zu (exact: (requester id, IOVA page) pairs in a hash set)\n", ps.n);
    uint64_t accesses = ru.first + ru.reuses;
    printf("page accesses: %" PRIu64 " (each 4 KiB page a dma record covers), first touches %" PRIu64 " (%.2f %%)\n",
           accesses, ru.first, accesses ? 100.0 * (double)ru.first / (double)accesses : 0.0);
    if (ru.reuses)
        printf("reuse distance: p50 %" PRIu64 ", p90 %" PRIu64 ", p99 %" PRIu64 ", max %" PRIu64 " over %" PRIu64
               " reuses (exact: distinct other pages between two uses of one page)\n",
               reuse_percentile(&ru, 50), reuse_percentile(&ru, 90), reuse_percentile(&ru, 99), reuse_max(&ru),
               ru.reuses);
    else
        printf("reuse distance: - (no page used twice)\n");
out:
    free(ps.keys);
    free(ru.bit);
    free(ru.hist);
    free(seen);
    free(recs);
    ims_trace_close(r);
    return rc;
}

/* ---- convert ---- */

static bool is_fifo(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

static int cmd_convert(int argc, char **argv)
{
    const char *from = "auto", *in = NULL, *out = NULL;
    unsigned version = IMS_TRACE_VERSION; /* binary output */
    struct ims_qemu_vtd_opts qo;
    ims_qemu_vtd_opts_default(&qo);
    const char *qemu_only = NULL; /* an option given that applies only to --from qemu-vtd */
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            printf("usage: iommusim trace convert [--from FORMAT] [--format-version 2|3] [--default-size BYTES] [--source TEXT] IN OUT\n"
                   "\n"
                   "Copies every record of IN into OUT, whose form follows its suffix:\n"
                   ".itr (binary), .itr.zst (zstd-compressed binary), .itt or .txt (text); - is text\n"
                   "on stdout. OUT is written whole or not at all; a link is followed, a device or\n"
                   "FIFO written through (docs/tools.md, \"Output files\"). OUT may not be IN.\n"
                   "IN - reads standard input (a pipe too), with every --from.\n"
                   "\n"
                   "  --from FORMAT        auto (default: detect from IN's first bytes), binary, zstd, text\n"
                   "                       (checked against what IN holds), or qemu-vtd: IN is a QEMU\n"
                   "                       VT-d trace-event log (docs/recording.md)\n"
                   "  --format-version N   binary OUT: write version 3 (default: compact records) or 2\n"
                   "                       (fixed 40-byte records; docs/trace-format.md)\n"
                   "  --default-size BYTES qemu-vtd: bytes per DMA when the log gives none (default 4096)\n"
                   "  --source TEXT        qemu-vtd: how the log was recorded, for the header's source field\n"
                   "Exit status: 0 ok, 2 usage or input error.\n");
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--format-version")) {
            if (i + 1 >= argc || (strcmp(argv[i + 1], "2") && strcmp(argv[i + 1], "3"))) {
                fprintf(stderr, "iommusim trace convert: --format-version: expected 2 or 3, got '%s'\n",
                        i + 1 < argc ? argv[i + 1] : "");
                return EXIT_USAGE;
            }
            version = (unsigned)(argv[++i][0] - '0');
            continue;
        }
        if (!strcmp(argv[i], "--from") || !strcmp(argv[i], "--default-size") || !strcmp(argv[i], "--source")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "iommusim trace convert: %s needs a value\n", argv[i]);
                return EXIT_USAGE;
            }
            if (!strcmp(argv[i], "--from")) {
                from = argv[++i];
            } else if (!strcmp(argv[i], "--source")) {
                qo.source = argv[++i];
                qemu_only = "--source";
            } else {
                char *end;
                unsigned long v = strtoul(argv[++i], &end, 0);
                if (*end || v == 0 || v > UINT32_MAX || argv[i][0] == '-') {
                    fprintf(stderr, "iommusim trace convert: --default-size: expected 1..4294967295, got '%s'\n",
                            argv[i]);
                    return EXIT_USAGE;
                }
                qo.default_size = (uint32_t)v;
                qemu_only = "--default-size";
            }
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "iommusim trace convert: unknown option '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
        if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            fprintf(stderr, "iommusim trace convert: expected IN and OUT, got a third argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!in || !out) {
        fprintf(stderr, "usage: iommusim trace convert [--from FORMAT] IN OUT\n");
        return EXIT_USAGE;
    }
    if (!*in || !*out) {
        fprintf(stderr, "iommusim trace convert: empty file name for %s\n", *in ? "OUT" : "IN");
        return EXIT_USAGE;
    }
    int want = -1;
    if (!strcmp(from, "binary"))
        want = IMS_TRACE_BINARY;
    else if (!strcmp(from, "zstd"))
        want = IMS_TRACE_BINARY_ZSTD;
    else if (!strcmp(from, "text"))
        want = IMS_TRACE_TEXT;
    else if (strcmp(from, "auto") && strcmp(from, "qemu-vtd")) {
        fprintf(stderr, "iommusim trace convert: --from: expected auto, binary, zstd, text or qemu-vtd, got '%s'\n",
                from);
        return EXIT_USAGE;
    }
    if (qemu_only && strcmp(from, "qemu-vtd")) {
        fprintf(stderr, "iommusim trace convert: %s applies only to --from qemu-vtd\n", qemu_only);
        return EXIT_USAGE;
    }
    if (strcmp(out, "-") && ims_trace_form_from_path(out) < 0) {
        fprintf(stderr,
                "iommusim trace convert: %s: unknown output suffix (expected .itr, .itr.zst, .itt or .txt, or - for "
                "text on stdout)\n",
                out);
        return EXIT_USAGE;
    }
    if (strcmp(in, "-") && ims_outfile_same(in, out)) { /* "-" is stdin as IN, stdout as OUT */
        fprintf(stderr, "iommusim trace convert: %s and %s: the output would replace the input\n", in, out);
        return EXIT_USAGE;
    }
    /* With the trace on stdout, the summary goes to stderr. */
    FILE *info = strcmp(out, "-") ? stdout : stderr;
    char err[1024];
    if (!strcmp(from, "qemu-vtd")) {
        /* The whole log is parsed before the trace is written: make sure the
         * output can be created first. A device or FIFO is left alone (a
         * trial open would hand a FIFO's reader an early end of file). */
        if (strcmp(out, "-") && !ims_outfile_is_chardev(out) && !is_fifo(out)) {
            struct ims_outfile *probe = ims_outfile_open(out, err, sizeof err);
            if (!probe) {
                fprintf(stderr, "iommusim trace convert: %s\n", err);
                return EXIT_USAGE;
            }
            ims_outfile_abort(probe);
        }
        struct ims_qemu_vtd_stats st;
        memset(&st, 0, sizeof st);
        if (ims_qemu_vtd_convert(in, out, &qo, &st, err, sizeof err) < 0) {
            fprintf(stderr, "iommusim trace convert: %s\n", err);
            return EXIT_USAGE;
        }
        in = ims_trace_input_name(in);
        fprintf(info, "converted %s -> %s\n", in, out);
        fprintf(info, "lines: %" PRIu64 ", events used: %" PRIu64 "\n", st.lines, st.events);
        fprintf(info, "dma: %" PRIu64 " (sized from device events: %" PRIu64 ", expected faults: %" PRIu64 ")\n",
                st.dma, st.sized, st.faults);
        fprintf(info, "map: %" PRIu64 ", unmap: %" PRIu64 ", invalidations: %" PRIu64 ", attach: %" PRIu64 "\n",
                st.maps, st.unmaps, st.invalidations, st.attaches);
        fprintf(info, "timestamps: %s\n", st.timestamps ? "from the log" : "none in the log: line order used");
        return EXIT_OK;
    }
    struct ims_trace_reader *r = ims_trace_open(in, err, sizeof err);
    if (!r) {
        fprintf(stderr, "iommusim trace convert: %s\n", err);
        return EXIT_USAGE;
    }
    in = ims_trace_input_name(in); /* its name from here on */
    ims_trace_read_ahead(r); /* decompression beside the encoding and compression of OUT */
    if (want >= 0 && ims_trace_reader_form(r) != want) {
        fprintf(stderr, "iommusim trace convert: %s: --from %s, but the file holds a %s trace\n", in, from,
                form_name(ims_trace_reader_form(r)));
        ims_trace_close(r);
        return EXIT_USAGE;
    }
    struct ims_trace_writer *w = ims_trace_create_version(out, ims_trace_header(r), version, err, sizeof err);
    if (!w) {
        fprintf(stderr, "iommusim trace convert: %s\n", err);
        ims_trace_close(r);
        return EXIT_USAGE;
    }
    struct ims_rec *recs = malloc(BATCH * sizeof *recs);
    uint64_t total = 0;
    long n = -1;
    int rc = EXIT_OK;
    struct progress pr;
    progress_init(&pr, in);
    while (recs && (n = ims_trace_read(r, recs, BATCH)) > 0) {
        for (long i = 0; i < n; i++)
            if (ims_trace_write(w, &recs[i]) < 0) {
                fprintf(stderr, "iommusim trace convert: %s\n", ims_trace_writer_error(w));
                rc = EXIT_USAGE;
                goto out;
            }
        total += (uint64_t)n;
        progress_tick(&pr, total);
    }
    progress_end(&pr);
    if (n < 0) {
        fprintf(stderr, "iommusim trace convert: %s\n", recs ? ims_trace_error(r) : "out of memory");
        rc = EXIT_USAGE;
    }
out:
    free(recs);
    ims_trace_close(r);
    if (rc != EXIT_OK) {
        ims_trace_abort(w);
        fprintf(stderr, "iommusim trace convert: %s not written\n", out);
        return rc;
    }
    if (ims_trace_commit(w, err, sizeof err) < 0) {
        fprintf(stderr, "iommusim trace convert: %s\n", err);
        return EXIT_USAGE;
    }
    fprintf(info, "converted %s -> %s: %" PRIu64 " records\n", in, out, total);
    return EXIT_OK;
}

/* ---- validate ---- */

struct vstate {
    uint64_t index;   /* the record being checked */
    bool bad;         /* it has had its message */
    const char *path;
    uint64_t problems;
    uint64_t max_print;
    uint64_t ts_errors, control_errors, dma_errors;
};

static void problem(struct vstate *v, uint64_t index, const struct ims_rec *rec, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct vstate *v, uint64_t index, const struct ims_rec *rec, const char *fmt, ...)
{
    v->problems++;
    if (v->problems > v->max_print) {
        /* With --quiet or --max-errors 0 none are listed: the summary counts them. */
        if (v->problems == v->max_print + 1 && v->max_print > 0)
            fprintf(stderr, "%s: more problems; only the first %" PRIu64 " are shown (--max-errors)\n", v->path,
                    v->max_print);
        return;
    }
    char line[256];
    ims_rec_format(rec, line, sizeof line);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: record %" PRIu64 " (%s): %s\n", v->path, index, line, msg);
}

static const char *fault_name(unsigned reason)
{
    const char *n = ims_fault_reason_name(reason);
    return n ? n : "unknown";
}

/* One message per record: the first part that disagrees. */
static void validate_seen(void *ctx, const struct ims_rec *rec, const struct ims_req *req, const struct ims_xlate *x,
                          bool ok)
{
    struct vstate *v = ctx;
    if (v->bad)
        return;
    if (rec->flags & IMS_RECF_EXPECT_PA) {
        if (!ok) {
            v->bad = true;
            uint64_t want = rec->pa + (req->iova - rec->iova);
            if (x->fault)
                problem(v, v->index, rec, "iova 0x%" PRIx64 " faulted (0x%x %s), expected pa 0x%" PRIx64,
                        req->iova, x->fault, fault_name(x->fault), want);
            else
                problem(v, v->index, rec, "iova 0x%" PRIx64 " -> pa 0x%" PRIx64 ", expected pa 0x%" PRIx64,
                        req->iova, x->pa, want);
        }
    } else if (rec->flags & IMS_RECF_EXPECT_FAULT) {
        if (!ok) {
            v->bad = true;
            if (x->fault)
                problem(v, v->index, rec, "iova 0x%" PRIx64 " faulted 0x%x %s, expected fault 0x%x %s",
                        req->iova, x->fault, fault_name(x->fault), rec->reason, fault_name(rec->reason));
            else
                problem(v, v->index, rec,
                        "iova 0x%" PRIx64 " -> pa 0x%" PRIx64 ", expected fault 0x%x %s", req->iova,
                        x->pa, rec->reason, fault_name(rec->reason));
        }
    } else if (x->fault) {
        v->bad = true;
        problem(v, v->index, rec, "iova 0x%" PRIx64 " faulted (0x%x %s): not mapped for this access",
                req->iova, x->fault, fault_name(x->fault));
    }
}

static int cmd_validate(int argc, char **argv)
{
    const char *path = NULL;
    uint64_t max_print = 20;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            printf("usage: iommusim trace validate [--max-errors N] [--quiet] FILE\n"
                   "\n"
                   "Replays FILE through the functional IOMMU model (default capabilities, tables\n"
                   "built from the trace's attach/map/unmap records) and checks that:\n"
                   "  - every DMA, split at 4 KiB boundaries, translates to its expected address\n"
                   "    (expect=) or faults with its expected reason (fault=); a DMA without an\n"
                   "    expectation must not fault (it must hit a page mapped at that moment);\n"
                   "  - timestamps of DMA records never decrease per device (requester id);\n"
                   "  - attach/detach/map/unmap are consistent (no mapping over a mapping,\n"
                   "    no unmap of nothing, no device in two domains, domains exist).\n"
                   "Problems name the record index; a summary follows.\n"
                   "FILE - reads standard input (a pipe too).\n"
                   "\n"
                   "  --max-errors N  print at most N problems (default 20; all are counted)\n"
                   "  --quiet         print only the summary line\n"
                   "Exit status: 0 valid, 1 problems found, 2 usage error or unreadable trace.\n");
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--max-errors")) {
            char *end = NULL;
            if (i + 1 < argc)
                errno = 0;
            if (i + 1 >= argc || (max_print = strtoull(argv[i + 1], &end, 10), *end) || !argv[i + 1][0] ||
                argv[i + 1][0] == '-' || errno == ERANGE) {
                fprintf(stderr, "iommusim trace validate: --max-errors needs a number 0..%llu%s%s%s\n",
                        (unsigned long long)UINT64_MAX, i + 1 < argc ? ", got '" : "", i + 1 < argc ? argv[i + 1] : "",
                        i + 1 < argc ? "'" : "");
                return EXIT_USAGE;
            }
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--quiet")) {
            quiet = true;
            continue;
        }
        if (take_file("validate", argv[i], &path))
            return EXIT_USAGE;
    }
    struct ims_trace_reader *r = open_file("validate", path);
    if (!r)
        return EXIT_USAGE;
    path = ims_trace_input_name(path); /* its name from here on */
    char err[1024];
    struct ims_replay_cfg cfg;
    ims_replay_cfg_default(&cfg);
    struct ims_replay *rp = ims_replay_create(ims_trace_header(r), &cfg, NULL, NULL, err, sizeof err);
    if (!rp) {
        fprintf(stderr, "iommusim trace validate: %s: %s\n", path, err);
        ims_trace_close(r);
        return EXIT_USAGE;
    }
    struct vstate v = {.path = path, .max_print = quiet ? 0 : max_print};
    struct ims_rec *recs = malloc(BATCH * sizeof *recs);
    uint64_t *last_ts = calloc(65536, sizeof *last_ts);
    bool pri_failed = false;
    uint64_t index = 0;
    long n = -1;
    struct progress pr;
    progress_init(&pr, path);
    while (recs && last_ts && (n = ims_trace_read(r, recs, BATCH)) > 0) {
        for (long i = 0; i < n; i++, index++) {
            const struct ims_rec *rec = &recs[i];
            if (rec->kind != IMS_REC_DMA) {
                v.index = index; /* (a pgresp's retried parts are checked here) */
                v.bad = false;
                if (ims_replay_control(rp, rec, err, sizeof err) < 0) {
                    v.control_errors++;
                    problem(&v, index, rec, "%s", err);
                }
                continue;
            }
            /* Stored as ts + 1 so that 0 means "no DMA seen yet". */
            if (last_ts[rec->rid] && rec->ts < last_ts[rec->rid] - 1) {
                v.ts_errors++;
                char b[IMS_BDF_TEXT_MAX];
                ims_bdf_format(b, sizeof b, rec->rid);
                problem(&v, index, rec, "timestamp %" PRIu64 " before the previous dma of %s at %" PRIu64, rec->ts,
                        b, last_ts[rec->rid] - 1);
            } else if (rec->ts != UINT64_MAX) {
                last_ts[rec->rid] = rec->ts + 1;
            }
            v.index = index;
            v.bad = false;
            ims_replay_set_index(rp, index);
            ims_replay_dma_seen(rp, rec, validate_seen, &v);
            if (!pri_failed && ims_replay_error(rp)) { /* page requests: an impossible record (once) */
                pri_failed = true;
                v.bad = true;
                problem(&v, index, rec, "%s", ims_replay_error(rp));
            }
            if (v.bad)
                v.dma_errors++;
        }
        progress_tick(&pr, index);
    }
    progress_end(&pr);
    if (recs && last_ts && n == 0 && ims_replay_finish(rp, err, sizeof err) < 0) {
        v.problems++; /* page requests without their pgresp (the message names the record) */
        v.dma_errors++;
        if (v.problems <= v.max_print)
            fprintf(stderr, "%s: %s\n", path, err);
    }
    int rc = EXIT_OK;
    if (!recs || !last_ts) {
        fprintf(stderr, "iommusim trace validate: out of memory\n");
        rc = EXIT_USAGE;
    } else if (n < 0) {
        fprintf(stderr, "iommusim trace validate: %s\n", ims_trace_error(r));
        rc = EXIT_USAGE;
    }
    const struct ims_replay_stats *st = ims_replay_stats(rp);
    if (rc == EXIT_OK) {
        printf("%s: %s: %" PRIu64 " records, %" PRIu64 " dma (%" PRIu64 " requests, %" PRIu64
               " checked), %" PRIu64 " problems: %" PRIu64 " dma mismatches or unexpected faults, %" PRIu64
               " timestamp errors, %" PRIu64 " control-record errors\n",
               path, v.problems ? "INVALID" : "valid", index, st->dma, st->requests, st->checked, v.problems,
               v.dma_errors, v.ts_errors, v.control_errors);
        if (v.problems)
            rc = EXIT_CHECK;
    }
    free(recs);
    free(last_ts);
    ims_replay_destroy(rp);
    ims_trace_close(r);
    return rc;
}

/* ---- gen ---- */

static void usage_gen(FILE *f)
{
    fprintf(f, "usage: iommusim trace gen KIND --count N [--seed S] [options] OUT\n"
               "\n"
               "Writes a synthetic, self-consistent trace (attach, map before use, DMA with expected\n"
               "addresses, unmap + invalidations, 'mark warmup-end'); OUT's suffix picks the form.\n"
               "The same options and seed give a byte-identical file.\n"
               "\n"
               "KIND:\n"
               "  nic     rx/tx descriptor rings and per-packet buffers\n"
               "  nvme    submission/completion queues, data pages, PRP lists\n"
               "  gpu     bulk streams over a large footprint mapped with 2 MiB pages\n"
               "  random  uniform accesses over a footprint of 4 KiB pages (IOTLB worst case)\n"
               "  multi   many devices and domains, two devices behind a PCIe-to-PCI bridge\n"
               "  calib   --from RECORDING: its footprint, reuse distances and unmap shape\n"
               "  svm     scalable mode: processes hand heap buffers to an accelerator by PASID\n"
               "          (shared virtual memory); --nested: the processes live in a VM\n"
               "\n"
               "options (--name VALUE or --name=VALUE; sizes take k/m/g suffixes):\n");
    ims_gen_help(f);
    fprintf(f, "Exit status: 0 ok, 2 usage error or the file could not be written.\n");
}

static int cmd_gen(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (is_help(argv[i])) {
            usage_gen(stdout);
            return EXIT_OK;
        }
    if (argc < 2) {
        usage_gen(stderr);
        return EXIT_USAGE;
    }
    int kind = ims_gen_kind_from_name(argv[1]);
    if (kind < 0) {
        fprintf(stderr, "iommusim trace gen: unknown KIND '%s' (expected nic, nvme, gpu, random, multi, calib or svm)\n",
                argv[1]);
        return EXIT_USAGE;
    }
    struct ims_gen_cfg cfg;
    ims_gen_cfg_default(&cfg, (unsigned)kind);
    const char *out = NULL;
    char err[512];
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            char key[64];
            const char *val;
            const char *eq = strchr(argv[i], '=');
            if (eq) {
                snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i] - 2), argv[i] + 2);
                val = eq + 1;
            } else {
                snprintf(key, sizeof key, "%s", argv[i] + 2);
                if (!strcmp(key, "nested")) { /* a bare flag: svm --nested */
                    val = "on";
                } else {
                    if (i + 1 >= argc) {
                        fprintf(stderr, "iommusim trace gen: --%s needs a value\n", key);
                        return EXIT_USAGE;
                    }
                    val = argv[++i];
                }
            }
            if (ims_gen_set(&cfg, key, val, err, sizeof err) < 0) {
                fprintf(stderr, "iommusim trace gen: %s\n", err);
                return EXIT_USAGE;
            }
            continue;
        }
        if (out) {
            fprintf(stderr, "iommusim trace gen: expected one OUT, got '%s' and '%s'\n", out, argv[i]);
            return EXIT_USAGE;
        }
        out = argv[i];
    }
    if (out && !*out) {
        fprintf(stderr, "iommusim trace gen: empty file name for OUT\n");
        return EXIT_USAGE;
    }
    if (!out) {
        fprintf(stderr, "iommusim trace gen: expected an output file OUT (.itr, .itr.zst, .itt or .txt)\n");
        return EXIT_USAGE;
    }
    if (strcmp(out, "-") && ims_trace_form_from_path(out) < 0) {
        fprintf(stderr,
                "iommusim trace gen: %s: unknown output suffix (expected .itr, .itr.zst, .itt or .txt, or - for text "
                "on stdout)\n",
                out);
        return EXIT_USAGE;
    }
    if (ims_gen_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "iommusim trace gen: %s\n", err);
        return EXIT_USAGE;
    }
    struct ims_gen_stats st;
    if (ims_gen_write(&cfg, out, &st, err, sizeof err) < 0) {
        fprintf(stderr, "iommusim trace gen: %s\n", err);
        return EXIT_USAGE;
    }
    fprintf(strcmp(out, "-") ? stdout : stderr,
            "wrote %s: %" PRIu64 " records (dma %" PRIu64 ", map %" PRIu64 ", unmap %" PRIu64 ", invalidations %" PRIu64
            ", attach %" PRIu64 "), %" PRIu64 " bytes moved\n",
            out, st.records, st.dma, st.maps, st.unmaps, st.invalidations, st.attaches, st.dma_bytes);
    return EXIT_OK;
}

int ims_cmd_trace(int argc, char **argv)
{
    if (argc < 2) {
        usage_trace(stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (is_help(sub) || !strcmp(sub, "help")) {
        usage_trace(stdout);
        return EXIT_OK;
    }
    if (!strcmp(sub, "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(sub, "convert"))
        return cmd_convert(argc - 1, argv + 1);
    if (!strcmp(sub, "validate"))
        return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(sub, "gen"))
        return cmd_gen(argc - 1, argv + 1);
    fprintf(stderr, "iommusim trace: unknown subcommand '%s'\n", sub);
    usage_trace(stderr);
    return EXIT_USAGE;
}
