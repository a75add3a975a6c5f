/* Golden bytes for the trace formats. The expected bytes are built here by
 * hand from docs/trace-format.md, field by field, little-endian, without the
 * library's codec; the writer's output must equal them byte for byte, and
 * the readers must decode them (and the checked-in files tests/trace/data/
 * golden*.itr, *.itt) to the literal field values below. A field swapped or
 * moved consistently in writer and reader, which a write-then-read round trip
 * cannot see, fails here.
 *
 * To regenerate the checked-in files after a deliberate format change:
 * IMS_GOLDEN_UPDATE=1 build/tests/trace/test_trace_golden (writes the
 * hand-built bytes into tests/trace/data/), then review the diff. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "iommusim/iommu.h"
#include "iommusim/trace.h"
#include "util.h"

#ifndef IMS_GOLDEN_DATA
#error "IMS_GOLDEN_DATA (tests/trace/data) must be defined"
#endif

static char err[1024];

/* ---- The expected values: literals, one record of each kind and variant ---- */

static const struct ims_rec golden[] = {
    {.kind = IMS_REC_ATTACH, .rid = 0x0301, .did = 0x1234, .levels = 4, .tt = 2, .pa = 0x0000123456789000},
    {.kind = IMS_REC_MAP,
     .ts = 0x0a0b,
     .did = 0x1234,
     .iova = 0x00007f0011223000,
     .pa = 0x0000004455667000,
     .size = 0x3000,
     .perm = 3},
    {.kind = IMS_REC_DMA,
     .ts = 0x0102030405060708,
     .rid = 0x0301,
     .iova = 0x00007f0011223456,
     .size = 0x00012345,
     .flags = 0x7,
     .pasid = 0x000abcde,
     .pa = 0x0000004455667456},
    {.kind = IMS_REC_DMA, .ts = 0x1000, .rid = 0x0301, .iova = 0x5000, .size = 8, .flags = 0x8, .reason = 0x30},
    {.kind = IMS_REC_UNMAP, .ts = 0x2000, .did = 0x1234, .iova = 0x00007f0011223000, .size = 0x1000},
    {.kind = IMS_REC_INV_IOTLB, .gran = 4, .did = 0x1234, .iova = 0x00007f0011223000, .am = 3, .flags = 0x10},
    {.kind = IMS_REC_INV_IOTLB, .gran = 1},
    {.kind = IMS_REC_INV_CTX, .gran = 3, .did = 0x1234, .rid = 0x0500, .fm = 2},
    {.kind = IMS_REC_INV_CTX, .gran = 2, .did = 0x0042},
    {.kind = IMS_REC_DETACH, .ts = 0x3000, .rid = 0x0301},
    {.kind = IMS_REC_MARK, .ts = 0x4000, .label = "warmup-end"},
};
#define NGOLDEN (sizeof golden / sizeof golden[0])

/* The same trace in text form, as docs/trace-format.md writes it. */
static const char golden_text[] =
    "version 1\n"
    "creator golden\n"
    "source tests/trace/test_trace_golden.c\n"
    "bridge br0 bdf=00:1e.0 secondary=5 kind=pcie-to-pci parent=-\n"
    "device nic0 bdf=03:00.1 bridge=-\n"
    "device old0 bdf=05:02.0 bridge=br0\n"
    "attach rid=03:00.1 did=4660 levels=4 tt=2 root=0x123456789000\n"
    "map t=2571 did=4660 iova=0x7f0011223000 pa=0x4455667000 size=0x3000 perm=rw\n"
    "dma t=72623859790382856 rid=03:00.1 iova=0x7f0011223456 size=74565 w pasid=703710 expect=0x4455667456\n"
    "dma t=4096 rid=03:00.1 iova=0x5000 size=8 r fault=0x30\n"
    "unmap t=8192 did=4660 iova=0x7f0011223000 size=0x1000\n"
    "inv-iotlb page did=4660 addr=0x7f0011223000 am=3 ih\n"
    "inv-iotlb global\n"
    "inv-ctx device did=4660 sid=05:00.0 fm=2\n"
    "inv-ctx domain did=66\n"
    "detach t=12288 rid=03:00.1\n"
    "mark t=16384 warmup-end\n";

static void golden_hdr(struct ims_trace_hdr *h)
{
    memset(h, 0, sizeof *h);
    strcpy(h->creator, "golden");
    strcpy(h->source, "tests/trace/test_trace_golden.c");
    h->topo.n_bridges = 1;
    h->topo.bridges = calloc(1, sizeof *h->topo.bridges);
    strcpy(h->topo.bridges[0].name, "br0");
    h->topo.bridges[0].bdf = 0x00f0; /* 00:1e.0 */
    h->topo.bridges[0].secondary_bus = 5;
    h->topo.bridges[0].kind = 0;
    h->topo.bridges[0].parent = -1;
    h->topo.n_devices = 2;
    h->topo.devices = calloc(2, sizeof *h->topo.devices);
    strcpy(h->topo.devices[0].name, "nic0");
    h->topo.devices[0].bdf = 0x0301; /* 03:00.1 */
    h->topo.devices[0].bridge = -1;
    strcpy(h->topo.devices[1].name, "old0");
    h->topo.devices[1].bdf = 0x0510; /* 05:02.0 */
    h->topo.devices[1].bridge = 0;
}

/* ---- Hand-built bytes ---- */

struct bytes {
    unsigned char b[4096];
    size_t n;
};

static void put(struct bytes *o, uint64_t v, unsigned size) /* little-endian */
{
    for (unsigned i = 0; i < size; i++)
        o->b[o->n++] = (unsigned char)(v >> (8 * i));
}
static void put_str(struct bytes *o, const char *s) /* u16 length, then the bytes */
{
    put(o, strlen(s), 2);
    memcpy(o->b + o->n, s, strlen(s));
    o->n += strlen(s);
}
static void set32(struct bytes *o, size_t at, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        o->b[at + i] = (unsigned char)(v >> (8 * i));
}

/* docs/trace-format.md "Header": version 1 (no flags, no CRC), or version 2
 * with flags and the CRC-32 as the last 4 header bytes. */
static void build_header(struct bytes *o, unsigned version, uint32_t flags)
{
    o->n = 0;
    memcpy(o->b, "IMSTRACE", 8);
    o->n = 8;
    put(o, version, 4);
    put(o, 0, 4); /* header length, set below */
    put(o, 40, 4);
    put(o, version >= 2 ? flags : 0, 4);
    put_str(o, "golden");
    put_str(o, "tests/trace/test_trace_golden.c");
    put(o, 1, 4); /* bridges */
    put_str(o, "br0");
    put(o, 0x00f0, 2);
    put(o, 5, 1);
    put(o, 0, 1);
    put(o, 0xffffffff, 4); /* parent -1 */
    put(o, 2, 4);          /* devices */
    put_str(o, "nic0");
    put(o, 0x0301, 2);
    put(o, 0xffffffff, 4);
    put_str(o, "old0");
    put(o, 0x0510, 2);
    put(o, 0, 4);
    if (version >= 2) {
        set32(o, 12, (uint32_t)o->n + 4);
        put(o, crc32(0L, o->b, (uInt)o->n), 4);
    } else {
        set32(o, 12, (uint32_t)o->n);
    }
}

/* docs/trace-format.md "Record (40 bytes)": the golden records, in order. */
static void build_records(struct bytes *o)
{
    struct {
        unsigned kind, flags, rid, did, a, b;
        uint64_t ts, w16, w24, w32;
    } r[NGOLDEN] = {
        /* attach: rid, did, levels, tt, root at 24 */
        {6, 0, 0x0301, 0x1234, 4, 2, 0, 0, 0x0000123456789000, 0},
        /* map: did, perm, iova, pa, size */
        {2, 0, 0, 0x1234, 3, 0, 0x0a0b, 0x00007f0011223000, 0x0000004455667000, 0x3000},
        /* dma: flags w|pasid|expect-pa, rid, iova, expected pa, size u32 at 32 + pasid u32 at 36 */
        {1, 0x7, 0x0301, 0, 0, 0, 0x0102030405060708, 0x00007f0011223456, 0x0000004455667456,
         0x00012345 | (uint64_t)0x000abcde << 32},
        /* dma: expected fault, reason at 6 */
        {1, 0x8, 0x0301, 0, 0x30, 0, 0x1000, 0x5000, 0, 8},
        /* unmap: did, iova, size */
        {3, 0, 0, 0x1234, 0, 0, 0x2000, 0x00007f0011223000, 0, 0x1000},
        /* inv-iotlb page: IH flag, did, gran 4, am, addr */
        {4, 0x10, 0, 0x1234, 4, 3, 0, 0x00007f0011223000, 0, 0},
        /* inv-iotlb global */
        {4, 0, 0, 0, 1, 0, 0, 0, 0, 0},
        /* inv-ctx device: sid, did, gran 3, fm */
        {5, 0, 0x0500, 0x1234, 3, 2, 0, 0, 0, 0},
        /* inv-ctx domain */
        {5, 0, 0, 0x0042, 2, 0, 0, 0, 0, 0},
        /* detach */
        {7, 0, 0x0301, 0, 0, 0, 0x3000, 0, 0, 0},
        /* mark: label bytes 16..39, NUL-padded ("warmup-end" = 77 61 72 6d 75 70 2d 65 | 6e 64) */
        {8, 0, 0, 0, 0, 0, 0x4000, 0x652d70756d726177, 0x646e, 0},
    };
    for (size_t i = 0; i < NGOLDEN; i++) {
        put(o, r[i].kind, 1);
        put(o, r[i].flags, 1);
        put(o, r[i].rid, 2);
        put(o, r[i].did, 2);
        put(o, r[i].a, 1);
        put(o, r[i].b, 1);
        put(o, r[i].ts, 8);
        put(o, r[i].w16, 8);
        put(o, r[i].w24, 8);
        put(o, r[i].w32, 8);
    }
}

/* docs/trace-format.md "Integrity": the one (last) block's check after
 * records starting at `from`. */
static void build_last_check(struct bytes *o, size_t from, unsigned nrec)
{
    uint32_t crc = (uint32_t)crc32(0L, o->b + from, nrec * 40u);
    memcpy(o->b + o->n, "IMSBLOCK", 8);
    o->n += 8;
    put(o, nrec, 4);
    put(o, 1, 4); /* last */
    put(o, 0, 8); /* block 0 */
    put(o, crc, 4);
    put(o, 0, 4);
    put(o, 0, 8);
}

/* form: 0 version 1, 1 version 2 with blocks (.itr), 2 version 2 without (the
 * decompressed bytes of .itr.zst). */
static void build(struct bytes *o, int form)
{
    build_header(o, form == 0 ? 1 : 2, form == 1 ? 1 : 0);
    size_t from = o->n;
    build_records(o);
    if (form == 1)
        build_last_check(o, from, NGOLDEN);
}

/* ---- Comparisons (no codec involved) ---- */

static void expect_same_bytes(const unsigned char *got, size_t n, const struct bytes *want, const char *what)
{
    size_t i = 0;
    while (i < n && i < want->n && got[i] == want->b[i])
        i++;
    ck_assert_msg(i == n && n == want->n,
                  "%s: differs from the hand-built bytes at byte offset %zu (of %zu, expected %zu): "
                  "0x%02x, expected 0x%02x",
                  what, i, n, want->n, i < n ? got[i] : 0, i < want->n ? want->b[i] : 0);
}

/* Every field, against the literal: readers return canonical records (unused
 * fields zero), and the literals have zeros there. */
static void expect_rec(const struct ims_rec *got, const struct ims_rec *want, size_t i)
{
    ck_assert_msg(got->kind == want->kind && got->flags == want->flags && got->ts == want->ts &&
                      got->rid == want->rid && got->did == want->did && got->iova == want->iova &&
                      got->pa == want->pa && got->size == want->size && got->pasid == want->pasid &&
                      got->perm == want->perm && got->gran == want->gran && got->am == want->am &&
                      got->fm == want->fm && got->levels == want->levels && got->tt == want->tt &&
                      got->reason == want->reason && !memcmp(got->label, want->label, sizeof got->label),
                  "record %zu: kind %u flags 0x%x ts 0x%llx rid 0x%x did 0x%x iova 0x%llx pa 0x%llx size 0x%llx pasid "
                  "0x%x perm %u gran %u am %u fm %u levels %u tt %u reason 0x%x label '%.23s'",
                  i, got->kind, got->flags, (unsigned long long)got->ts, got->rid, got->did,
                  (unsigned long long)got->iova, (unsigned long long)got->pa, (unsigned long long)got->size, got->pasid,
                  got->perm, got->gran, got->am, got->fm, got->levels, got->tt, got->reason, got->label);
}

static void expect_golden_trace(const char *path, unsigned version)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    const struct ims_trace_hdr *h = ims_trace_header(r);
    ck_assert_uint_eq(h->version, version);
    ck_assert_str_eq(h->creator, "golden");
    ck_assert_str_eq(h->source, "tests/trace/test_trace_golden.c");
    ck_assert_int_eq(h->topo.n_bridges, 1);
    ck_assert_str_eq(h->topo.bridges[0].name, "br0");
    ck_assert_uint_eq(h->topo.bridges[0].bdf, 0x00f0);
    ck_assert_uint_eq(h->topo.bridges[0].secondary_bus, 5);
    ck_assert_uint_eq(h->topo.bridges[0].kind, 0);
    ck_assert_int_eq(h->topo.bridges[0].parent, -1);
    ck_assert_int_eq(h->topo.n_devices, 2);
    ck_assert_str_eq(h->topo.devices[0].name, "nic0");
    ck_assert_uint_eq(h->topo.devices[0].bdf, 0x0301);
    ck_assert_int_eq(h->topo.devices[0].bridge, -1);
    ck_assert_str_eq(h->topo.devices[1].name, "old0");
    ck_assert_uint_eq(h->topo.devices[1].bdf, 0x0510);
    ck_assert_int_eq(h->topo.devices[1].bridge, 0);
    struct ims_rec rec;
    for (size_t i = 0; i < NGOLDEN; i++) {
        ck_assert_msg(ims_trace_next(r, &rec) == 1, "record %zu: %s", i, ims_trace_error(r));
        expect_rec(&rec, &golden[i], i);
    }
    ck_assert_msg(ims_trace_next(r, &rec) == 0, "%s", ims_trace_error(r));
    ims_trace_close(r);
}

static void write_golden(const char *path)
{
    struct ims_trace_hdr h;
    golden_hdr(&h);
    /* version 2: the hand-built bytes are version 2's (trace3/ goldens pin version 3) */
    struct ims_trace_writer *w = ims_trace_create_version(path, &h, 2, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    for (size_t i = 0; i < NGOLDEN; i++)
        ck_assert_msg(ims_trace_write(w, &golden[i]) == 0, "%s", ims_trace_writer_error(w));
    ck_assert_msg(ims_trace_commit(w, err, sizeof err) == 0, "%s", err);
    ims_trace_hdr_free(&h);
}

static const char *const data_file[] = {IMS_GOLDEN_DATA "/golden-v1.itr", IMS_GOLDEN_DATA "/golden.itr"};

/* The checked-in binary files hold exactly the hand-built bytes (version 1
 * as earlier writers made it; version 2 as writers make it now). */
START_TEST(golden_files_are_the_spec)
{
    struct bytes want;
    build(&want, _i);
    size_t n;
    char *got = tu_read_file(data_file[_i], &n);
    ck_assert_msg(got != NULL, "%s: cannot read", data_file[_i]);
    expect_same_bytes((unsigned char *)got, n, &want, data_file[_i]);
    free(got);
}
END_TEST

/* The binary writer produces the hand-built bytes: .itr exactly, .itr.zst
 * decompressing to the version 2 bytes without blocks. */
START_TEST(golden_binary_writer)
{
    struct bytes want;
    build(&want, 1);
    const char *p = tu_path("g.itr");
    write_golden(p);
    size_t n;
    char *got = tu_read_file(p, &n);
    expect_same_bytes((unsigned char *)got, n, &want, "writer .itr");
    free(got);
    build(&want, 2);
    const char *z = tu_path("g.itr.zst");
    write_golden(z);
    got = tu_read_file(z, &n);
    unsigned char *raw = malloc(want.n + 64);
    size_t rn = ZSTD_decompress(raw, want.n + 64, got, n);
    ck_assert_msg(!ZSTD_isError(rn), "%s", ZSTD_getErrorName(rn));
    expect_same_bytes(raw, rn, &want, "writer .itr.zst (decompressed)");
    free(raw);
    free(got);
}
END_TEST

/* The reader decodes the checked-in files (both versions) and the
 * hand-built version 2 bytes without blocks to the literal values. */
START_TEST(golden_binary_reader)
{
    expect_golden_trace(data_file[0], 1);
    expect_golden_trace(data_file[1], 2);
    struct bytes b;
    build(&b, 2);
    const char *p = tu_path("noblocks.itr");
    tu_write_file(p, b.b, b.n);
    expect_golden_trace(p, 2);
}
END_TEST

/* A stream without blocks (version 1, and the version 2 form inside
 * .itr.zst) cut inside a record after its last whole one: 1 and 39 bytes of
 * a record more are "truncated record" errors, not a clean end after the
 * whole records. The .itr.zst case is the stream a compressed trace holds. */
START_TEST(no_blocks_cut_inside_a_record)
{
    static const int forms[] = {0, 2};
    static const size_t extra[] = {1, 39};
    for (int f = 0; f < 2; f++) {
        for (int e = 0; e < 2; e++) {
            for (int zst = 0; zst < 2; zst++) {
                if (zst && forms[f] != 2)
                    continue;
                struct bytes b;
                build(&b, forms[f]);
                unsigned char *cut = calloc(1, b.n + extra[e]);
                ck_assert_ptr_nonnull(cut);
                memcpy(cut, b.b, b.n);
                cut[b.n] = 1; /* a record of kind 1 begins */
                const char *p = tu_path(zst ? "cut.itr.zst" : "cut.itr");
                if (zst) {
                    size_t cap = ZSTD_compressBound(b.n + extra[e]);
                    unsigned char *z = malloc(cap);
                    ck_assert_ptr_nonnull(z);
                    size_t zn = ZSTD_compress(z, cap, cut, b.n + extra[e], 3);
                    ck_assert_msg(!ZSTD_isError(zn), "%s", ZSTD_getErrorName(zn));
                    ck_assert_int_eq(tu_write_file(p, z, zn), 0);
                    free(z);
                } else {
                    ck_assert_int_eq(tu_write_file(p, cut, b.n + extra[e]), 0);
                }
                free(cut);
                struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
                ck_assert_msg(r != NULL, "%s", err);
                struct ims_rec rec;
                size_t n = 0;
                int rc;
                while ((rc = ims_trace_next(r, &rec)) == 1)
                    n++;
                ck_assert_msg(rc == -1, "form %d + %zu bytes%s: read to the end (%zu records), no error", forms[f],
                              extra[e], zst ? " (zstd)" : "", n);
                char want[80];
                snprintf(want, sizeof want, "truncated record: the trace ends after %zu of its 40 bytes", extra[e]);
                ck_assert_msg(strstr(ims_trace_error(r), want), "%s", ims_trace_error(r));
                ck_assert_uint_eq(n, NGOLDEN);
                ims_trace_close(r);
            }
        }
    }
}
END_TEST

/* Text: the writer prints exactly the documented lines, and the reader
 * decodes the checked-in text file to the literal values. */
START_TEST(golden_text_form)
{
    const char *p = tu_path("g.itt");
    write_golden(p);
    size_t n;
    char *got = tu_read_file(p, &n);
    ck_assert_str_eq(got, golden_text);
    free(got);
    char *file = tu_read_file(IMS_GOLDEN_DATA "/golden.itt", &n);
    ck_assert_ptr_nonnull(file);
    ck_assert_str_eq(file, golden_text);
    free(file);
    expect_golden_trace(IMS_GOLDEN_DATA "/golden.itt", 1);
}
END_TEST

/* IMS_GOLDEN_UPDATE=1: writes the hand-built bytes into tests/trace/data/. */
static void update_files(void)
{
    struct bytes b;
    for (int f = 0; f < 2; f++) {
        build(&b, f);
        if (tu_write_file(data_file[f], b.b, b.n) != 0)
            fprintf(stderr, "cannot write %s\n", data_file[f]);
    }
    if (tu_write_file(IMS_GOLDEN_DATA "/golden.itt", golden_text, strlen(golden_text)) != 0)
        fprintf(stderr, "cannot write golden.itt\n");
}

int main(void)
{
    if (getenv("IMS_GOLDEN_UPDATE"))
        update_files();
    Suite *s = suite_create("trace_golden");
    TCase *tc = tcase_create("golden");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_loop_test(tc, golden_files_are_the_spec, 0, 2);
    tcase_add_test(tc, golden_binary_writer);
    tcase_add_test(tc, golden_binary_reader);
    tcase_add_test(tc, no_blocks_cut_inside_a_record);
    tcase_add_test(tc, golden_text_form);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
