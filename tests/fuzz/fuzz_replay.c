/* Reads a trace file to its end and replays it, as `iommusim trace
 * validate` does (fuzz_util.h). Oracles besides the sanitizers: every
 * record a reader returns passes ims_rec_check and is in canonical form
 * (trace.h's contract); every error message names the file. */
#define _GNU_SOURCE /* memfd_create */
#include <stdbool.h>
#include <string.h>

#include "fuzz_util.h"
#include "iommusim/replay.h"
#include "iommusim/trace.h"

/* Work per input at most, in 4 KiB pages: translated requests, and pages
 * mapped or unmapped. One 40-byte record may ask for 2^20 requests (a DMA)
 * or 2^34 page-table entries (a MAP that no superpage fits: time and
 * memory linear in its size, by design of the table builder), which only
 * makes the fuzzer slow; records past the budget are skipped. */
#define FZ_MAX_PAGES (UINT64_C(1) << 16)
#define FZ_BATCH 64

/* Field by field (the struct has padding, which neither side defines);
 * names the first field that differs on stderr. */
static bool rec_same(const struct ims_rec *a, const struct ims_rec *b)
{
#define FZ_F(f)                                                                                                  \
    if (a->f != b->f) {                                                                                          \
        fprintf(stderr, "fuzz_trace: field " #f ": 0x%llx, canonical 0x%llx\n", (unsigned long long)a->f,        \
                (unsigned long long)b->f);                                                                       \
        return false;                                                                                            \
    }
    FZ_F(ts) FZ_F(iova) FZ_F(pa) FZ_F(size) FZ_F(pasid) FZ_F(rid) FZ_F(did) FZ_F(kind) FZ_F(flags) FZ_F(perm)
    FZ_F(gran) FZ_F(am) FZ_F(fm) FZ_F(levels) FZ_F(tt) FZ_F(reason) FZ_F(prg) FZ_F(pid) FZ_F(vm) FZ_F(target) FZ_F(resp)
#undef FZ_F
    if (memcmp(a->label, b->label, sizeof a->label)) {
        fprintf(stderr, "fuzz_trace: field label differs from the canonical one\n");
        return false;
    }
    return true;
}

static void require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_trace: contract broken: %s\n", what);
        abort();
    }
}

void ims_fuzz_replay_file(const char *path)
{
    char err[1024];
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    if (!r) {
        require(strstr(err, path) != NULL, "an open error names the file");
        return;
    }
    struct ims_replay_cfg cfg;
    ims_replay_cfg_default(&cfg);
    struct ims_replay *rp = ims_replay_create(ims_trace_header(r), &cfg, NULL, NULL, err, sizeof err);
    static struct ims_rec recs[FZ_BATCH];
    uint64_t pages = 0;
    long n;
    while ((n = ims_trace_read(r, recs, FZ_BATCH)) > 0) {
        for (long i = 0; i < n; i++) {
            const struct ims_rec *rec = &recs[i];
            char e[256];
            require(ims_rec_check(rec, e, sizeof e) == 0, "a record the reader returns passes ims_rec_check");
            struct ims_rec canon;
            ims_rec_canon(rec, &canon);
            require(rec_same(&canon, rec), "a record the reader returns is canonical");
            char line[256];
            ims_rec_format(rec, line, sizeof line);
            if (!rp)
                continue;
            uint64_t np = rec->kind == IMS_REC_DMA ? ims_replay_dma_parts(rec)
                          : rec->kind == IMS_REC_MAP || rec->kind == IMS_REC_UNMAP || rec->kind == IMS_REC_PMAP ||
                                  rec->kind == IMS_REC_PUNMAP
                              ? (rec->size >> 12) + 1
                          : rec->kind == IMS_REC_VM ? (rec->size >> 21) + 1 /* 2 MiB leaves */
                                                                               : 0;
            if (np > FZ_MAX_PAGES - pages)
                continue;
            pages += np;
            if (rec->kind != IMS_REC_DMA) {
                ims_replay_control(rp, rec, e, sizeof e);
                continue;
            }
            ims_replay_dma(rp, rec);
        }
    }
    if (n < 0)
        require(strstr(ims_trace_error(r), path) != NULL, "a read error names the file");
    ims_replay_destroy(rp);
    ims_trace_close(r);
}

