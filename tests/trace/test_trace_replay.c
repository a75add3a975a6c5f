/* Generators (deterministic per seed, output replays cleanly, exactly --count
 * DMA records, warm-up mark) and the functional replayer (aliasing, 4 KiB
 * splitting, expected-PA and fault checks, invalidations, control errors). */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/gen.h"
#include "iommusim/replay.h"
#include "iommusim/trace.h"
#include "util.h"

static char err[1024];

/* Replays a whole trace file; returns its stats and counts control errors. */
static struct ims_replay_stats replay_file(const char *path, uint64_t *control_errors, uint64_t *marks_at)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct ims_replay_cfg cfg;
    ims_replay_cfg_default(&cfg);
    struct ims_replay *rp = ims_replay_create(ims_trace_header(r), &cfg, NULL, NULL, err, sizeof err);
    ck_assert_msg(rp != NULL, "%s", err);
    struct ims_rec rec;
    int rc;
    *control_errors = 0;
    *marks_at = UINT64_MAX;
    while ((rc = ims_trace_next(r, &rec)) == 1) {
        if (rec.kind == IMS_REC_DMA) {
            ims_replay_dma(rp, &rec);
        } else {
            if (rec.kind == IMS_REC_MARK && !strcmp(rec.label, "warmup-end"))
                *marks_at = ims_replay_stats(rp)->dma;
            if (ims_replay_control(rp, &rec, err, sizeof err) < 0)
                (*control_errors)++;
        }
    }
    ck_assert_msg(rc == 0, "%s", ims_trace_error(r));
    struct ims_replay_stats st = *ims_replay_stats(rp);
    ims_replay_destroy(rp);
    ims_trace_close(r);
    return st;
}

/* Generator variants: kind + options. */
static const struct {
    unsigned kind;
    const char *opts[6]; /* key, value pairs */
} variants[] = {
    {IMS_GEN_NIC, {NULL}},
    {IMS_GEN_NIC, {"unmap", "deferred", "recycle", "off", "flush-batch", "7"}},
    {IMS_GEN_NIC, {"ring-size", "8", "buf-size", "9000", "levels", "3"}},
    {IMS_GEN_NVME, {NULL}},
    {IMS_GEN_NVME, {"unmap", "deferred", "io-size", "64k", "block-size", "512"}},
    {IMS_GEN_NVME, {"queue-depth", "1", "io-size", "4096", "recycle", "off"}},
    {IMS_GEN_GPU, {"footprint", "64m", NULL}},
    {IMS_GEN_GPU, {"footprint", "8m", "chunk", "3000", "streams", "3"}},
    {IMS_GEN_RANDOM, {"footprint", "8m", NULL}},
    {IMS_GEN_MULTI, {NULL}},
    {IMS_GEN_MULTI, {"devices", "3", "domains", "2", "unmap", "deferred"}},
    {IMS_GEN_MULTI, {"devices", "2", "domains", "2", NULL}},
    {IMS_GEN_SVM, {NULL}},
    {IMS_GEN_SVM, {"nested", "on", "processes", "7", "levels", "5"}},
};
#define NVARIANTS ((int)(sizeof variants / sizeof variants[0]))

static void variant_cfg(int i, uint64_t count, uint64_t seed, struct ims_gen_cfg *cfg)
{
    ims_gen_cfg_default(cfg, variants[i].kind);
    cfg->count = count;
    cfg->seed = seed;
    for (int k = 0; k < 6 && variants[i].opts[k]; k += 2)
        ck_assert_msg(ims_gen_set(cfg, variants[i].opts[k], variants[i].opts[k + 1], err, sizeof err) == 0, "%s",
                      err);
}

/* Every variant's output replays with every DMA checked and none
 * disagreeing, no control error, exactly --count DMA records, and the
 * warm-up mark after 10% of them. */
START_TEST(gen_output_replays_cleanly)
{
    struct ims_gen_cfg cfg;
    variant_cfg(_i, 3000, 11, &cfg);
    const char *p = tu_path("g.itr.zst");
    struct ims_gen_stats gs;
    ck_assert_msg(ims_gen_write(&cfg, p, &gs, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(gs.dma, 3000);
    uint64_t cerr, mark;
    struct ims_replay_stats st = replay_file(p, &cerr, &mark);
    ck_assert_uint_eq(cerr, 0);
    ck_assert_uint_eq(st.dma, 3000);
    ck_assert_uint_eq(st.mismatches, 0);
    ck_assert_uint_eq(st.unexpected_faults, 0);
    ck_assert_uint_eq(st.checked, st.requests);
    ck_assert_uint_ge(st.requests, st.dma);
    ck_assert_uint_eq(mark, 300);
    if (variants[_i].kind != IMS_GEN_GPU && variants[_i].kind != IMS_GEN_RANDOM)
        ck_assert_uint_gt(gs.unmaps, 0);
}
END_TEST

/* The same seed gives byte-identical files; another seed a different one. */
START_TEST(gen_deterministic_per_seed)
{
    struct ims_gen_cfg cfg;
    size_t la, lb, lc;
    variant_cfg(_i, 2000, 5, &cfg);
    ck_assert_int_eq(ims_gen_write(&cfg, tu_path("a.itr"), NULL, err, sizeof err), 0);
    ck_assert_int_eq(ims_gen_write(&cfg, tu_path("b.itr"), NULL, err, sizeof err), 0);
    cfg.seed = 6;
    ck_assert_int_eq(ims_gen_write(&cfg, tu_path("c.itr"), NULL, err, sizeof err), 0);
    char *a = tu_read_file(tu_path("a.itr"), &la);
    char *b = tu_read_file(tu_path("b.itr"), &lb);
    char *c = tu_read_file(tu_path("c.itr"), &lc);
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(a, b, la), 0);
    ck_assert(la != lc || memcmp(a, c, la) != 0);
    free(a);
    free(b);
    free(c);
}
END_TEST

/* Option errors name the option. */
static const struct {
    unsigned kind;
    const char *key, *val, *msg;
} bad_opts[] = {
    {IMS_GEN_NIC, "frobs", "1", "unknown option '--frobs'"},
    {IMS_GEN_GPU, "ring-size", "64", "option '--ring-size' does not apply to generator 'gpu'"},
    {IMS_GEN_NIC, "ring-size", "4", "--ring-size: expected a number 8..4096"},
    {IMS_GEN_NIC, "count", "0", "--count: expected a number 1.."},
    {IMS_GEN_NIC, "unmap", "lazy", "--unmap: expected strict or deferred, got 'lazy'"},
    {IMS_GEN_NIC, "recycle", "yes", "--recycle: expected on or off"},
    {IMS_GEN_NIC, "warmup", "1.5", "--warmup: expected a fraction"},
    {IMS_GEN_NVME, "io-size", "12x", "--io-size: expected a number"},
};

START_TEST(gen_option_errors)
{
    struct ims_gen_cfg cfg;
    ims_gen_cfg_default(&cfg, bad_opts[_i].kind);
    ck_assert_int_eq(ims_gen_set(&cfg, bad_opts[_i].key, bad_opts[_i].val, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad_opts[_i].msg), "got '%s'", err);
}
END_TEST

/* Cross-option checks: count required, io-size multiple of 4 KiB, gpu
 * footprint in 2 MiB pages. */
START_TEST(gen_check_errors)
{
    struct ims_gen_cfg cfg;
    ims_gen_cfg_default(&cfg, IMS_GEN_NIC);
    ck_assert_int_eq(ims_gen_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "--count is required"), "%s", err);
    ims_gen_cfg_default(&cfg, IMS_GEN_NVME);
    cfg.count = 1;
    ck_assert_int_eq(ims_gen_set(&cfg, "io-size", "6000", err, sizeof err), 0);
    ck_assert_int_eq(ims_gen_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "--io-size: expected a multiple of 4096"), "%s", err);
    ims_gen_cfg_default(&cfg, IMS_GEN_GPU);
    cfg.count = 1;
    ck_assert_int_eq(ims_gen_set(&cfg, "footprint", "3m", err, sizeof err), 0);
    ck_assert_int_eq(ims_gen_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "multiple of 2 MiB"), "%s", err);
}
END_TEST

/* ---- Replay on hand-built records ---- */

static struct ims_replay *rp;
static struct ims_trace_hdr hdr;

static void rp_setup(void)
{
    tu_sample_hdr(&hdr); /* 03:00.0 direct; 05:02.1 behind PCIe-to-PCI (sec 5); 06:03.0 behind PCI-to-PCI 05:01.0 */
    struct ims_replay_cfg cfg;
    ims_replay_cfg_default(&cfg);
    rp = ims_replay_create(&hdr, &cfg, NULL, NULL, err, sizeof err);
    ck_assert_msg(rp != NULL, "%s", err);
}

static void rp_teardown(void)
{
    ims_replay_destroy(rp);
    ims_trace_hdr_free(&hdr);
}

static void ctl_ok(struct ims_rec r)
{
    ck_assert_msg(ims_replay_control(rp, &r, err, sizeof err) == 0, "%s", err);
}

static struct ims_rec dma_rec(uint16_t rid, uint64_t iova, uint64_t size, bool write, uint64_t expect)
{
    struct ims_rec r = {.kind = IMS_REC_DMA, .rid = rid, .iova = iova, .size = size};
    r.flags = (uint8_t)((write ? IMS_RECF_WRITE : 0) | IMS_RECF_EXPECT_PA);
    r.pa = expect;
    return r;
}

/* Aliasing: devices behind bridges reach the IOMMU with the alias the topology
 * gives; ids not in the topology pass unchanged. */
START_TEST(replay_alias)
{
    ck_assert_uint_eq(ims_replay_alias(rp, IMS_BDF(3, 0, 0)), IMS_BDF(3, 0, 0));
    ck_assert_uint_eq(ims_replay_alias(rp, IMS_BDF(5, 2, 1)), IMS_BDF(5, 0, 0));
    /* Nested: the PCIe-to-PCI bridge nearest the root decides. */
    ck_assert_uint_eq(ims_replay_alias(rp, IMS_BDF(6, 3, 0)), IMS_BDF(5, 0, 0));
    ck_assert_uint_eq(ims_replay_alias(rp, IMS_BDF(9, 9, 1)), IMS_BDF(9, 9, 1));
    struct ims_rec r = dma_rec(IMS_BDF(5, 2, 1), 0x1000, 8, false, 0);
    struct ims_req req;
    ims_replay_dma_req(rp, &r, 0, &req);
    ck_assert_uint_eq(req.rid, IMS_BDF(5, 0, 0));
}
END_TEST

/* Two devices sharing an alias share the context entry: attaching the second
 * to the same domain works and both translate; to another domain is refused;
 * the entry stays until the last one detaches. */
START_TEST(replay_alias_shares_context)
{
    ctl_ok((struct ims_rec){.kind = IMS_REC_ATTACH, .rid = IMS_BDF(5, 2, 1), .did = 2, .levels = 4});
    ctl_ok((struct ims_rec){.kind = IMS_REC_ATTACH, .rid = IMS_BDF(6, 3, 0), .did = 2, .levels = 4});
    struct ims_rec bad = {.kind = IMS_REC_ATTACH, .rid = IMS_BDF(6, 3, 0), .did = 3, .levels = 4};
    ck_assert_int_eq(ims_replay_control(rp, &bad, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "06:03.0 (seen as 05:00.0): already attached to domain 2"), "%s", err);
    ctl_ok((struct ims_rec){.kind = IMS_REC_MAP, .did = 2, .iova = 0x4000, .pa = 0x90000, .size = 0x1000,
                            .perm = IMS_PERM_RW});
    struct ims_rec a = dma_rec(IMS_BDF(5, 2, 1), 0x4010, 8, true, 0x90010);
    struct ims_rec b = dma_rec(IMS_BDF(6, 3, 0), 0x4020, 8, false, 0x90020);
    ck_assert_uint_eq(ims_replay_dma(rp, &a), 0);
    ck_assert_uint_eq(ims_replay_dma(rp, &b), 0);
    ctl_ok((struct ims_rec){.kind = IMS_REC_DETACH, .rid = IMS_BDF(5, 2, 1)});
    ck_assert_uint_eq(ims_replay_dma(rp, &b), 0); /* still attached through 06:03.0 */
    ctl_ok((struct ims_rec){.kind = IMS_REC_DETACH, .rid = IMS_BDF(6, 3, 0)});
    ctl_ok((struct ims_rec){.kind = IMS_REC_INV_CTX, .gran = IMS_INV_GLOBAL});
    ctl_ok((struct ims_rec){.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_GLOBAL});
    ck_assert_uint_eq(ims_replay_dma(rp, &b), 1); /* now the context entry is gone: fault */
    struct ims_rec d = {.kind = IMS_REC_DETACH, .rid = IMS_BDF(6, 3, 0)};
    ck_assert_int_eq(ims_replay_control(rp, &d, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not attached"), "%s", err);
}
END_TEST

/* A DMA crossing 4 KiB boundaries splits into parts; each part is checked
 * against expected pa + its offset, so discontiguous pages are caught on
 * the second part. */
START_TEST(replay_split_and_offsets)
{
    ctl_ok((struct ims_rec){.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 0), .did = 1, .levels = 4});
    ctl_ok((struct ims_rec){.kind = IMS_REC_MAP, .did = 1, .iova = 0x10000, .pa = 0x500000, .size = 0x1000,
                            .perm = IMS_PERM_RW});
    ctl_ok((struct ims_rec){.kind = IMS_REC_MAP, .did = 1, .iova = 0x11000, .pa = 0x800000, .size = 0x2000,
                            .perm = IMS_PERM_RW});
    struct ims_rec r = dma_rec(IMS_BDF(3, 0, 0), 0x10ff0, 0x1020, false, 0x500ff0);
    ck_assert_uint_eq(ims_replay_dma_parts(&r), 3);
    struct ims_req q;
    ims_replay_dma_req(rp, &r, 0, &q);
    ck_assert_uint_eq(q.iova, 0x10ff0);
    ck_assert_uint_eq(q.size, 0x10);
    ims_replay_dma_req(rp, &r, 1, &q);
    ck_assert_uint_eq(q.iova, 0x11000);
    ck_assert_uint_eq(q.size, 0x1000);
    ims_replay_dma_req(rp, &r, 2, &q);
    ck_assert_uint_eq(q.iova, 0x12000);
    ck_assert_uint_eq(q.size, 0x10);
    ck_assert_uint_eq(q.access, IMS_PERM_R);
    ck_assert_uint_eq(q.pasid, IMS_NO_PASID);
    /* Parts 1 and 2 land at 0x800000.., not 0x501000..: two disagree. */
    ck_assert_uint_eq(ims_replay_dma(rp, &r), 2);
    /* Within the contiguous second mapping all parts agree. */
    struct ims_rec ok = dma_rec(IMS_BDF(3, 0, 0), 0x11800, 0x1000, true, 0x800800);
    ck_assert_uint_eq(ims_replay_dma(rp, &ok), 0);
    const struct ims_replay_stats *st = ims_replay_stats(rp);
    ck_assert_uint_eq(st->dma, 2);
    ck_assert_uint_eq(st->requests, 5);
    ck_assert_uint_eq(st->mismatches, 2);
    ck_assert_uint_eq(st->bytes, 0x2020);
}
END_TEST

/* Expected faults: an unmapped read faults with reason 6 and agrees with
 * fault=6; a write to a read-only page gives 5; an unexpected fault is
 * counted; an expected PA that is wrong is a mismatch. */
START_TEST(replay_faults_and_mismatch)
{
    ctl_ok((struct ims_rec){.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 0), .did = 1, .levels = 4});
    ctl_ok((struct ims_rec){.kind = IMS_REC_MAP, .did = 1, .iova = 0x10000, .pa = 0x500000, .size = 0x1000,
                            .perm = IMS_PERM_R});
    struct ims_rec f = {.kind = IMS_REC_DMA, .rid = IMS_BDF(3, 0, 0), .iova = 0x20000, .size = 4,
                        .flags = IMS_RECF_EXPECT_FAULT, .reason = IMS_FR_READ};
    ck_assert_uint_eq(ims_replay_dma(rp, &f), 0);
    struct ims_rec w = {.kind = IMS_REC_DMA, .rid = IMS_BDF(3, 0, 0), .iova = 0x10000, .size = 4,
                        .flags = IMS_RECF_EXPECT_FAULT | IMS_RECF_WRITE, .reason = IMS_FR_WRITE};
    ck_assert_uint_eq(ims_replay_dma(rp, &w), 0);
    struct ims_rec u = {.kind = IMS_REC_DMA, .rid = IMS_BDF(3, 0, 0), .iova = 0x30000, .size = 4};
    ck_assert_uint_eq(ims_replay_dma(rp, &u), 0); /* nothing expected: not a mismatch ... */
    ck_assert_uint_eq(ims_replay_stats(rp)->unexpected_faults, 1); /* ... but counted */
    struct ims_rec m = dma_rec(IMS_BDF(3, 0, 0), 0x10000, 4, false, 0x600000);
    ck_assert_uint_eq(ims_replay_dma(rp, &m), 1);
    ck_assert_uint_eq(ims_replay_stats(rp)->mismatches, 1);
    ck_assert_uint_ge(ims_replay_drain_faults(rp) + ims_iommu_stats(ims_replay_iommu(rp))->fault_records, 3);
}
END_TEST

/* A recorded fault reason the model does not produce (scalable-mode 0x30,
 * 0xff) is compared as recorded: the model's reason 6 for an unmapped read
 * disagrees with it, a mismatch rather than an error or a crash. */
START_TEST(replay_scalable_reason_mismatch)
{
    ctl_ok((struct ims_rec){.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 0), .did = 1, .levels = 4});
    static const uint8_t reasons[] = {0x30, 0xff};
    for (int i = 0; i < 2; i++) {
        struct ims_rec f = {.kind = IMS_REC_DMA, .rid = IMS_BDF(3, 0, 0), .iova = 0x20000, .size = 4,
                            .flags = IMS_RECF_EXPECT_FAULT, .reason = reasons[i]};
        ck_assert_uint_eq(ims_replay_dma(rp, &f), 1);
        ck_assert_uint_eq(ims_replay_stats(rp)->mismatches, (uint64_t)i + 1);
    }
    struct ims_rec ok = {.kind = IMS_REC_DMA, .rid = IMS_BDF(3, 0, 0), .iova = 0x20000, .size = 4,
                         .flags = IMS_RECF_EXPECT_FAULT, .reason = IMS_FR_READ};
    ck_assert_uint_eq(ims_replay_dma(rp, &ok), 0);
    ck_assert_uint_eq(ims_replay_stats(rp)->mismatches, 2);
}
END_TEST

/* Invalidation records reach the IOMMU: remapping an IOVA without an IOTLB
 * invalidation leaves the stale translation in use (as on hardware); the
 * page-selective invalidation fixes it. */
START_TEST(replay_invalidation_applies)
{
    const uint16_t rid = IMS_BDF(3, 0, 0);
    ctl_ok((struct ims_rec){.kind = IMS_REC_ATTACH, .rid = rid, .did = 1, .levels = 4});
    ctl_ok((struct ims_rec){.kind = IMS_REC_MAP, .did = 1, .iova = 0x10000, .pa = 0x500000, .size = 0x1000,
                            .perm = IMS_PERM_RW});
    struct ims_rec a = dma_rec(rid, 0x10000, 64, false, 0x500000);
    ck_assert_uint_eq(ims_replay_dma(rp, &a), 0); /* fills the IOTLB */
    ctl_ok((struct ims_rec){.kind = IMS_REC_UNMAP, .did = 1, .iova = 0x10000, .size = 0x1000});
    ctl_ok((struct ims_rec){.kind = IMS_REC_MAP, .did = 1, .iova = 0x10000, .pa = 0x700000, .size = 0x1000,
                            .perm = IMS_PERM_RW});
    struct ims_rec b = dma_rec(rid, 0x10000, 64, false, 0x700000);
    ck_assert_uint_eq(ims_replay_dma(rp, &b), 1); /* stale: still 0x500000 */
    ctl_ok((struct ims_rec){.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_PAGE, .did = 1, .iova = 0x10000, .am = 0});
    ck_assert_uint_eq(ims_replay_dma(rp, &b), 0);
}
END_TEST

/* Impossible control records are refused with the problem named. */
START_TEST(replay_control_errors)
{
    ctl_ok((struct ims_rec){.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 0), .did = 1, .levels = 4});
    ctl_ok((struct ims_rec){.kind = IMS_REC_MAP, .did = 1, .iova = 0x1000, .pa = 0x2000, .size = 0x1000,
                            .perm = IMS_PERM_RW});
    struct ims_rec over = {.kind = IMS_REC_MAP, .did = 1, .iova = 0x1000, .pa = 0x3000, .size = 0x1000,
                           .perm = IMS_PERM_RW};
    ck_assert_int_eq(ims_replay_control(rp, &over, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "already mapped"), "%s", err);
    struct ims_rec none = {.kind = IMS_REC_UNMAP, .did = 1, .iova = 0x9000, .size = 0x1000};
    ck_assert_int_eq(ims_replay_control(rp, &none, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "nothing mapped there"), "%s", err);
    struct ims_rec nodom = {.kind = IMS_REC_MAP, .did = 9, .iova = 0x1000, .pa = 0x3000, .size = 0x1000,
                            .perm = IMS_PERM_RW};
    ck_assert_int_eq(ims_replay_control(rp, &nodom, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "domain 9: no such domain"), "%s", err);
    struct ims_rec lv = {.kind = IMS_REC_ATTACH, .rid = IMS_BDF(7, 0, 0), .did = 1, .levels = 3};
    ck_assert_int_eq(ims_replay_control(rp, &lv, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "domain 1 has 4 levels, the record says 3"), "%s", err);
}
END_TEST
/* Control records the table builder refuses: the message says what is
 * unaligned and to what, or which width or capability the record exceeds,
 * never a bare "invalid argument". Expected: the literal texts below. */
static const struct {
    struct ims_rec rec;
    const char *msg;
} ctl_bad[] = {
    {{.kind = IMS_REC_MAP, .did = 2, .iova = 0x1800, .pa = 0x90000, .size = 0x1000, .perm = IMS_PERM_R},
     "map did 2 iova 0x1800 size 0x1000 -> pa 0x90000: iova 0x1800 is not aligned to 4 KiB (0x1000)"},
    {{.kind = IMS_REC_MAP, .did = 2, .iova = 0x1000, .pa = 0x90010, .size = 0x1000, .perm = IMS_PERM_R},
     "pa 0x90010 is not aligned to 4 KiB (0x1000)"},
    {{.kind = IMS_REC_MAP, .did = 2, .iova = 0x1000, .pa = 0x90000, .size = 0x1001, .perm = IMS_PERM_R},
     "size 0x1001 is not a multiple of 4 KiB (0x1000)"},
    {{.kind = IMS_REC_UNMAP, .did = 2, .iova = 0x1004, .size = 0x1000},
     "unmap did 2 iova 0x1004 size 0x1000: iova 0x1004 is not aligned to 4 KiB (0x1000)"},
    {{.kind = IMS_REC_MAP, .did = 2, .iova = UINT64_C(1) << 48, .pa = 0x90000, .size = 0x1000, .perm = IMS_PERM_R},
     "iova 0x1000000000000 + size 0x1000 goes past the domain's address width, 2^48 (4 levels, MGAW 48)"},
    {{.kind = IMS_REC_MAP, .did = 2, .iova = 0x1000, .pa = UINT64_C(1) << 46, .size = 0x1000, .perm = IMS_PERM_R},
     "pa 0x400000000000 + size 0x1000 goes past the host address width, 2^46 (HAW)"},
    {{.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 0), .did = 3, .levels = 5},
     "attach 03:00.0: cannot create domain 3 with 5 levels: 5 levels (57-bit) not in SAGAW 0x6"},
    {{.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 0), .did = 2, .levels = 4, .tt = 3},
     "attach 03:00.0 to domain 2: tt 3 is reserved (0 untranslated, 1 device TLB, 2 pass-through)"},
};

START_TEST(replay_control_messages)
{
    ctl_ok((struct ims_rec){.kind = IMS_REC_ATTACH, .rid = IMS_BDF(5, 2, 1), .did = 2, .levels = 4});
    ck_assert_int_eq(ims_replay_control(rp, &ctl_bad[_i].rec, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ctl_bad[_i].msg), "case %d: expected '%s', got '%s'", _i, ctl_bad[_i].msg, err);
    ck_assert_msg(!strstr(err, "invalid argument") && !strstr(err, "not allowed by the capabilities"), "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_replay");
    TCase *g = tcase_create("gen");
    tcase_add_checked_fixture(g, tu_setup, tu_teardown);
    tcase_set_timeout(g, 60);
    tcase_add_loop_test(g, gen_output_replays_cleanly, 0, NVARIANTS);
    tcase_add_loop_test(g, gen_deterministic_per_seed, 0, NVARIANTS);
    tcase_add_loop_test(g, gen_option_errors, 0, (int)(sizeof bad_opts / sizeof bad_opts[0]));
    tcase_add_test(g, gen_check_errors);
    suite_add_tcase(s, g);
    TCase *r = tcase_create("replay");
    tcase_add_checked_fixture(r, rp_setup, rp_teardown);
    tcase_add_test(r, replay_alias);
    tcase_add_test(r, replay_alias_shares_context);
    tcase_add_test(r, replay_split_and_offsets);
    tcase_add_test(r, replay_faults_and_mismatch);
    tcase_add_test(r, replay_scalable_reason_mismatch);
    tcase_add_test(r, replay_invalidation_applies);
    tcase_add_test(r, replay_control_errors);
    tcase_add_loop_test(r, replay_control_messages, 0, (int)(sizeof ctl_bad / sizeof ctl_bad[0]));
    suite_add_tcase(s, r);
    return s;
}

int main(void)
{
    return ims_check_run(suite());
}
