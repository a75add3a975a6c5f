/* Edges of the trace readers that the round trips cannot see (a writer and
 * reader that agree pass a round trip even when both are wrong): bytes
 * patched into a valid binary record just past a field's range, text fields
 * just past theirs, a trace cut one byte into a record, and a file that is
 * only a zstd magic number. Expected outcomes are stated per case; the
 * ranges are those of docs/trace-format.md. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "iommusim/iommu.h"
#include "ims_check.h"
#include "util.h"

static char err[512];

/* Writes one record as a binary trace at `path`; returns the byte offset of
 * the record. The file ends with it and its block check (40 bytes, version 2:
 * docs/trace-format.md), whose CRC-32 patch() keeps right, so that the
 * reader's range checks, not the checksum, meet the patched field. */
static size_t write_one(const char *path, const struct ims_rec *rec)
{
    struct ims_trace_hdr h;
    memset(&h, 0, sizeof h);
    h.version = IMS_TRACE_VERSION;
    snprintf(h.creator, sizeof h.creator, "test_trace_edges");
    struct ims_trace_writer *w = ims_trace_create_version(path, &h, 2, err, sizeof err); /* 40-byte records */
    ck_assert_msg(w != NULL, "%s", err);
    ck_assert_msg(ims_trace_write(w, rec) == 0, "%s", ims_trace_writer_error(w));
    ck_assert_msg(ims_trace_commit(w, err, sizeof err) == 0, "%s", err);
    size_t len;
    char *data = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    free(data);
    ck_assert_uint_ge(len, 80);
    return len - 80;
}

/* Reads every record of `path`: 1 all read, 0 an error whose message
 * contains `want` (which must not be NULL then). */
static int read_all(const char *path, const char *want)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    if (!r) {
        ck_assert_msg(want && strstr(err, want), "%s: open failed: %s", path, err);
        return 0;
    }
    struct ims_rec rec;
    int n;
    while ((n = ims_trace_next(r, &rec)) == 1)
        ;
    int ok = n == 0;
    if (!ok)
        ck_assert_msg(want && strstr(ims_trace_error(r), want), "%s: %s", path, ims_trace_error(r));
    ims_trace_close(r);
    return ok;
}

static void patch(const char *path, size_t off, unsigned char byte)
{
    size_t len;
    char *data = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_lt(off, len);
    data[off] = (char)byte;
    /* the one record's block check follows it: bytes 24..27 are the CRC-32 of
     * the record bytes, little-endian */
    const size_t rec = len - 80;
    ck_assert(off >= rec && off < rec + 40); /* a byte of the record */

    const uLong crc = crc32(0L, (const Bytef *)data + rec, 40);
    for (int i = 0; i < 4; i++)
        data[rec + 40 + 24 + i] = (char)(crc >> (8 * i));
    ck_assert_int_eq(tu_write_file(path, data, len), 0);
    free(data);
}

/* Record bytes (docs/trace-format.md): kind 0, flags 1, rid 2-3, did 4-5,
 * a 6, b 7. inv-iotlb page: am in b, 0..52. am 52 reads back; 53 is refused
 * by the binary reader, naming the record. */
START_TEST(bin_am_range)
{
    const char *p = tu_path("am.itr");
    struct ims_rec rec = {.kind = IMS_REC_INV_IOTLB, .gran = IMS_INV_PAGE, .did = 1, .iova = 0, .am = 52};
    size_t off = write_one(p, &rec);
    ck_assert_int_eq(read_all(p, NULL), 1);
    patch(p, off + 7, 53);
    ck_assert_int_eq(read_all(p, "am 53 out of range"), 0);
}
END_TEST

/* attach: levels in a, 3..5. 3 and 5 read back; 2 and 6 are refused. */
START_TEST(bin_attach_levels_range)
{
    const char *p = tu_path("att.itr");
    struct ims_rec rec = {.kind = IMS_REC_ATTACH, .rid = 0x300, .did = 1, .levels = 3, .tt = 0};
    size_t off = write_one(p, &rec);
    ck_assert_int_eq(read_all(p, NULL), 1);
    patch(p, off + 6, 5);
    ck_assert_int_eq(read_all(p, NULL), 1);
    patch(p, off + 6, 2);
    ck_assert_int_eq(read_all(p, "levels 2 out of range"), 0);
    patch(p, off + 6, 6);
    ck_assert_int_eq(read_all(p, "levels 6 out of range"), 0);
}
END_TEST

/* A binary trace one byte longer than its last whole block (one record and
 * its check, 80 bytes): the reader reports the truncation; it does not end
 * cleanly. */

START_TEST(bin_truncated_by_one_byte)
{
    const char *p = tu_path("trunc.itr");
    struct ims_rec rec = {.kind = IMS_REC_DETACH, .rid = 0x300};
    write_one(p, &rec);
    size_t len;
    char *data = tu_read_file(p, &len);
    ck_assert_ptr_nonnull(data);
    char *more = malloc(len + 1);
    ck_assert_ptr_nonnull(more);
    memcpy(more, data, len);
    more[len] = 1;
    ck_assert_int_eq(tu_write_file(p, more, len + 1), 0);
    free(more);
    free(data);
    ck_assert_int_eq(read_all(p, "truncated: the file ends 81 bytes into the block"), 0);

}
END_TEST

/* The block check's flags are compared, not only its record count and
 * CRC-32 (which covers the records, not the check): the last block's check
 * with the last flag cleared (0), or with an unknown bit beside it (3), is
 * a corrupt check, naming its offset. */
START_TEST(bin_block_flags_checked)
{
    static const unsigned char bad[] = {0, 3};
    const char *p = tu_path("flags.itr");
    struct ims_rec rec = {.kind = IMS_REC_DETACH, .rid = 0x300};
    const size_t off = write_one(p, &rec);
    ck_assert_int_eq(read_all(p, NULL), 1);
    size_t len;
    char *data = tu_read_file(p, &len);
    ck_assert_ptr_nonnull(data);
    const size_t flags = off + 40 + 12; /* the record, then its check: flags at bytes 12..15 */
    ck_assert_int_eq(data[flags], 1);
    for (int i = 0; i < 2; i++) {
        data[flags] = (char)bad[i];
        ck_assert_int_eq(tu_write_file(p, data, len), 0);
        char want[160];
        snprintf(want, sizeof want, "the block check at byte offset %zu is corrupt: it says 1 records, flags 0x%x",
                 off + 40, bad[i]);
        ck_assert_int_eq(read_all(p, want), 0);
    }
    free(data);
}
END_TEST

/* Header flag bits this reader does not know are refused even when the
 * header's CRC-32 is right (a later writer's format, not a bit flip). */
START_TEST(bin_header_unknown_flags)
{
    const char *p = tu_path("hflags.itr");
    struct ims_rec rec = {.kind = IMS_REC_DETACH, .rid = 0x300};
    write_one(p, &rec);
    size_t len;
    unsigned char *data = (unsigned char *)tu_read_file(p, &len);
    ck_assert_ptr_nonnull(data);
    const uint32_t hlen = data[12] | data[13] << 8 | data[14] << 16 | (uint32_t)data[15] << 24;
    ck_assert_uint_eq(data[20], 1); /* blocks */
    data[20] = 5; /* bit 2: unknown (bit 1 is scalable mode, version 3 only: test_trace_sm.c) */
    const uLong crc = crc32(0L, data, hlen - 4);
    for (int i = 0; i < 4; i++)
        data[hlen - 4 + i] = (unsigned char)(crc >> (8 * i));
    ck_assert_int_eq(tu_write_file(p, data, len), 0);
    free(data);
    ck_assert_int_eq(read_all(p, "header flags 0x5 at byte offset 20 have unknown bits (this reader knows 0x3)"), 0);
}
END_TEST

/* A file that holds only the 4-byte zstd magic number is a truncated zstd
 * stream (not an unknown format). */
START_TEST(zstd_magic_only)
{
    const char *p = tu_path("z.itr.zst");
    const unsigned char magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    ck_assert_int_eq(tu_write_file(p, magic, sizeof magic), 0);
    ck_assert_int_eq(read_all(p, "zstd stream truncated"), 0);
}
END_TEST

/* Writes `text` as a text trace and reads it: 1 valid, 0 refused with
 * `want` in the message. */
static int text_trace(const char *text, const char *want)
{
    const char *p = tu_path("t.itt");
    ck_assert_int_eq(tu_write_file(p, text, strlen(text)), 0);
    return read_all(p, want);
}

/* Text: a function number is 0..7; 00:00.7 reads, 00:00.8 is refused. */
START_TEST(text_bdf_function_range)
{
    ck_assert_int_eq(text_trace("version 1\ndetach rid=00:00.7\n", NULL), 1);
    ck_assert_int_eq(text_trace("version 1\ndetach rid=00:00.8\n", "00:00.8"), 0);
}
END_TEST

/* Text: attach levels are 3..5; 3 and 5 read, 2 and 6 are refused by the
 * text reader itself, naming the field (not later by the record check). */
START_TEST(text_attach_levels_range)
{
    ck_assert_int_eq(text_trace("version 1\nattach rid=03:00.0 did=1 levels=3 tt=0\n", NULL), 1);
    ck_assert_int_eq(text_trace("version 1\nattach rid=03:00.0 did=1 levels=5 tt=0\n", NULL), 1);
    ck_assert_int_eq(
        text_trace("version 1\nattach rid=03:00.0 did=1 levels=2 tt=0\n", "levels=: expected 3, 4 or 5, got '2'"), 0);
    ck_assert_int_eq(
        text_trace("version 1\nattach rid=03:00.0 did=1 levels=6 tt=0\n", "levels=: expected 3, 4 or 5, got '6'"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_edges");
    TCase *tc = tcase_create("edges");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, bin_am_range);
    tcase_add_test(tc, bin_attach_levels_range);
    tcase_add_test(tc, bin_truncated_by_one_byte);
    tcase_add_test(tc, bin_block_flags_checked);
    tcase_add_test(tc, bin_header_unknown_flags);
    tcase_add_test(tc, zstd_magic_only);
    tcase_add_test(tc, text_bdf_function_range);
    tcase_add_test(tc, text_attach_levels_range);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
