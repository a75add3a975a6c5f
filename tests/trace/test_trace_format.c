/* Trace formats: text <-> binary <-> zstd round trips of every record kind and
 * field, streaming reads across buffer boundaries, atomic writes, and the
 * specific error each corrupt input gives. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "iommusim/iommu.h"
#include "iommusim/trace.h"
#include "util.h"

static char err[1024];

/* Every kind, and for each kind the variants that use different fields. */
static const struct ims_rec sample[] = {
    {.kind = IMS_REC_ATTACH, .rid = IMS_BDF(3, 0, 0), .did = 7, .levels = 4, .tt = 0, .pa = 0x12345000},
    {.kind = IMS_REC_ATTACH, .ts = 5, .rid = IMS_BDF(5, 2, 1), .did = 0xfffe, .levels = 5, .tt = 2},
    {.kind = IMS_REC_ATTACH, .rid = IMS_BDF(0xff, 0x1f, 7), .did = 1, .levels = 3, .tt = 3},
    {.kind = IMS_REC_MAP, .did = 7, .iova = 0xffff8000, .pa = 0x200000, .size = 0x1000, .perm = IMS_PERM_RW},
    {.kind = IMS_REC_MAP, .ts = 99, .did = 7, .iova = 0x7fffffe00000, .pa = 0x3fffffe00000, .size = 0x40000000,
     .perm = IMS_PERM_R},
    {.kind = IMS_REC_MAP, .did = 0, .iova = 0, .pa = 0, .size = UINT64_MAX, .perm = IMS_PERM_W},
    {.kind = IMS_REC_DMA, .ts = 1200, .rid = IMS_BDF(3, 0, 0), .iova = 0xffff8010, .size = 4096},
    {.kind = IMS_REC_DMA, .ts = 1300, .rid = IMS_BDF(3, 0, 0), .iova = 0xffff8000, .size = 64,
     .flags = IMS_RECF_WRITE | IMS_RECF_EXPECT_PA, .pa = 0x200000},
    {.kind = IMS_REC_DMA, .ts = UINT64_MAX - 1, .rid = IMS_BDF(6, 3, 0), .iova = UINT64_MAX - 0xfffffffe,
     .size = UINT32_MAX, .flags = IMS_RECF_PASID | IMS_RECF_EXPECT_FAULT, .pasid = 0xfffff, .reason = 0x5},
    {.kind = IMS_REC_DMA, .ts = 1, .rid = 0, .iova = 1, .size = 1, .flags = IMS_RECF_WRITE | IMS_RECF_PASID,
     .pasid = 0},
    {.kind = IMS_REC_UNMAP, .did = 7, .iova = 0xffff8000, .size = 0x1000},
    {.kind = IMS_REC_UNMAP, .ts = 77, .did = 65535, .iova = 0xffffffffff000, .size = 0x200000},
    {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_GLOBAL},
    {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_GLOBAL, .flags = IMS_RECF_IH},
    {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_DOMAIN, .did = 7, .ts = 3},
    {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_PAGE, .did = 7, .iova = 0xffff8000, .am = 0},
    {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_PAGE, .did = 9, .iova = 0x40000000, .am = 9, .flags = IMS_RECF_IH},
    {.kind = IMS_REC_INV_CTX, .gran = IMS_INV_GLOBAL},
    {.kind = IMS_REC_INV_CTX, .gran = IMS_INV_DOMAIN, .did = 7},
    {.kind = IMS_REC_INV_CTX, .gran = IMS_INV_DEVICE, .did = 7, .rid = IMS_BDF(5, 0, 0), .fm = 3},
    {.kind = IMS_REC_DETACH, .rid = IMS_BDF(3, 0, 0)},
    {.kind = IMS_REC_DETACH, .ts = 8, .rid = IMS_BDF(1, 2, 3)},
    {.kind = IMS_REC_MARK, .label = "warmup-end"},
    {.kind = IMS_REC_MARK, .ts = 4, .label = "abcdefghijklmnopqrstuvw"},
    /* Scalable-mode fault reasons: the whole byte (last, so the indices above stay put). */
    {.kind = IMS_REC_DMA, .ts = 9, .rid = IMS_BDF(3, 0, 0), .iova = 0x4000, .size = 8, .flags = IMS_RECF_EXPECT_FAULT,
     .reason = 0x30},
    {.kind = IMS_REC_DMA, .ts = 10, .rid = IMS_BDF(3, 0, 0), .iova = 0x5000, .size = 8,
     .flags = IMS_RECF_WRITE | IMS_RECF_EXPECT_FAULT, .reason = 0xff},
};
#define NSAMPLE (sizeof sample / sizeof sample[0])

static const char *form_name[] = {"s.itr", "s.itr.zst", "s.itt", "s.txt"};

/* version: binary 2 or 3 (the text form ignores it). */
static void write_sample_v(const char *path, unsigned version)
{
    struct ims_trace_hdr h;
    tu_sample_hdr(&h);
    struct ims_trace_writer *w = ims_trace_create_version(path, &h, version, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    for (size_t i = 0; i < NSAMPLE; i++)
        ck_assert_msg(ims_trace_write(w, &sample[i]) == 0, "%s", ims_trace_writer_error(w));
    ck_assert_msg(ims_trace_commit(w, err, sizeof err) == 0, "%s", err);
    ims_trace_hdr_free(&h);
}

static void write_sample(const char *path)
{
    write_sample_v(path, IMS_TRACE_VERSION);
}

static void check_header(const struct ims_trace_hdr *got, int form)
{
    struct ims_trace_hdr h;
    tu_sample_hdr(&h);
    ck_assert_uint_eq(got->version, form == IMS_TRACE_TEXT ? IMS_TRACE_TEXT_VERSION : IMS_TRACE_VERSION);
    ck_assert_str_eq(got->creator, h.creator);
    ck_assert_str_eq(got->source, h.source);
    ck_assert_int_eq(got->topo.n_bridges, h.topo.n_bridges);
    ck_assert_int_eq(got->topo.n_devices, h.topo.n_devices);
    for (int i = 0; i < h.topo.n_bridges; i++) {
        ck_assert_str_eq(got->topo.bridges[i].name, h.topo.bridges[i].name);
        ck_assert_uint_eq(got->topo.bridges[i].bdf, h.topo.bridges[i].bdf);
        ck_assert_uint_eq(got->topo.bridges[i].secondary_bus, h.topo.bridges[i].secondary_bus);
        ck_assert_uint_eq(got->topo.bridges[i].kind, h.topo.bridges[i].kind);
        ck_assert_int_eq(got->topo.bridges[i].parent, h.topo.bridges[i].parent);
    }
    for (int i = 0; i < h.topo.n_devices; i++) {
        ck_assert_str_eq(got->topo.devices[i].name, h.topo.devices[i].name);
        ck_assert_uint_eq(got->topo.devices[i].bdf, h.topo.devices[i].bdf);
        ck_assert_int_eq(got->topo.devices[i].bridge, h.topo.devices[i].bridge);
    }
    ims_trace_hdr_free(&h);
}

static void check_sample(const char *path, int form)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(ims_trace_reader_form(r), form);
    check_header(ims_trace_header(r), form);
    struct ims_rec rec;
    for (size_t i = 0; i < NSAMPLE; i++) {
        ck_assert_uint_eq(ims_trace_index(r), i);
        tu_expect_rec(r, i, &sample[i], &rec);
    }
    ck_assert_int_eq(ims_trace_next(r, &rec), 0); /* end */
    ck_assert_int_eq(ims_trace_next(r, &rec), 0); /* and stays at the end */
    ims_trace_close(r);
}

/* Each form reads back every field of every sample record and the header. */
START_TEST(round_trip_each_form)
{
    static const int forms[] = {IMS_TRACE_BINARY, IMS_TRACE_BINARY_ZSTD, IMS_TRACE_TEXT, IMS_TRACE_TEXT};
    const char *p = tu_path(form_name[_i]);
    ck_assert_int_eq(ims_trace_form_from_path(p), forms[_i]);
    write_sample(p);
    check_sample(p, forms[_i]);
}
END_TEST

/* Copying text -> binary -> zstd -> text gives a byte-identical text file
 * (expected: no field lost or altered by any form). */
START_TEST(round_trip_chain)
{
    const char *chain[] = {"a.itt", "b.itr", "c.itr.zst", "d.itt"};
    write_sample(tu_path(chain[0]));
    free(tu_copy_chain(chain, 4));
}
END_TEST

/* Expected fault reasons take VT-d's whole 8-bit field: legacy-mode codes,
 * the first codes past them and scalable-mode ones (0x30, 0xff) come back
 * unchanged from every form; the binary form holds the byte at offset 6 and
 * the text form writes it as fault=0x... . */
START_TEST(fault_reason_full_byte)
{
    static const uint8_t reasons[] = {0x1, 0xd, 0xf, 0x10, 0x30, 0x58, 0xff};
    const size_t nr = sizeof reasons;
    const char *p = tu_path(form_name[_i]);
    struct ims_trace_hdr h = {.version = 1};
    /* version 2: the binary check below looks at the 40-byte record */
    struct ims_trace_writer *w = ims_trace_create_version(p, &h, 2, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    for (size_t i = 0; i < nr; i++) {
        struct ims_rec r = {.kind = IMS_REC_DMA, .ts = i, .rid = IMS_BDF(3, 0, 0), .iova = 0x1000 * i, .size = 4,
                            .flags = IMS_RECF_EXPECT_FAULT, .reason = reasons[i]};
        ck_assert_msg(ims_trace_write(w, &r) == 0, "reason 0x%x: %s", reasons[i], ims_trace_writer_error(w));
    }
    ck_assert_msg(ims_trace_commit(w, err, sizeof err) == 0, "%s", err);
    struct ims_trace_reader *rd = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(rd != NULL, "%s", err);
    struct ims_rec got;
    for (size_t i = 0; i < nr; i++) {
        ck_assert_msg(ims_trace_next(rd, &got) == 1, "reason 0x%x: %s", reasons[i], ims_trace_error(rd));
        ck_assert_uint_eq(got.flags, IMS_RECF_EXPECT_FAULT);
        ck_assert_uint_eq(got.reason, reasons[i]);
    }
    ck_assert_int_eq(ims_trace_next(rd, &got), 0);
    ims_trace_close(rd);
    size_t len;
    char *b = tu_read_file(p, &len);
    if (_i == 0) { /* binary: the last record's reason byte, before the last block's check */
        ck_assert_uint_ge(len, 40 * nr + 40);
        ck_assert_uint_eq((unsigned char)b[len - 80 + 6], 0xff);
    } else if (_i >= 2) {
        ck_assert_ptr_nonnull(strstr(b, " fault=0x30\n"));
        ck_assert_ptr_nonnull(strstr(b, " fault=0xff\n"));
    }
    free(b);
}
END_TEST

/* 200k records (8 MB) cross every buffer boundary: batch reads of odd sizes
 * return each record once, in order, for both binary forms. */
START_TEST(batch_read_across_buffers)
{
    const char *p = tu_path(_i ? "big.itr.zst" : "big.itr");
    const uint64_t n = 200000;
    struct ims_trace_hdr h = {.version = 1};
    struct ims_trace_writer *w = ims_trace_create(p, &h, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    struct ims_rec r, got[97];
    for (uint64_t i = 0; i < n; i++) {
        tu_varied_rec(i, &r);
        ck_assert_int_eq(ims_trace_write(w, &r), 0);
    }
    ck_assert_int_eq(ims_trace_commit(w, err, sizeof err), 0);
    struct ims_trace_reader *rd = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(rd != NULL, "%s", err);
    uint64_t i = 0;
    long k;
    while ((k = ims_trace_read(rd, got, 97)) > 0) {
        for (long j = 0; j < k; j++, i++) {
            tu_varied_rec(i, &r);
            ck_assert_msg(tu_rec_equal(&got[j], &r), "record %llu differs", (unsigned long long)i);
        }
    }
    ck_assert_int_eq(k, 0);
    ck_assert_uint_eq(i, n);
    ims_trace_close(rd);
}
END_TEST

/* A writer that is aborted leaves no file, and an existing file untouched;
 * while writing, only a temporary file exists. */
START_TEST(writer_whole_or_nothing)
{
    const char *p = tu_path("w.itr");
    ck_assert_int_eq(tu_write_file(p, "old", 3), 0);
    struct ims_trace_hdr h = {.version = 1};
    struct ims_trace_writer *w = ims_trace_create(p, &h, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(ims_trace_write(w, &sample[0]), 0);
    ims_trace_abort(w);
    size_t len;
    char *c = tu_read_file(p, &len);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(memcmp(c, "old", 3), 0);
    free(c);
    /* An invalid record is refused with its index; the file is not replaced. */
    w = ims_trace_create(p, &h, err, sizeof err);
    struct ims_rec bad = {.kind = IMS_REC_ATTACH, .levels = 6};
    ck_assert_int_eq(ims_trace_write(w, &sample[0]), 0);
    ck_assert_int_eq(ims_trace_write(w, &bad), -1);
    ck_assert_msg(strstr(ims_trace_writer_error(w), "record 1: attach: levels 6 out of range"), "%s",
                  ims_trace_writer_error(w));
    ck_assert_int_eq(ims_trace_commit(w, err, sizeof err), -1);
    c = tu_read_file(p, &len);
    ck_assert_uint_eq(len, 3);
    free(c);
    /* Unknown suffix refused. */
    ck_assert_ptr_null(ims_trace_create(tu_path("x.bin"), &h, err, sizeof err));
    ck_assert_msg(strstr(err, "unknown trace suffix"), "%s", err);
}
END_TEST

/* Out-of-range records are refused by the writer with the field named. */
static const struct {
    struct ims_rec rec;
    const char *msg;
} bad_recs[] = {
    {{.kind = 0}, "unknown record kind 0"},
    {{.kind = 16}, "unknown record kind 16 (expected 1..15)"},
    {{.kind = IMS_REC_DMA, .size = 0}, "dma: size 0 out of range"},
    {{.kind = IMS_REC_DMA, .size = UINT64_C(1) << 32}, "dma: size 4294967296 out of range"},
    {{.kind = IMS_REC_DMA, .size = 1, .flags = IMS_RECF_PASID, .pasid = 1u << 20}, "pasid 1048576 out of range"},
    {{.kind = IMS_REC_DMA, .size = 1, .flags = IMS_RECF_EXPECT_FAULT}, "fault reason 0 out of range (1..255)"},
    {{.kind = IMS_REC_DMA, .size = 1, .flags = IMS_RECF_EXPECT_FAULT | IMS_RECF_EXPECT_PA, .reason = 5},
     "both an expected pa and an expected fault"},
    {{.kind = IMS_REC_DMA, .size = 2, .iova = UINT64_MAX}, "wraps"},
    {{.kind = IMS_REC_MAP, .size = 4096, .perm = 0}, "map: perm 0 out of range"},
    {{.kind = IMS_REC_UNMAP, .size = 0}, "unmap: size 0"},
    {{.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_DEVICE}, "inv-iotlb: granularity 3 out of range"},
    {{.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_PAGE, .am = 53}, "inv-iotlb: am 53 out of range"},
    {{.kind = IMS_REC_INV_CTX, .gran = IMS_INV_PAGE}, "inv-ctx: granularity 4 out of range"},
    {{.kind = IMS_REC_INV_CTX, .gran = IMS_INV_DEVICE, .fm = 4}, "inv-ctx: fm 4 out of range"},
    {{.kind = IMS_REC_ATTACH, .levels = 2}, "attach: levels 2 out of range"},
    {{.kind = IMS_REC_ATTACH, .levels = 4, .tt = 4}, "attach: tt 4 out of range"},
    {{.kind = IMS_REC_MARK, .label = ""}, "mark: label"},
    {{.kind = IMS_REC_MARK, .label = "has space"}, "mark: label"},
};

START_TEST(writer_rejects_out_of_range)
{
    ck_assert_int_eq(ims_rec_check(&bad_recs[_i].rec, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad_recs[_i].msg), "case %d: got '%s'", _i, err);
}
END_TEST

/* Recomputes the CRC-32s of a version 2 binary image (the header's last 4
 * bytes, each block check's bytes 24..27) after a test changed a byte, so
 * that the record checks, not the checksums, see the change. Layout from
 * docs/trace-format.md ("Integrity"); zlib's crc32(). */
static void reseal(unsigned char *b, size_t len)
{
    uint32_t hlen = (uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24;
    uint32_t c = (uint32_t)crc32(0L, b, hlen - 4);
    for (int k = 0; k < 4; k++)
        b[hlen - 4 + k] = (unsigned char)(c >> (8 * k));
    for (size_t pos = hlen; pos + 40 <= len;) {
        size_t n = len - pos >= 1024 * 40 + 40 ? 1024 : (len - pos) / 40 - 1;
        unsigned char *chk = b + pos + n * 40;
        ck_assert_msg(!memcmp(chk, "IMSBLOCK", 8), "no block check at %zu", pos + n * 40);
        c = (uint32_t)crc32(0L, b + pos, (uInt)(n * 40));
        for (int k = 0; k < 4; k++)
            chk[24 + k] = (unsigned char)(c >> (8 * k));
        pos += n * 40 + 40;
    }
}
/* Writes the sample binary (version 2: these tests patch its 40-byte
 * records) and returns its bytes and the header length. */
static unsigned char *sample_bytes(size_t *len, uint32_t *hlen)
{
    const char *p = tu_path("orig.itr");
    write_sample_v(p, 2);
    unsigned char *b = (unsigned char *)tu_read_file(p, len);
    memcpy(hlen, b + 12, 4);
    return b;
}

static void expect_open_error(const char *path, const char *want)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r == NULL, "opened %s, expected error '%s'", path, want);
    ck_assert_msg(strstr(err, want) != NULL, "expected '%s', got '%s'", want, err);
    ck_assert_msg(strstr(err, path) != NULL, "message does not name the file: '%s'", err);
}

/* A wrong magic is refused as bad magic. */
START_TEST(bad_magic)
{
    size_t len;
    uint32_t hlen;
    unsigned char *b = sample_bytes(&len, &hlen);
    b[7] = 'X'; /* IMSTRACX */
    const char *p = tu_path("badmagic.itr");
    tu_write_file(p, b, len);
    expect_open_error(p, "bad magic");
    /* Binary garbage that is neither format. */
    unsigned char junk[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    tu_write_file(p, junk, sizeof junk);
    expect_open_error(p, "bad magic");
    free(b);
}
END_TEST

/* A version other than 1 is refused naming the version (binary and text). */
START_TEST(unknown_version)
{
    size_t len;
    uint32_t hlen;
    unsigned char *b = sample_bytes(&len, &hlen);
    b[8] = 4;
    const char *p = tu_path("v4.itr");
    tu_write_file(p, b, len);
    expect_open_error(p, "unknown trace version 4 (this reader knows versions 1 to 3)");
    const char *t = tu_path("v2.itt");
    tu_write_file(t, "# a comment\nversion 2\n", 22);
    expect_open_error(t, ":2: unknown trace version 2");
    free(b);
}
END_TEST

/* A file cut inside the header is refused as a truncated header. */
START_TEST(truncated_header)
{
    size_t len;
    uint32_t hlen;
    unsigned char *b = sample_bytes(&len, &hlen);
    const char *p = tu_path("th.itr");
    tu_write_file(p, b, 20); /* inside the fixed part */
    expect_open_error(p, "truncated header: 20 of 24");
    tu_write_file(p, b, hlen - 1); /* inside the topology */
    char want[64];
    snprintf(want, sizeof want, "truncated header: %u of %u header bytes", hlen - 1, hlen);
    expect_open_error(p, want);
    free(b);
}
END_TEST

/* A bridge or device count larger than the rest of the header could hold is
 * refused naming the count, before anything is allocated for it. */
START_TEST(header_count_too_large)
{
    size_t len;
    uint32_t hlen;
    unsigned char *b = sample_bytes(&len, &hlen);
    /* Fixed part, then creator and source (u16 length + bytes each), the
     * bridge count, each bridge (name, u16 bdf, u8 bus, u8 kind, u32
     * parent), the device count. */
    size_t off = 24;
    for (int i = 0; i < 2; i++)
        off += 2u + (size_t)(b[off] | b[off + 1] << 8);
    const size_t nb_off = off;
    const uint32_t nb = b[off] | b[off + 1] << 8 | b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;
    off += 4;
    for (uint32_t i = 0; i < nb; i++)
        off += 2u + (size_t)(b[off] | b[off + 1] << 8) + 8u;
    const size_t nd_off = off;
    const char *p = tu_path("hc.itr");
    unsigned char saved[4];
    memcpy(saved, b + nb_off, 4);
    memset(b + nb_off, 0xff, 4);
    reseal(b, len);
    tu_write_file(p, b, len);
    expect_open_error(p, "header: 4294967295 bridges do not fit in the header");
    memcpy(b + nb_off, saved, 4);
    memset(b + nd_off, 0xff, 4);
    reseal(b, len);
    tu_write_file(p, b, len);
    expect_open_error(p, "header: 4294967295 devices do not fit in the header");
    free(b);
}
END_TEST

/* A version 2 file cut inside a block (inside a record, or at a record
 * boundary before the block check): the error names the block, its first
 * record and its byte offset, and no record of the cut block is returned. */
START_TEST(truncated_record)
{
    size_t len;
    uint32_t hlen;
    unsigned char *b = sample_bytes(&len, &hlen);
    const char *p = tu_path("tr.itr");
    tu_write_file(p, b, hlen + 3 * 40 + 17);
    char want[160];
    /* Version 2: the block (here the only one) is checked before any of its
     * records is returned, so none is. */
    snprintf(want, sizeof want,
             "block 0 (records from 0) at byte offset %u: truncated: the file ends 137 bytes into the block", hlen);
    ck_assert_uint_eq(tu_expect_read_error(p, want), 0);
    /* Cut at a record boundary: the block check is missing. */
    tu_write_file(p, b, hlen + 3 * 40);
    snprintf(want, sizeof want, "block 0 (records from 0) at byte offset %u: no block check at byte offset %u", hlen,
             hlen + 80);
    ck_assert_uint_eq(tu_expect_read_error(p, want), 0);
    free(b);
}
END_TEST

/* A zstd file cut short is refused as truncated. */
START_TEST(truncated_zstd)
{
    const char *z = tu_path("s.itr.zst");
    write_sample(z);
    size_t len;
    char *b = tu_read_file(z, &len);
    const char *p = tu_path("cut.itr.zst");
    tu_write_file(p, b, len - 6);
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    if (r == NULL) {
        ck_assert_msg(strstr(err, "zstd"), "%s", err);
    } else {
        struct ims_rec rec;
        int rc;
        while ((rc = ims_trace_next(r, &rec)) == 1)
            ;
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(strstr(ims_trace_error(r), "zstd stream truncated") ||
                          strstr(ims_trace_error(r), "truncated record"),
                      "%s", ims_trace_error(r));
        ims_trace_close(r);
    }
    free(b);
}
END_TEST

/* Binary records with out-of-range fields name the record index and offset. */
static const struct {
    int rec;     /* index into sample[] */
    int off;     /* byte in the record */
    unsigned char val;
    const char *msg;
} bin_bad[] = {
    {0, 0, 9, "unknown record kind 9"},
    {0, 6, 7, "attach: levels 7 out of range"},
    {3, 6, 4, "map: perm 4 out of range"},
    {6, 1, 0x10, "dma: flags 0x10 has unknown bits"},
    {6, 1, 0x80, "dma: a scalable-mode dma flag (priv, exec, translated) in a version 2 file (version 3 only)"},
    {0, 0, 13, "unknown record kind 13 in a version 2 file (bind is a scalable-mode kind: version 3 only)"},
    {12, 6, 3, "inv-iotlb: granularity 3 out of range"},
    {6, 32, 0, "dma: size 0 out of range"},
    {8, 6, 0, "dma: fault reason 0 out of range (1..255)"}, /* the fault flag with reason 0 */
};

START_TEST(binary_bad_field)
{
    size_t len;
    uint32_t hlen;
    unsigned char *b = sample_bytes(&len, &hlen);
    int ri = bin_bad[_i].rec;
    if (bin_bad[_i].off == 32)
        memset(b + hlen + (size_t)ri * 40 + 32, 0, 4);
    else
        b[hlen + (size_t)ri * 40 + (size_t)bin_bad[_i].off] = bin_bad[_i].val;
    reseal(b, len);
    const char *p = tu_path("bf.itr");
    tu_write_file(p, b, len);
    char want[160];
    snprintf(want, sizeof want, "record %d at byte offset %u: %s", ri, hlen + (unsigned)ri * 40, bin_bad[_i].msg);
    ck_assert_uint_eq(tu_expect_read_error(p, want), (uint64_t)ri);
    free(b);
}
END_TEST

/* Text syntax errors: each gives file:line and what was expected. Line 1 is
 * "version 1", line 2 the bad line. */
static const struct {
    const char *line;
    const char *msg;
} text_bad[] = {
    {"frob t=1", ":2: expected a record kind (dma, map, unmap, inv-iotlb, inv-ctx, attach, detach, mark, vm, proc, "
                 "pmap, punmap, bind, inv-pasid, pgresp), got 'frob'"},
    {"dma rid=00:03.0 iova=0x1000 size=4096 r", ":2: dma: expected t=, got none"},
    {"dma t=1 iova=0x1000 size=4096 r", ":2: dma: expected rid=, got none"},
    {"dma t=1 rid=00:03.0 iova=0x1000 size=4096", ":2: dma: expected direction r or w, got none"},
    {"dma t=1 rid=00:03.0 iova=0x1000 size=4096 x", ":2: dma: expected direction r or w, got 'x'"},
    {"dma t=1 rid=00:03.0 iova=0x1000 size=0x100000000 r", ":2: size=: expected a number 0..4294967295"},
    {"dma t=1 rid=00:03.0 iova=0x1000 size=0 r", ":2: dma: size 0 out of range"},
    {"dma t=1 rid=00:20.0 iova=0x1000 size=1 r", ":2: rid=: expected bus:dev.fn in hex"},
    {"dma t=1 rid=00:03.0 iova=zz size=1 r", ":2: iova=: expected a number"},
    {"dma t=1 rid=00:03.0 iova=1 size=1 r pasid=0x100000", ":2: pasid=: expected a number 0..1048575"},
    {"dma t=1 rid=00:03.0 iova=1 size=1 r expect=0x1000 fault=5", ":2: dma: expected either expect= or fault="},
    {"dma t=1 rid=00:03.0 iova=1 size=1 r fault=0x100", ":2: fault=: expected a VT-d fault reason 1..255, got '0x100'"},
    {"dma t=1 rid=00:03.0 iova=1 size=1 r fault=0", ":2: fault=: expected a VT-d fault reason 1..255, got '0'"},
    {"dma t=1 t=2 rid=00:03.0 iova=1 size=1 r", ":2: dma: 't=' given twice"},
    {"dma t=1 rid=00:03.0 iova=1 size=1 r bogus=3", ":2: dma: unknown key 'bogus='"},
    {"map did=1 iova=0x1000 pa=0x2000 size=0x1000 perm=x", ":2: perm=: expected r, w or rw, got 'x'"},
    {"map did=70000 iova=0x1000 pa=0x2000 size=0x1000 perm=r", ":2: did=: expected a number 0..65535"},
    {"map did=1 iova=0x1000 size=0x1000 perm=r", ":2: map: expected pa=, got none"},
    {"unmap did=1 iova=0x1000 size=0", ":2: unmap: size 0"},
    {"inv-iotlb", ":2: inv-iotlb: expected granularity (global, domain or page), got none"},
    {"inv-iotlb device did=1", ":2: inv-iotlb: expected granularity (global, domain or page), got 'device'"},
    {"inv-iotlb page did=1 addr=0x1000", ":2: inv-iotlb: expected am=, got none"},
    {"inv-iotlb page did=1 addr=0x1000 am=53", ":2: am=: expected a number 0..52"},
    {"inv-iotlb global did=1", ":2: inv-iotlb: 'did=' not allowed with global"},
    {"inv-ctx device did=1 sid=00:03.0 fm=4", ":2: fm=: expected a number 0..3"},
    {"inv-ctx page did=1", ":2: inv-ctx: expected granularity (global, domain or device), got 'page'"},
    {"attach rid=00:03.0 did=1 levels=6 tt=0", ":2: levels=: expected 3, 4 or 5, got '6'"},
    {"attach rid=00:03.0 did=1 levels=4", ":2: attach: expected tt=, got none"},
    {"attach rid=00:03.0 did=1 levels=4 tt=0 extra", ":2: attach: expected key=value, got 'extra'"},
    {"detach", ":2: detach: expected rid=, got none"},
    {"mark", ":2: mark: expected a label, got none"},
    {"mark abcdefghijklmnopqrstuvwxyz", ":2: mark: label 'abcdefghijklmnopqrstuvwxyz' longer than 23"},
    {"creator late", ":2: header directive 'creator' after the first record"},
};

START_TEST(text_syntax_error)
{
    /* The header directive case needs a record before it. */
    char body[512];
    bool late = !strncmp(text_bad[_i].line, "creator", 7);
    snprintf(body, sizeof body, "version 1\n%s%s\ndma t=5 rid=00:03.0 iova=0x1000 size=1 r\n",
             late ? "mark m\n" : "", text_bad[_i].line);
    const char *p = tu_path("bad.itt");
    tu_write_file(p, body, strlen(body));
    char want[256];
    snprintf(want, sizeof want, "%s%s", p, text_bad[_i].msg);
    if (late)
        want[strlen(p) + 1] = '3'; /* the directive is on line 3 */
    uint64_t idx = tu_expect_read_error(p, want);
    ck_assert_uint_eq(idx, late ? 1 : 0);
}
END_TEST

/* Text header errors: missing version, unknown bridge parent, bad kind. */
static const struct {
    const char *text;
    const char *msg;
} hdr_bad[] = {
    {"dma t=1 rid=00:03.0 iova=1 size=1 r\n", ":1: expected 'version 1' as the first line"},
    {"version 1\nbridge b0 bdf=00:1e.0 secondary=5 kind=pcie-to-pci parent=nope\n",
     ":2: bridge: parent=: expected an earlier bridge's name or -, got 'nope'"},
    {"version 1\nbridge b0 bdf=00:1e.0 secondary=5 kind=cardbus parent=-\n",
     ":2: bridge: kind=: expected pcie-to-pci or pci-to-pci, got 'cardbus'"},
    {"version 1\nbridge b0 bdf=00:1e.0 secondary=500 kind=pci-to-pci parent=-\n",
     ":2: bridge: secondary=: expected a bus number 0..255"},
    {"version 1\ndevice d0 bdf=03:00.0\n", ":2: device: expected bridge=, got none"},
    {"version 1\ndevice d0 bdf=03:00.0 bridge=-\ndevice d0 bdf=04:00.0 bridge=-\n",
     ":3: header: device name 'd0' used twice"},
    {"version 1\nbridge b0 bdf=00:1e.0 secondary=5 kind=pci-to-pci parent=-\n"
     "bridge b0 bdf=00:1f.0 secondary=6 kind=pci-to-pci parent=-\n",
     ":3: header: bridge name 'b0' used twice"},
    {"version 1\nversion 1\n", ":2: 'version' given twice"},
    {"\n# only comments\n", ":2: expected 'version 1' before the end of the file"},
};

START_TEST(text_header_error)
{
    const char *p = tu_path("hdr.itt");
    tu_write_file(p, hdr_bad[_i].text, strlen(hdr_bad[_i].text));
    char want[256];
    snprintf(want, sizeof want, "%s%s", p, hdr_bad[_i].msg);
    expect_open_error(p, want);
}
END_TEST

/* Hand-written text: comments, blank lines, any key order, CRLF line ends and
 * a 0000: segment are accepted. */
START_TEST(text_lenient_forms)
{
    const char *text = "# hand-written\r\nversion 1\r\n\r\ncreator me and my editor\r\n"
                       "device nic bdf=0000:03:00.0 bridge=-   # trailing comment\r\n"
                       "dma w size=0x10 iova=4096 rid=03:00.0 t=7 expect=0x2000\r\n";
    const char *p = tu_path("ok.itt");
    tu_write_file(p, text, strlen(text));
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_str_eq(ims_trace_header(r)->creator, "me and my editor");
    ck_assert_int_eq(ims_trace_header(r)->topo.n_devices, 1);
    struct ims_rec rec;
    ck_assert_int_eq(ims_trace_next(r, &rec), 1);
    struct ims_rec want = {.kind = IMS_REC_DMA, .ts = 7, .rid = IMS_BDF(3, 0, 0), .iova = 4096, .size = 16,
                           .flags = IMS_RECF_WRITE | IMS_RECF_EXPECT_PA, .pa = 0x2000};
    ck_assert(tu_rec_equal(&rec, &want));
    ck_assert_int_eq(ims_trace_next(r, &rec), 0);
    ims_trace_close(r);
}
END_TEST

/* A missing file and a directory are refused naming the path. */
START_TEST(open_missing)
{
    expect_open_error(tu_path("nope.itr"), "cannot open");
    char dir[256];
    strcpy(dir, tu_path("d.itr"));
    *strrchr(dir, '/') = 0;
    expect_open_error(dir, "is a directory");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_format");
    TCase *tc = tcase_create("format");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, round_trip_each_form, 0, 4);
    tcase_add_test(tc, round_trip_chain);
    tcase_add_loop_test(tc, fault_reason_full_byte, 0, 4);
    tcase_add_loop_test(tc, batch_read_across_buffers, 0, 2);
    tcase_add_test(tc, writer_whole_or_nothing);
    tcase_add_loop_test(tc, writer_rejects_out_of_range, 0, (int)(sizeof bad_recs / sizeof bad_recs[0]));
    tcase_add_test(tc, bad_magic);
    tcase_add_test(tc, unknown_version);
    tcase_add_test(tc, truncated_header);
    tcase_add_test(tc, header_count_too_large);
    tcase_add_test(tc, truncated_record);
    tcase_add_test(tc, truncated_zstd);
    tcase_add_loop_test(tc, binary_bad_field, 0, (int)(sizeof bin_bad / sizeof bin_bad[0]));
    tcase_add_loop_test(tc, text_syntax_error, 0, (int)(sizeof text_bad / sizeof text_bad[0]));
    tcase_add_loop_test(tc, text_header_error, 0, (int)(sizeof hdr_bad / sizeof hdr_bad[0]));
    tcase_add_test(tc, text_lenient_forms);
    tcase_add_test(tc, open_missing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ims_check_run(suite());
}
