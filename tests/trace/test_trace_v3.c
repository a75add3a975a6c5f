/* Binary version 3 (docs/trace-format.md, "Version 3"): compact records in
 * checked blocks. Round trips of every kind and field against version 2,
 * corrupt and cut files (the message names the file, the block, its byte
 * offset and its first record), and hostile blocks whose checksums are
 * right (huge varints, counts past the limits, records that run past their
 * block): each refused with a message, never a crash or a wrong record. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "iommusim/iommu.h"
#include "iommusim/trace.h"
#include "util.h"
#include "trace_impl.h" /* ims_tr_crc32 */

static char err[1024];

/* xorshift64*: deterministic test data. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

/* A valid record of any kind with fields over their whole ranges (small
 * and large values, near-sequential and random addresses), record i. */
static void rand_rec(uint64_t i, struct ims_rec *r)
{
    static uint64_t ts, iova;
    memset(r, 0, sizeof *r);
    uint64_t u = rnd();
    unsigned k = (unsigned)(u % 16);
    ts = (u >> 8) % 7 == 0 ? rnd() % (UINT64_MAX - 1) : ts + (rnd() % 1000); /* jumps back and forth too */
    r->ts = ts;
    if (k < 8) {
        r->kind = IMS_REC_DMA;
        r->rid = (uint16_t)((u >> 16) % 5 == 0 ? rnd() : 0x300 + (u >> 20) % 3);
        r->size = (u >> 24) % 4 == 0 ? 1 + rnd() % UINT32_MAX : 64;
        iova = (u >> 28) % 3 == 0 ? rnd() : iova + r->size;
        if (iova + (r->size - 1) < iova)
            iova = UINT64_MAX - r->size + 1; /* the last bytes of the address space */
        r->iova = iova;
        r->flags = (uint8_t)((u >> 32) & IMS_RECF_WRITE);
        if ((u >> 33) % 3 == 0) {
            r->flags |= IMS_RECF_PASID;
            r->pasid = (uint32_t)(rnd() & ((1u << 20) - 1));
        }
        unsigned e = (unsigned)((u >> 36) % 4);
        if (e == 1) {
            r->flags |= IMS_RECF_EXPECT_PA;
            r->pa = (u >> 40) % 2 ? rnd() : (r->iova ^ 0x40000000ull);
        } else if (e == 2) {
            r->flags |= IMS_RECF_EXPECT_FAULT;
            r->reason = (uint8_t)(1 + rnd() % 255);
        }
        return;
    }
    switch (k) {
    case 8:
    case 9:
        r->kind = k == 8 ? IMS_REC_MAP : IMS_REC_UNMAP;
        r->did = (uint16_t)(rnd() % 3 ? 1 : rnd());
        r->size = (u >> 20) % 5 ? 0x1000 : 1 + rnd() % UINT64_MAX;
        r->iova = rnd() & ~0xfffull;
        if (k == 8) {
            r->pa = (u >> 24) % 2 ? rnd() : 0x200000;
            r->perm = (uint8_t)(1 + (u >> 28) % 3);
        }
        return;
    case 10: {
        static const uint8_t g[] = {IMS_INV_GLOBAL, IMS_INV_DOMAIN, IMS_INV_PAGE};
        r->kind = IMS_REC_INV_IOTLB;
        r->gran = g[(u >> 20) % 3];
        r->flags = (uint8_t)((u >> 24) % 2 ? IMS_RECF_IH : 0);
        if (r->gran != IMS_INV_GLOBAL)
            r->did = (uint16_t)rnd();
        if (r->gran == IMS_INV_PAGE) {
            r->am = (uint8_t)(rnd() % 53);
            r->iova = rnd();
        }
        return;
    }
    case 11: {
        static const uint8_t g[] = {IMS_INV_GLOBAL, IMS_INV_DOMAIN, IMS_INV_DEVICE};
        r->kind = IMS_REC_INV_CTX;
        r->gran = g[(u >> 20) % 3];
        if (r->gran != IMS_INV_GLOBAL)
            r->did = (uint16_t)rnd();
        if (r->gran == IMS_INV_DEVICE) {
            r->rid = (uint16_t)rnd();
            r->fm = (uint8_t)(rnd() % 4);
        }
        return;
    }
    case 12:
        r->kind = IMS_REC_ATTACH;
        r->rid = (uint16_t)rnd();
        r->did = (uint16_t)rnd();
        r->levels = (uint8_t)(3 + rnd() % 3);
        r->tt = (uint8_t)(rnd() % 4);
        r->pa = (u >> 20) % 2 ? rnd() : 0;
        return;
    case 13:
        r->kind = IMS_REC_DETACH;
        r->rid = (uint16_t)rnd();
        return;
    default: {
        r->kind = IMS_REC_MARK;
        size_t n = 1 + (i + u) % (IMS_REC_LABEL_MAX - 1); /* 1..23 characters */
        for (size_t c = 0; c < n; c++)
            r->label[c] = (char)('!' + rnd() % 94); /* printable, no space */
        for (size_t c = 0; c < n; c++)
            if (r->label[c] == '#')
                r->label[c] = 'x';
        return;
    }
    }
}

static void write_recs(const char *path, unsigned version, const struct ims_rec *recs, size_t n)
{
    struct ims_trace_hdr h;
    tu_sample_hdr(&h);
    struct ims_trace_writer *w = ims_trace_create_version(path, &h, version, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ims_trace_write(w, &recs[i]) == 0, "record %zu: %s", i, ims_trace_writer_error(w));
    ck_assert_msg(ims_trace_commit(w, err, sizeof err) == 0, "%s", err);
    ims_trace_hdr_free(&h);
}

/* Reads to the end or the first error (its message in err, "" at a clean
 * end); returns the records read, at most max (into out if not NULL). */
static size_t read_recs(const char *path, struct ims_rec *out, size_t max, unsigned *version)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    if (!r)
        return 0;
    if (version)
        *version = ims_trace_header(r)->version;
    struct ims_rec batch[1000];
    size_t n = 0;
    long got;
    while ((got = ims_trace_read(r, batch, 1000)) > 0) {
        for (long i = 0; i < got; i++, n++)
            if (out && n < max)
                out[n] = batch[i];
    }
    snprintf(err, sizeof err, "%s", got < 0 ? ims_trace_error(r) : "");
    ims_trace_close(r);
    return n;
}

#define NREC 20000 /* 5 blocks of 4,096 (the last one part-full) */

/* Every kind and field, written as version 2 and version 3 (raw and zstd):
 * all three read back the same records, equal to what was written. */
START_TEST(v3_round_trip_every_kind)
{
    struct ims_rec *recs = malloc(NREC * sizeof *recs), *got = malloc(NREC * sizeof *got);
    ck_assert_ptr_nonnull(recs);
    ck_assert_ptr_nonnull(got);
    for (size_t i = 0; i < NREC; i++)
        rand_rec(i, &recs[i]);
    const char *paths[] = {tu_path("r.v2.itr"), tu_path("r.v3.itr"), tu_path("r.v3.itr.zst"), tu_path("r.v2.itr.zst")};
    const unsigned versions[] = {2, 3, 3, 2};
    for (int f = 0; f < 4; f++) {
        write_recs(paths[f], versions[f], recs, NREC);
        unsigned v = 0;
        size_t n = read_recs(paths[f], got, NREC, &v);
        ck_assert_msg(err[0] == 0, "%s: %s", paths[f], err);
        ck_assert_uint_eq(v, versions[f]);
        ck_assert_uint_eq(n, NREC);
        for (size_t i = 0; i < NREC; i++) {
            char a[256], b[256];
            ims_rec_format(&recs[i], a, sizeof a);
            ims_rec_format(&got[i], b, sizeof b);
            ck_assert_msg(tu_rec_equal(&got[i], &recs[i]), "%s: record %zu: wrote '%s', read '%s'", paths[f], i, a,
                          b);
            struct ims_rec c;
            ims_rec_canon(&recs[i], &c);
            ck_assert_msg(!memcmp(&c, &got[i], sizeof c), "%s: record %zu not canonical", paths[f], i);
        }
    }
    free(recs);
    free(got);
}
END_TEST

/* The same records in both versions: v3 is the smaller file. */
START_TEST(v3_smaller_than_v2)
{
    struct ims_rec *recs = malloc(NREC * sizeof *recs);
    ck_assert_ptr_nonnull(recs);
    for (size_t i = 0; i < NREC; i++) {
        recs[i] = (struct ims_rec){.kind = IMS_REC_DMA, .ts = i * 100, .rid = 0x300, .iova = 0x10000 + 64 * i,
                                   .size = 64, .flags = (uint8_t)(i & 1)};
    }
    write_recs(tu_path("s2.itr"), 2, recs, NREC);
    write_recs(tu_path("s3.itr"), 3, recs, NREC);
    size_t l2, l3;
    free(tu_read_file(tu_path("s2.itr"), &l2));
    free(tu_read_file(tu_path("s3.itr"), &l3));
    ck_assert_msg(l3 * 5 < l2, "version 3: %zu bytes, version 2: %zu", l3, l2);
    free(recs);
}
END_TEST

/* ---- Corrupt and cut files ---- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put32(unsigned char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

/* A version 3 file of NREC DMA records; its bytes, length, header length
 * and the byte offsets of its blocks (*nb of them). */
static unsigned char *v3_sample(const char *p, size_t *len, uint32_t *hlen, size_t *blk, size_t *nb)
{
    struct ims_rec *recs = malloc(NREC * sizeof *recs);
    for (size_t i = 0; i < NREC; i++)
        recs[i] = (struct ims_rec){.kind = IMS_REC_DMA, .ts = i, .rid = 0x300, .iova = (uint64_t)i << 12, .size = 64};
    write_recs(p, 3, recs, NREC);
    free(recs);
    unsigned char *b = (unsigned char *)tu_read_file(p, len);
    *hlen = le32(b + 12);
    *nb = 0;
    for (size_t pos = *hlen; pos < *len; pos += 32 + le32(b + pos + 8)) {
        ck_assert_msg(!memcmp(b + pos, "IMB3", 4), "no block at %zu", pos);
        blk[(*nb)++] = pos;
    }
    return b;
}

/* One bit flipped anywhere after the header is refused, naming the file,
 * the block, its first record and byte offset; the blocks before it are
 * returned whole. */
START_TEST(v3_bit_flip)
{
    const char *orig = tu_path("o.itr"), *p = tu_path("f.itr");
    size_t len, blk[16], nb;
    uint32_t hlen;
    unsigned char *b = v3_sample(orig, &len, &hlen, blk, &nb);
    ck_assert_uint_eq(nb, 5);
    ck_assert_uint_eq(read_recs(orig, NULL, 0, NULL), NREC);
    ck_assert_str_eq(err, "");
    for (size_t pos = 0; pos < len; pos += pos < hlen ? 1 : 13) {
        unsigned char bit = (unsigned char)(1u << (pos % 8));
        b[pos] ^= bit;
        tu_write_file(p, b, len);
        b[pos] ^= bit;
        size_t n = read_recs(p, NULL, 0, NULL);
        ck_assert_msg(err[0] != 0, "flip at byte %zu accepted", pos);
        ck_assert_msg(strstr(err, p), "byte %zu: message does not name the file: %s", pos, err);
        if (pos < hlen)
            continue;
        size_t k = 0;
        while (k + 1 < nb && blk[k + 1] <= pos)
            k++;
        char want[128];
        snprintf(want, sizeof want, "%s: block %zu (records from %zu) at byte offset %zu", p, k, k * 4096, blk[k]);
        ck_assert_msg(strstr(err, want), "flip at byte %zu: expected '%s...', got '%s'", pos, want, err);
        ck_assert_msg(n == k * 4096, "flip at byte %zu (block %zu): %zu records returned", pos, k, n);
    }
    free(b);
}
END_TEST

/* Cut files, and data after the last block. */
START_TEST(v3_cut_and_appended)
{
    const char *orig = tu_path("o.itr"), *p = tu_path("c.itr");
    size_t len, blk[16], nb;
    uint32_t hlen;
    unsigned char *b = v3_sample(orig, &len, &hlen, blk, &nb);
    char want[160];
    tu_write_file(p, b, blk[2]); /* blocks 0 and 1 */
    ck_assert_uint_eq(read_recs(p, NULL, 0, NULL), 8192);
    snprintf(want, sizeof want, "block 2 (records from 8192) at byte offset %zu: missing", blk[2]);
    ck_assert_msg(strstr(err, want), "%s", err);
    tu_write_file(p, b, blk[2] + 17); /* inside block 2's header */
    ck_assert_uint_eq(read_recs(p, NULL, 0, NULL), 8192);
    ck_assert_msg(strstr(err, "truncated: the file ends 17 bytes into the 32-byte block header"), "%s", err);
    tu_write_file(p, b, blk[2] + 32 + 100); /* inside its payload */
    ck_assert_uint_eq(read_recs(p, NULL, 0, NULL), 8192);
    ck_assert_msg(strstr(err, "truncated: the file ends 100 bytes into the block's"), "%s", err);
    tu_write_file(p, b, hlen);
    ck_assert_uint_eq(read_recs(p, NULL, 0, NULL), 0);
    ck_assert_msg(strstr(err, "missing: the file ends after its header"), "%s", err);
    unsigned char *longer = malloc(len + 40);
    memcpy(longer, b, len);
    memcpy(longer + len, b + blk[nb - 1], 40);
    tu_write_file(p, longer, len + 40);
    ck_assert_uint_eq(read_recs(p, NULL, 0, NULL), NREC);
    snprintf(want, sizeof want, "byte offset %zu: data after the last block (another block)", len);
    ck_assert_msg(strstr(err, want), "%s", err);
    free(longer);
    free(b);
}
END_TEST

/* ---- Hostile blocks (right checksums, wrong contents) ---- */

/* The header of an empty version 3 trace, then one block holding `payload`
 * (n records, flags, index as given) with correct CRC-32s. */
static void hostile_file(const char *p, const unsigned char *payload, uint32_t plen, uint32_t n, uint32_t flags,
                         uint64_t index)
{
    write_recs(p, 3, NULL, 0);
    size_t len;
    unsigned char *b = (unsigned char *)tu_read_file(p, &len);
    uint32_t hlen = le32(b + 12);
    unsigned char *o = malloc(hlen + 32 + plen);
    memcpy(o, b, hlen);
    unsigned char *h = o + hlen;
    memcpy(h, "IMB3", 4);
    put32(h + 4, n);
    put32(h + 8, plen);
    put32(h + 12, flags);
    put32(h + 16, (uint32_t)index);
    put32(h + 20, (uint32_t)(index >> 32));
    memcpy(h + 32, payload, plen);
    put32(h + 24, (uint32_t)crc32(0L, h + 32, plen));
    put32(h + 28, (uint32_t)crc32(0L, h, 28));
    tu_write_file(p, o, hlen + 32 + plen);
    free(o);
    free(b);
}

static const struct {
    unsigned char payload[40];
    uint32_t len, n, flags;
    uint64_t index;
    size_t good; /* records returned before the error */
    const char *msg;
} hostile[] = {
    /* a DMA whose ts varint never ends (11 bytes of 0xff) */
    {{0x21, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00}, 16, 1, 1, 0, 0,
     "record 0 at byte offset"},
    /* a 10-byte varint past 2^64 (10th byte 0x02) */
    {{0x21, 0x00, 0x03, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0x00, 0x00}, 15, 1, 1, 0, 0,
     "a number longer than 64 bits"},
    /* unknown kind 0 (kinds 1..15 are all defined) */
    {{0x00, 0x00}, 2, 1, 1, 0, 0, "unknown record kind 0"},
    /* scalable-mode kinds with fields out of range (kind 9 is VM now) */
    {{0x09, 0x00, 0x08, 0x04, 0x00, 0x00}, 6, 1, 1, 0, 0, "vm: vm 8 out of range (0..7)"},
    {{0x0a, 0x00, 0x40, 0x04, 0xff}, 5, 1, 1, 0, 0, "proc: pid 64 out of range (0..63)"},
    {{0x6d, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00}, 7, 1, 1, 0, 0, "bind: more than one of sl, pt and unbind"},
    {{0x0e, 0x00, 0x09}, 3, 1, 1, 0, 0, "inv-pasid: target 9 out of range"},
    {{0x0f, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00}, 7, 1, 1, 0, 0, "pgresp: prg 512 out of range (0..511)"},
    {{0x0f, 0x00, 0x00, 0x03, 0x01, 0x00, 0x02}, 7, 1, 1, 0, 0, "pgresp: response code 2 out of range"},
    {{0xf1, 0x10, 0x00, 0x03, 0x00, 0x00, 0x04}, 7, 1, 1, 0, 0, "dma: exec with a write"},
    {{0x0b, 0x00, 0x01}, 3, 1, 1, 0, 0, "pmap: runs past the end of the block's payload"},
    /* a DETACH with bits in its tag's upper half */
    {{0x87, 0x00, 0x00, 0x03}, 4, 1, 1, 0, 0, "detach: tag byte 0x87"},
    /* a DMA extension byte with unknown bits */
    {{0xa1, 0x80, 0x00, 0x03, 0x00, 0x00, 0x40}, 7, 1, 1, 0, 0, "tag byte 0xa1 or its extension byte"},
    /* a DMA cut by the payload's end (rid present, ts and iova missing) */
    {{0x21, 0x00, 0x03}, 3, 1, 1, 0, 0, "dma: runs past the end of the block's payload (3 bytes left of it)"},
    /* a valid DETACH, then payload bytes no record owns */
    {{0x07, 0x00, 0x00, 0x03, 0x55, 0x55}, 6, 1, 1, 0, 1, "2 payload bytes after its last record"},
    /* DMA size past 32 bits (size varint 2^32) */
    {{0x61, 0x00, 0x03, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10}, 10, 1, 1, 0, 0, "dma: size 0x100000000 past 32 bits"},
    /* DMA size 0 */
    {{0x61, 0x00, 0x03, 0x00, 0x00, 0x00}, 6, 1, 1, 0, 0, "dma: size 0"},
    /* MARK label length 24 */
    {{0x08, 0x00, 24}, 3, 1, 1, 0, 0, "mark: label length past 23"},
    /* MARK with an empty label */
    {{0x08, 0x00, 0}, 3, 1, 1, 0, 0, "mark"},
    /* MAP with perm 0 */
    {{0x42, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01}, 7, 1, 1, 0, 0, "map: "},
    /* counts past the limits, and a block that says more than it holds */
    {{0x07, 0x00, 0x00, 0x03}, 4, 4097, 1, 0, 0, "the block header is inconsistent: it says 4097 records"},
    {{0x07, 0x00, 0x00, 0x03}, 4, 0xffffffffu, 1, 0, 0, "it says 4294967295 records"},
    {{0x07, 0x00, 0x00, 0x03}, 4, 3, 1, 0, 0, "it says 3 records, 4 payload bytes"},
    {{0x07, 0x00, 0x00, 0x03, 0x07, 0x00, 0x00, 0x03}, 8, 3, 1, 0, 2, "record 2 at byte offset"},
    {{0x07, 0x00, 0x00, 0x03, 0x07, 0x00, 0x00, 0x03}, 8, 3, 1, 0, 2, "the block's payload ends before this record (the block header says 3 records)"},
    {{0x07, 0x00, 0x00, 0x03}, 4, 1, 0x3, 0, 0, "flags 0x3"},
    {{0x07, 0x00, 0x00, 0x03}, 4, 1, 1, 1ull << 40, 0, "block 1099511627776"},
    {{0}, 0, 0, 0, 0, 0, "it says 0 records, 0 payload bytes, flags 0x0"},
    /* an INV_IOTLB with gran 7: refused by the range check */
    {{0x04, 0x00, 0x07, 0x01, 0x00}, 5, 1, 1, 0, 0, "inv-iotlb"},
};

START_TEST(v3_hostile_block)
{
    const char *p = tu_path("h.itr");
    hostile_file(p, hostile[_i].payload, hostile[_i].len, hostile[_i].n, hostile[_i].flags, hostile[_i].index);
    size_t n = read_recs(p, NULL, 0, NULL);
    ck_assert_msg(strstr(err, hostile[_i].msg), "case %d: expected '%s', got '%s'", _i, hostile[_i].msg, err);
    ck_assert_msg(strstr(err, p), "case %d: no file name: '%s'", _i, err);
    ck_assert_uint_eq(n, hostile[_i].good);
}
END_TEST

/* A large payload length (up to 2^32 - 1) is refused before anything is
 * allocated or read for it. */
START_TEST(v3_huge_payload_length)
{
    const char *p = tu_path("hl.itr");
    static const unsigned char one[] = {0x07, 0x00, 0x00, 0x03};
    hostile_file(p, one, sizeof one, 1, 1, 0);
    size_t len;
    unsigned char *b = (unsigned char *)tu_read_file(p, &len);
    unsigned char *h = b + len - 32 - sizeof one;
    put32(h + 8, 0xffffffffu);
    put32(h + 28, (uint32_t)crc32(0L, h, 28));
    tu_write_file(p, b, len);
    ck_assert_uint_eq(read_recs(p, NULL, 0, NULL), 0);
    ck_assert_msg(strstr(err, "4294967295 payload bytes"), "%s", err);
    free(b);
}
END_TEST

/* Random payload bytes under right checksums: 3,000 blocks of random
 * records, each read to its end or an error; none crashes (the sanitizer
 * build checks every read stays inside the buffers) and every record
 * returned passes the range checks. */
START_TEST(v3_random_payloads)
{
    const char *p = tu_path("rp.itr");
    unsigned char pl[300];
    for (int t = 0; t < 3000; t++) {
        uint32_t plen = (uint32_t)(2 + rnd() % (sizeof pl - 2));
        for (uint32_t i = 0; i < plen; i++) {
            uint64_t u = rnd();
            /* tags of real kinds half of the time, varint-ish bytes otherwise */
            pl[i] = (unsigned char)(u % 2 ? (u >> 8) % 9 : u >> 16);
        }
        uint32_t n = (uint32_t)(1 + rnd() % (plen / 2));
        hostile_file(p, pl, plen, n, 1, 0);
        struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
        ck_assert_msg(r != NULL, "%s", err);
        struct ims_rec rec;
        int rc;
        uint32_t got = 0;
        while ((rc = ims_trace_next(r, &rec)) == 1) {
            char e[256];
            ck_assert_msg(ims_rec_check(&rec, e, sizeof e) == 0, "trial %d: record %u returned invalid: %s", t, got, e);
            got++;
        }
        ck_assert_msg(rc == 0 || strstr(ims_trace_error(r), p), "trial %d: %s", t, ims_trace_error(r));
        ck_assert_msg(got <= n, "trial %d: %u records from a block of %u", t, got, n);
        ims_trace_close(r);
    }
}
END_TEST

/* Writers: version 2 on request, other versions refused. */
START_TEST(v3_writer_versions)
{
    struct ims_trace_hdr h;
    tu_sample_hdr(&h);
    ck_assert_ptr_null(ims_trace_create_version(tu_path("x.itr"), &h, 4, err, sizeof err));
    ck_assert_msg(strstr(err, "cannot write binary trace version 4 (writers write versions 2 and 3)"), "%s", err);
    ck_assert_ptr_null(ims_trace_create_version(tu_path("x.itr"), &h, 1, err, sizeof err));
    ims_trace_hdr_free(&h);
    write_recs(tu_path("d.itr"), 3, NULL, 0);
    write_recs(tu_path("d2.itr"), 2, NULL, 0);
    unsigned v;
    ck_assert_uint_eq(read_recs(tu_path("d.itr"), NULL, 0, &v), 0);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(v, 3);
    ck_assert_uint_eq(read_recs(tu_path("d2.itr"), NULL, 0, &v), 0);
    ck_assert_uint_eq(v, 2);
}
END_TEST

/* The payload CRC-32 (ims_tr_crc32, trace_v3.c) is zlib's crc32(0, p, n)
 * bit for bit: every length 0..700 (the carry-less folding starts at 64
 * bytes; 64-byte rounds, 16-byte steps and zlib's 0..15-byte end all
 * meet) at every alignment 0..15, on random bytes and on all-ones (which
 * exposes a wrong initial inversion), with the fold and without. */
START_TEST(v3_payload_crc)
{
    static unsigned char buf[16 + 700];
    for (int fill = 0; fill < 2; fill++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = fill ? 0xff : (unsigned char)rnd();
        for (int fold = 0; fold < 2; fold++) {
            struct ims_tr_crc c = {0};
            if (!fold)
                c = (struct ims_tr_crc){.ready = true, .clmul = false};
            for (size_t al = 0; al < 16; al++)
                for (size_t n = 0; n <= 700; n++) {
                    uint32_t want = (uint32_t)crc32(0L, buf + al, (uInt)n);
                    uint32_t have = ims_tr_crc32(&c, buf + al, n);
                    if (have != want)
                        ck_abort_msg("fill %d fold %d align %zu length %zu: CRC-32 0x%08x, zlib 0x%08x", fill, fold,
                                     al, n, have, want);
                }
        }
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_v3");
    TCase *tc = tcase_create("v3");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, v3_round_trip_every_kind);
    tcase_add_test(tc, v3_smaller_than_v2);
    tcase_add_test(tc, v3_bit_flip);
    tcase_add_test(tc, v3_cut_and_appended);
    tcase_add_loop_test(tc, v3_hostile_block, 0, (int)(sizeof hostile / sizeof hostile[0]));
    tcase_add_test(tc, v3_huge_payload_length);
    tcase_add_test(tc, v3_random_payloads);
    tcase_add_test(tc, v3_writer_versions);
    tcase_add_test(tc, v3_payload_crc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ims_check_run(suite());
}
