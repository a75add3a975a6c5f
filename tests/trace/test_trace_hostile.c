/* Trace readers against hostile input: headers with tens of thousands of
 * entries (linear parsing), bit flips in binary files (block checksums),
 * wrong magics and numbers that do not fit, each with the message that
 * names the file and the line, record or byte. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "iommusim/iommu.h"
#include "iommusim/trace.h"
#include "util.h"

static char err[1024];

static void expect_open_error(const char *path, const char *want)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r == NULL, "opened %s, expected error '%s'", path, want);
    ck_assert_msg(strstr(err, want) != NULL, "expected '%s', got '%s'", want, err);
    ck_assert_msg(strstr(err, path) != NULL, "message does not name the file: '%s'", err);
}

/* Reads to the end or the first error; returns the reader's error ("" at a
 * clean end) in err and the number of records read. */
static uint64_t read_all(const char *path)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct ims_rec rec;
    int rc;
    uint64_t n = 0;
    while ((rc = ims_trace_next(r, &rec)) == 1)
        n++;
    snprintf(err, sizeof err, "%s", rc < 0 ? ims_trace_error(r) : "");
    ims_trace_close(r);
    return n;
}

/* ---- Large headers ---- */

/* A text header with every possible device (65,536: each bdf once) and a
 * chain of 4,096 bridges, each naming the one before as its parent, then
 * one record. Parsing is linear (names are found by hash), so this takes
 * milliseconds; it took hours when every line re-checked the whole header.
 * Expected: all entries read back, the last device and bridge by name. */
START_TEST(text_header_65536_devices)
{
    const char *p = tu_path("big.itt");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "version 1\n");
    fprintf(f, "bridge b0 bdf=00:01.0 secondary=1 kind=pci-to-pci parent=-\n");
    for (int i = 1; i < 4096; i++)
        fprintf(f, "bridge b%d bdf=01:%02x.%x secondary=1 kind=pci-to-pci parent=b%d\n", i, (i >> 3) & 31, i & 7,
                i - 1);
    for (unsigned i = 0; i < 65536; i++)
        fprintf(f, "device d%u bdf=%02x:%02x.%x bridge=%s\n", i, i >> 8, (i >> 3) & 31, i & 7,
                (i >> 8) == 1 ? "b4095" : "-");
    fprintf(f, "mark warmup-end\n");
    ck_assert_int_eq(fclose(f), 0);
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    const struct ims_trace_hdr *h = ims_trace_header(r);
    ck_assert_int_eq(h->topo.n_bridges, 4096);
    ck_assert_int_eq(h->topo.n_devices, 65536);
    ck_assert_str_eq(h->topo.bridges[4095].name, "b4095");
    ck_assert_int_eq(h->topo.bridges[4095].parent, 4094);
    ck_assert_str_eq(h->topo.devices[65535].name, "d65535");
    ck_assert_uint_eq(h->topo.devices[65535].bdf, 0xffff);
    ck_assert_int_eq(h->topo.devices[0x123].bridge, 4095);
    struct ims_rec rec;
    ck_assert_int_eq(ims_trace_next(r, &rec), 1);
    ck_assert_str_eq(rec.label, "warmup-end");
    ims_trace_close(r);
}
END_TEST

/* Duplicates and unknown references in a large text header are found at
 * their own line. */
START_TEST(text_header_large_errors)
{
    const char *p = tu_path("dup.itt");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "version 1\n");
    for (unsigned i = 0; i < 20000; i++)
        fprintf(f, "device d%u bdf=%02x:%02x.%x bridge=-\n", i, i >> 8, (i >> 3) & 31, i & 7);
    fprintf(f, "device d17 bdf=ff:00.0 bridge=-\n"); /* line 20002 */
    ck_assert_int_eq(fclose(f), 0);
    expect_open_error(p, "dup.itt:20002: header: device name 'd17' used twice");
    f = fopen(p, "w");
    fprintf(f, "version 1\n");
    for (unsigned i = 0; i < 20000; i++)
        fprintf(f, "bridge b%u bdf=00:01.0 secondary=1 kind=pcie-to-pci parent=-\n", i);
    fprintf(f, "device x bdf=01:00.0 bridge=b20000\n"); /* line 20002 */
    ck_assert_int_eq(fclose(f), 0);
    expect_open_error(p, "dup.itt:20002: device: bridge=: expected a bridge's name or -, got 'b20000'");
}
END_TEST

/* ---- Bit flips (version 2 checksums) ---- */

/* Version 2 (40-byte records): 2,500 DMA records: blocks 0 and 1 of 1,024 records, block 2 of 452 (the
 * last). Returns the file's bytes and the header length. */
static unsigned char *flip_sample(const char *p, size_t *len, uint32_t *hlen)
{
    struct ims_trace_hdr h;
    tu_sample_hdr(&h);
    struct ims_trace_writer *w = ims_trace_create_version(p, &h, 2, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    for (uint64_t i = 0; i < 2500; i++) {
        struct ims_rec r = {.kind = IMS_REC_DMA, .ts = i, .rid = IMS_BDF(3, 0, 0), .iova = i << 12, .size = 64};
        ck_assert_int_eq(ims_trace_write(w, &r), 0);
    }
    ck_assert_msg(ims_trace_commit(w, err, sizeof err) == 0, "%s", err);
    ims_trace_hdr_free(&h);
    unsigned char *b = (unsigned char *)tu_read_file(p, len);
    *hlen = (uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24;
    ck_assert_uint_eq(*len, *hlen + 2500 * 40 + 3 * 40);
    return b;
}

/* One bit flipped anywhere in a binary file is refused, naming the file: in
 * the header when it is opened (checksum, or the field the flip broke); in
 * a block before any record of that block is returned, with the block, its
 * first record and its byte offset. Every header byte and every 61st byte
 * after it is tried, one at a time, with a different bit each. */
START_TEST(bit_flip_binary)
{
    const char *orig = tu_path("orig.itr"), *p = tu_path("flip.itr");
    size_t len;
    uint32_t hlen;
    unsigned char *b = flip_sample(orig, &len, &hlen);
    ck_assert_uint_eq(read_all(orig), 2500); /* intact: every record */
    ck_assert_str_eq(err, "");
    for (size_t pos = 0; pos < len; pos += pos < hlen ? 1 : 61) {
        unsigned char bit = (unsigned char)(1u << (pos % 8));
        b[pos] ^= bit;
        ck_assert_int_eq(tu_write_file(p, b, len), 0);
        b[pos] ^= bit;
        struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
        if (pos < hlen) {
            ck_assert_msg(r == NULL, "flip at header byte %zu accepted", pos);
            ck_assert_msg(strstr(err, p), "byte %zu: message does not name the file: %s", pos, err);
            continue;
        }
        ck_assert_msg(r != NULL, "flip at byte %zu (after the header) refused on open: %s", pos, err);
        ims_trace_close(r);
        uint64_t block = (pos - hlen) / (1024 * 40 + 40);
        uint64_t n = read_all(p);
        char want[96];
        snprintf(want, sizeof want, "%s: block %llu (records from %llu) at byte offset %llu", p,
                 (unsigned long long)block, (unsigned long long)block * 1024,
                 (unsigned long long)(hlen + block * (1024 * 40 + 40)));
        ck_assert_msg(strstr(err, want), "flip at byte %zu: expected '%s...', got '%s'", pos, want, err);
        ck_assert_msg(n == block * 1024, "flip at byte %zu (block %llu): %llu records returned", pos,
                      (unsigned long long)block, (unsigned long long)n);
    }
    free(b);
}
END_TEST

/* Truncation at a block boundary and data after the last block are refused
 * too (the last block is marked). */
START_TEST(binary_block_boundaries)
{
    const char *orig = tu_path("orig.itr"), *p = tu_path("cut.itr");
    size_t len;
    uint32_t hlen;
    unsigned char *b = flip_sample(orig, &len, &hlen);
    tu_write_file(p, b, hlen + 2 * (1024 * 40 + 40)); /* blocks 0 and 1, not the last */
    ck_assert_uint_eq(read_all(p), 2048);
    ck_assert_msg(strstr(err, "block 2 (records from 2048)") &&
                      strstr(err, "missing: the file ends after block 1, which is not the last"),
                  "%s", err);
    unsigned char *longer = malloc(len + 40);
    memcpy(longer, b, len);
    memcpy(longer + len, b + len - 40, 40); /* the last block check again */
    tu_write_file(p, longer, len + 40);
    ck_assert_uint_eq(read_all(p), 2048); /* the last block is refused whole */
    char want[128];
    snprintf(want, sizeof want, "byte offset %zu: data after the last block (40 bytes)", len);
    ck_assert_msg(strstr(err, want), "%s", err);
    tu_write_file(p, b, hlen); /* the header only */
    ck_assert_uint_eq(read_all(p), 0);
    ck_assert_msg(strstr(err, "missing: the file ends after its header"), "%s", err);
    free(longer);
    free(b);
}
END_TEST

/* zstd: the compressed stream carries zstd's own checksum, and the
 * decompressed bytes are the binary form with its blocks. A flipped bit in
 * the compressed bytes is refused (by zstd, or by a block check); no read
 * returns all 2,500 records without an error. */
START_TEST(bit_flip_zstd)
{
    const char *orig = tu_path("orig.itr"), *z = tu_path("orig.itr.zst"), *p = tu_path("flip.itr.zst");
    size_t len, zlen;
    uint32_t hlen;
    unsigned char *b = flip_sample(orig, &len, &hlen);
    free(b);
    struct ims_trace_reader *r = ims_trace_open(orig, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    struct ims_trace_writer *w = ims_trace_create_version(z, ims_trace_header(r), 2, err, sizeof err);
    ck_assert_ptr_nonnull(w);
    struct ims_rec rec;
    while (ims_trace_next(r, &rec) == 1)
        ck_assert_int_eq(ims_trace_write(w, &rec), 0);
    ims_trace_close(r);
    ck_assert_int_eq(ims_trace_commit(w, err, sizeof err), 0);
    unsigned char *zb = (unsigned char *)tu_read_file(z, &zlen);
    for (size_t pos = 0; pos < zlen; pos += 7) {
        unsigned char bit = (unsigned char)(1u << (pos % 8));
        zb[pos] ^= bit;
        tu_write_file(p, zb, zlen);
        zb[pos] ^= bit;
        r = ims_trace_open(p, err, sizeof err);
        if (!r) {
            ck_assert_msg(strstr(err, p), "%s", err);
            continue;
        }
        ims_trace_close(r);
        uint64_t n = read_all(p);
        ck_assert_msg(err[0] != 0, "flip at compressed byte %zu accepted (%llu records)", pos, (unsigned long long)n);
        ck_assert_msg(strstr(err, p), "%s", err);
    }
    free(zb);
}
END_TEST

/* ---- Messages that say what is wrong ---- */

/* A file whose first 8 bytes are printable but which holds binary data (a
 * wrong magic) is "not an iommusim trace: bad magic", naming the bytes, not
 * a text trace with a NUL byte; a NUL further into a real text trace names
 * its line and column. */
START_TEST(wrong_magic_message)
{
    const char *p = tu_path("wm.itr");
    static const unsigned char b[] = {'X', 'M', 'S', 'T', 'R', 'A', 'C', 'E', 2, 0, 0, 0, 28, 0, 0, 0};
    tu_write_file(p, b, sizeof b);
    expect_open_error(p, "wm.itr: not an iommusim trace: bad magic \"XMSTRACE\"");
    static const unsigned char z[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    tu_write_file(p, z, sizeof z);
    expect_open_error(p, "wm.itr: not an iommusim trace: bad magic \"\\x7fELF\\x02\\x01\\x01\\x00\"");
    const char *t = tu_path("nul.itt");
    char text[700];
    memset(text, '#', sizeof text);
    memcpy(text, "version 1\n", 10);
    text[600] = '\n';
    memcpy(text + 601, "mark a\0b\n", 9); /* line 3, NUL at column 7 (past the first 512 bytes) */
    tu_write_file(t, text, 610);
    expect_open_error(t, "nul.itt:3: NUL byte at column 7"); /* the header ends at line 3 */
}
END_TEST

/* Timestamps: 2^64 - 2 is the largest; 2^64 - 1 (a saturated clock) and
 * anything that overflows 64 bits are errors naming file:line, in text and,
 * for 2^64 - 1, in binary records and the writer. */
START_TEST(timestamp_limits)
{
    static const struct {
        const char *t;
        const char *msg; /* NULL: accepted */
    } cases[] = {
        {"18446744073709551614", NULL},
        {"0xfffffffffffffffe", NULL},
        {"18446744073709551615",
         "ts.itt:2: t=: timestamp 18446744073709551615 does not fit: at most 18446744073709551614"},
        {"0xffffffffffffffff", "ts.itt:2: t=: timestamp 0xffffffffffffffff does not fit"},
        {"18446744073709551616", "ts.itt:2: t=: timestamp 18446744073709551616 does not fit"},
        {"340282366920938463463374607431768211456", "ts.itt:2: t=: timestamp 3402823669209384634633746074317"},
        {"0x10000000000000000", "ts.itt:2: t=: timestamp 0x10000000000000000 does not fit"},
        {"-1", "ts.itt:2: t=: expected a timestamp in ns, 0..18446744073709551614 (decimal or 0x hex), got '-1'"},
    };
    const char *p = tu_path("ts.itt");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        int n = snprintf(text, sizeof text, "version 1\nmark t=%s x\n", cases[i].t);
        tu_write_file(p, text, (size_t)n);
        uint64_t got = read_all(p);
        if (!cases[i].msg) {
            ck_assert_msg(got == 1 && err[0] == 0, "t=%s: %s", cases[i].t, err);
        } else {
            ck_assert_msg(got == 0 && strstr(err, cases[i].msg), "t=%s: expected '%s', got '%s'", cases[i].t,
                          cases[i].msg, err);
        }
    }
    struct ims_rec r = {.kind = IMS_REC_MARK, .ts = UINT64_MAX, .label = "x"};
    ck_assert_int_eq(ims_rec_check(&r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "mark: timestamp 18446744073709551615 out of range (0..18446744073709551614 ns"), "%s",
                  err);
    r.kind = IMS_REC_DMA, r.size = 4;
    ck_assert_int_eq(ims_rec_check(&r, err, sizeof err), -1);
    r.ts = UINT64_MAX - 1;
    ck_assert_int_eq(ims_rec_check(&r, err, sizeof err), 0);
}
END_TEST

/* A binary record with ts 2^64 - 1 (hand-built version 1 file, so no
 * checksum is involved) is refused with its index and byte offset, for a
 * kind the decoder's quick path passes (detach) and for DMA. */
START_TEST(binary_timestamp_max)
{
    unsigned char b[24 + 4 + 4 + 4 + 4 + 2 * 40];
    memset(b, 0, sizeof b);
    memcpy(b, "IMSTRACE", 8);
    b[8] = 1;               /* version 1 */
    b[12] = 24 + 4 + 4 + 4; /* header length: fixed part, two empty strings (u16 each), two counts */
    b[16] = 40;             /* record size */
    unsigned char *rec = b + 36;
    rec[0] = 7;               /* detach */
    memset(rec + 8, 0xff, 8); /* ts */
    rec[40] = 7;
    const char *p = tu_path("tsmax.itr");
    tu_write_file(p, b, 36 + 80);
    ck_assert_uint_eq(read_all(p), 0);
    ck_assert_msg(strstr(err, "tsmax.itr: record 0 at byte offset 36: detach: timestamp 18446744073709551615 out of"),
                  "%s", err);
    memset(rec + 8, 0, 8);
    rec[40] = 1, rec[41] = 0, rec[40 + 32] = 4; /* record 1: dma, size 4 */
    memset(rec + 40 + 8, 0xff, 8);
    tu_write_file(p, b, 36 + 80);
    ck_assert_uint_eq(read_all(p), 1);
    ck_assert_msg(strstr(err, "record 1 at byte offset 76: dma: timestamp 18446744073709551615 out of range"), "%s",
                  err);
}
END_TEST

/* Inputs that are something else, named as such: a UTF-8 byte-order mark,
 * a zstd-compressed text trace, a QEMU trace-event log given as a trace. */
START_TEST(other_inputs_named)
{
    const char *p = tu_path("bom.itt");
    tu_write_file(p, "\xef\xbb\xbfversion 1\nmark a\n", 20);
    expect_open_error(p, "bom.itt: starts with a UTF-8 byte-order mark (bytes EF BB BF)");
    const char *z = tu_path("text.itr.zst");
    static const char text[] = "version 1\nmark a\n";
    char zb[256];
    size_t zn = ZSTD_compress(zb, sizeof zb, text, sizeof text - 1, 3);
    ck_assert(!ZSTD_isError(zn));
    tu_write_file(z, zb, zn);
    expect_open_error(z,
                      "bad magic \"version \" (the decompressed zstd stream does not start with \"IMSTRACE\"; it is a "
                      "compressed text trace");
    const char *q = tu_path("q.log");
    static const char log[] = "8693@1795308980.016150:dma_blk_io dbs=0x1 bs=0x2 offset=0 to_dev=0\n";
    tu_write_file(q, log, sizeof log - 1);
    expect_open_error(q, "q.log:1: expected 'version 1' as the first line of a text trace, got '8693@1795308980.016150:"
                         "dma_blk_io dbs=0x1 bs=0x2 offset=0 to_dev=0' (a QEMU trace-event log? convert it");
}
END_TEST

/* A malformed binary header names the entry, its byte offset and what is
 * wrong with it (hand-built version 1 headers: no checksum in the way). */
START_TEST(binary_header_entry_errors)
{
    unsigned char b[128];
    memset(b, 0, sizeof b);
    memcpy(b, "IMSTRACE", 8);
    b[8] = 1;
    b[12] = 84; /* 24 fixed + 2 + 2 (empty strings) + 4 + 4 (counts) + a device: 2 + 40 + 2 + 4 */
    b[16] = 40;
    b[32] = 1;  /* device count (bridge count at 28 is 0) */
    b[36] = 40; /* name length: 40 > 31 */
    memset(b + 38, 'n', 40);
    const char *p = tu_path("hdr.itr");
    tu_write_file(p, b, 84);
    expect_open_error(p, "hdr.itr: header: device 0 at byte offset 36: a string of 40 bytes, longer than 31 (the "
                         "header is 84 bytes)");
    b[36] = 8;  /* device 0: an 8-byte name, bdf, bridge: bytes 36..51 */
    b[32] = 2;  /* two devices claimed; device 1's name length (bytes 52..53, "nn") */
    b[12] = 56; /* says 28,270 bytes, which run past the 56-byte header from byte 54 */
    tu_write_file(p, b, 56);
    expect_open_error(p, "hdr.itr: header: device 1 at byte offset 54: runs past the end of the header (the header "
                         "is 56 bytes)");
}
END_TEST
int main(void)
{
    Suite *s = suite_create("trace_hostile");
    TCase *tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, text_header_65536_devices);
    tcase_add_test(tc, text_header_large_errors);
    tcase_add_test(tc, bit_flip_binary);
    tcase_add_test(tc, binary_block_boundaries);
    tcase_add_test(tc, bit_flip_zstd);
    tcase_add_test(tc, wrong_magic_message);
    tcase_add_test(tc, timestamp_limits);
    tcase_add_test(tc, binary_timestamp_max);
    tcase_add_test(tc, other_inputs_named);
    tcase_add_test(tc, binary_header_entry_errors);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
