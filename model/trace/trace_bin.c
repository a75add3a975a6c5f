/* Binary trace codec: the fixed 40-byte little-endian record (encode, and
 * the decode the reader's batch loop runs for every record), and the binary
 * header after the magic. Bytes come from and go to trace_io.c's buffers;
 * this file never touches a file. docs/trace-format.md's layout tables and
 * the offsets below must agree (the _Static_asserts pin the sizes).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "iommusim/iommu.h"
#include "iommusim/vtd.h"
#include "trace_impl.h"

/* ---- Record layout ---- */

/* One record, 40 bytes, little-endian:
 *  [0]      kind
 *  [1]      flags
 *  [3:2]    rid
 *  [5:4]    did
 *  [6]      a: DMA reason | MAP perm | INV_* gran | ATTACH levels
 *  [7]      b: INV_IOTLB am | INV_CTX fm | ATTACH tt
 *  [15:8]   ts
 *  [23:16]  iova   (MARK: label bytes 0..7)
 *  [31:24]  pa     (MARK: label bytes 8..15)
 *  [39:32]  size   (DMA: [35:32] size, [39:36] pasid; MARK: label bytes 16..23)
 * Bytes a kind does not use are written as zero and ignored when read. */
#define TR_OFF_KIND  0
#define TR_OFF_FLAGS 1
#define TR_OFF_RID   2
#define TR_OFF_DID   4
#define TR_OFF_A     6
#define TR_OFF_B     7
#define TR_OFF_TS    8
#define TR_OFF_IOVA  16
#define TR_OFF_PA    24
#define TR_OFF_SIZE  32
#define TR_OFF_PASID 36
#define TR_OFF_LABEL 16
_Static_assert(TR_OFF_SIZE + 8 == TR_REC_SIZE, "record layout: size is the last field");
_Static_assert(TR_OFF_LABEL + IMS_REC_LABEL_MAX == TR_REC_SIZE, "record layout: MARK label fills bytes 16..39");
_Static_assert(TR_OFF_PASID + 4 == TR_REC_SIZE, "record layout: DMA pasid is the last word");
_Static_assert(IMS_REC_REASON_MAX == 255, "rec_decode() checks only reason != 0: a narrower range needs a test there");

/* ---- Record codec ---- */

static void rec_encode(const struct ims_rec *r, unsigned char *p)
{
    memset(p, 0, TR_REC_SIZE);
    p[TR_OFF_KIND] = r->kind;
    st64(p + TR_OFF_TS, r->ts);
    switch (r->kind) {
    case IMS_REC_DMA:
        p[TR_OFF_FLAGS] = r->flags;
        st16(p + TR_OFF_RID, r->rid);
        if (r->flags & IMS_RECF_EXPECT_FAULT)
            p[TR_OFF_A] = r->reason;
        st64(p + TR_OFF_IOVA, r->iova);
        if (r->flags & IMS_RECF_EXPECT_PA)
            st64(p + TR_OFF_PA, r->pa);
        st32(p + TR_OFF_SIZE, (uint32_t)r->size);
        if (r->flags & IMS_RECF_PASID)
            st32(p + TR_OFF_PASID, r->pasid);
        break;
    case IMS_REC_MAP:
        st16(p + TR_OFF_DID, r->did);
        p[TR_OFF_A] = r->perm;
        st64(p + TR_OFF_IOVA, r->iova);
        st64(p + TR_OFF_PA, r->pa);
        st64(p + TR_OFF_SIZE, r->size);
        break;
    case IMS_REC_UNMAP:
        st16(p + TR_OFF_DID, r->did);
        st64(p + TR_OFF_IOVA, r->iova);
        st64(p + TR_OFF_SIZE, r->size);
        break;
    case IMS_REC_INV_IOTLB:
        p[TR_OFF_FLAGS] = r->flags & IMS_RECF_IH;
        p[TR_OFF_A] = r->gran;
        if (r->gran != IMS_INV_GLOBAL)
            st16(p + TR_OFF_DID, r->did);
        if (r->gran == IMS_INV_PAGE) {
            p[TR_OFF_B] = r->am;
            st64(p + TR_OFF_IOVA, r->iova);
        }
        break;
    case IMS_REC_INV_CTX:
        p[TR_OFF_A] = r->gran;
        if (r->gran != IMS_INV_GLOBAL)
            st16(p + TR_OFF_DID, r->did);
        if (r->gran == IMS_INV_DEVICE) {
            st16(p + TR_OFF_RID, r->rid);
            p[TR_OFF_B] = r->fm;
        }
        break;
    case IMS_REC_ATTACH:
        st16(p + TR_OFF_RID, r->rid);
        st16(p + TR_OFF_DID, r->did);
        p[TR_OFF_A] = r->levels;
        p[TR_OFF_B] = r->tt;
        st64(p + TR_OFF_PA, r->pa);
        break;
    case IMS_REC_DETACH:
        st16(p + TR_OFF_RID, r->rid);
        break;
    case IMS_REC_MARK:
        memcpy(p + TR_OFF_LABEL, r->label, strnlen(r->label, IMS_REC_LABEL_MAX - 1));
        break;
    }
}

/* Decodes one record into its canonical form (every field the kind does not
 * use is zero) and returns a quick verdict on the fields it uses.
 *
 * The quick verdict is never laxer than ims_rec_check(): true means
 * ims_rec_check() would accept the record; false means "ask ims_rec_check()",
 * which gives the verdict and the error message (so messages have a single
 * source). The common kinds are checked branch-light, the conditions OR-ed into one test.
 *
 * Word 0 is loaded once and split: kind [7:0], flags [15:8], rid [31:16],
 * did [47:32], a [55:48], b [63:56]. Every store goes through one compound
 * literal per kind, which zeroes the unused fields (and the MARK label)
 * without a separate memset. */
static inline bool rec_decode(const unsigned char *p, struct ims_rec *r)
{
    uint64_t w0 = ld64(p);
    unsigned kind = (unsigned)(w0 & 0xff);
    unsigned flags = (unsigned)(w0 >> 8) & 0xff;
    uint16_t rid = (uint16_t)(w0 >> 16);
    uint16_t did = (uint16_t)(w0 >> 32);
    unsigned a = (unsigned)(w0 >> 48) & 0xff;
    unsigned b = (unsigned)(w0 >> 56);
    uint64_t ts = ld64(p + TR_OFF_TS);
    const bool ts_ok = ts <= TR_TS_MAX; /* 2^64 - 1 refused in every form: ~0.5 % of a replay's instructions */
    switch (kind) {
    case IMS_REC_DMA: {
        /* The hot path: most records are DMA. */
        uint64_t iova = ld64(p + TR_OFF_IOVA);
        uint64_t size = ld32(p + TR_OFF_SIZE);
        uint32_t pasid = (flags & IMS_RECF_PASID) ? ld32(p + TR_OFF_PASID) : 0;
        unsigned reason = (flags & IMS_RECF_EXPECT_FAULT) ? a : 0;
        *r = (struct ims_rec){
            .ts = ts,
            .iova = iova,
            .pa = (flags & IMS_RECF_EXPECT_PA) ? ld64(p + TR_OFF_PA) : 0,
            .size = size,
            .pasid = pasid,
            .rid = rid,
            .kind = IMS_REC_DMA,
            .flags = (uint8_t)flags,
            .reason = (uint8_t)reason,
        };
        /* With the fault flag every reason but 0 is valid (a byte holds 1..255). */
        unsigned bad = (flags & ~TR_DMA_FLAGS_V2) |
                       ((flags & (IMS_RECF_EXPECT_PA | IMS_RECF_EXPECT_FAULT)) ==
                        (IMS_RECF_EXPECT_PA | IMS_RECF_EXPECT_FAULT)) |
                       (size == 0) | (iova + (size - 1) < iova) | (pasid > TR_PASID_MAX) |
                       (((flags & IMS_RECF_EXPECT_FAULT) != 0) & (a == 0)) | !ts_ok;
        return !bad;
    }
    case IMS_REC_MAP: {
        uint64_t size = ld64(p + TR_OFF_SIZE);
        *r = (struct ims_rec){
            .ts = ts,
            .iova = ld64(p + TR_OFF_IOVA),
            .pa = ld64(p + TR_OFF_PA),
            .size = size,
            .did = did,
            .kind = IMS_REC_MAP,
            .perm = (uint8_t)a,
        };
        return (a - 1u < 3u) & (size != 0) & ts_ok; /* perm r, w or rw */
    }
    case IMS_REC_UNMAP: {
        uint64_t size = ld64(p + TR_OFF_SIZE);
        *r = (struct ims_rec){
            .ts = ts,
            .iova = ld64(p + TR_OFF_IOVA),
            .size = size,
            .did = did,
            .kind = IMS_REC_UNMAP,
        };
        return (size != 0) & ts_ok;
    }
    case IMS_REC_INV_IOTLB: {
        bool page = a == IMS_INV_PAGE;
        *r = (struct ims_rec){
            .ts = ts,
            .iova = page ? ld64(p + TR_OFF_IOVA) : 0,
            .did = a != IMS_INV_GLOBAL ? did : 0,
            .kind = IMS_REC_INV_IOTLB,
            .flags = (uint8_t)flags,
            .gran = (uint8_t)a,
            .am = page ? (uint8_t)b : 0,
        };
        bool gran_ok = a == IMS_INV_GLOBAL || a == IMS_INV_DOMAIN || page;
        return gran_ok & !(flags & ~IMS_RECF_IH) & (!page | (b <= TR_AM_MAX)) & ts_ok;
    }
    case IMS_REC_INV_CTX: {
        bool dev = a == IMS_INV_DEVICE;
        *r = (struct ims_rec){
            .ts = ts,
            .rid = dev ? rid : 0,
            .did = a != IMS_INV_GLOBAL ? did : 0,
            .kind = IMS_REC_INV_CTX,
            .gran = (uint8_t)a,
            .fm = dev ? (uint8_t)b : 0,
        };
        bool gran_ok = a == IMS_INV_GLOBAL || a == IMS_INV_DOMAIN || dev;
        return gran_ok & (!dev | (b <= 3)) & ts_ok;
    }
    case IMS_REC_ATTACH:
        *r = (struct ims_rec){
            .ts = ts,
            .pa = ld64(p + TR_OFF_PA),
            .rid = rid,
            .did = did,
            .kind = IMS_REC_ATTACH,
            .levels = (uint8_t)a,
            .tt = (uint8_t)b,
        };
        return (a - 3u <= 2u) & (b <= 3) & ts_ok; /* levels 3..5, tt 0..3 */
    case IMS_REC_DETACH:
        *r = (struct ims_rec){.ts = ts, .rid = rid, .kind = IMS_REC_DETACH};
        return ts_ok;
    case IMS_REC_MARK:
        *r = (struct ims_rec){.ts = ts, .kind = IMS_REC_MARK};
        /* Up to the first NUL: the padding after it is ignored on reading
         * (docs/trace-format.md), so the record comes out canonical. */
        memcpy(r->label, p + TR_OFF_LABEL, strnlen((const char *)p + TR_OFF_LABEL, IMS_REC_LABEL_MAX));
        return false; /* rare: ims_rec_check() looks at the label */
    default:
        *r = (struct ims_rec){.ts = ts, .kind = (uint8_t)kind};
        return false; /* unknown kind */
    }
}

/* Out-of-line copies for the writer and ims_rec_canon(). */
void ims_tr_rec_encode(const struct ims_rec *rec, unsigned char *p)
{
    rec_encode(rec, p);
}

bool ims_tr_rec_decode(const unsigned char *p, struct ims_rec *rec)
{
    return rec_decode(p, rec);
}

/* ---- Batch decode (the reader's hot path) ---- */

int ims_tr_bin_rec_error(struct ims_trace_reader *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const uint64_t off = r->hdr.version >= 3 ? r->rec_off : ims_tr_bin_rec_offset(r, r->index);
    return ims_tr_rerr(r, "record %llu at byte offset %llu%s: %s", (unsigned long long)r->index,
                       (unsigned long long)off,
                       r->form == IMS_TRACE_BINARY_ZSTD ? " (decompressed)" : "", msg);
}

/* Slow path for a record rec_decode() did not pass: ims_rec_check() decides.
 * Returns true (and sets the reader's error, naming the record i places past
 * r->index) if the record is invalid. */
static bool rec_reject(struct ims_trace_reader *r, const struct ims_rec *rec, size_t i)
{
    char e[256];
    if (rec->kind > IMS_REC_MARK && rec->kind <= IMS_REC_KIND_MAX)
        snprintf(e, sizeof e, "unknown record kind %u in a version %u file (%s is a scalable-mode kind: version 3 only)",
                 rec->kind, r->hdr.version, ims_rec_kind_name(rec->kind));
    else if (ims_rec_check(rec, e, sizeof e) < 0)
        ; /* e says why */
    else if (ims_tr_rec_v3_only(rec))
        snprintf(e, sizeof e, "%s: %s in a version %u file (version 3 only)", ims_rec_kind_name(rec->kind),
                 ims_tr_rec_v3_only(rec), r->hdr.version);
    else
        return false;
    uint64_t index = r->index;
    r->index += i;
    ims_tr_bin_rec_error(r, "%s", e);
    r->index = index;
    return true;
}

/* The per-record loop lives here, beside rec_decode(), so that the decode is
 * inlined into it: the reader pays one call per buffered span of records, not
 * one per record. */
size_t ims_tr_bin_decode(struct ims_trace_reader *r, const unsigned char *p, size_t n, struct ims_rec *out)
{
    size_t i = 0;
    for (; i < n; i++)
        if (!rec_decode(p + i * TR_REC_SIZE, &out[i]) && rec_reject(r, &out[i], i))
            break;
    return i;
}

/* ---- Header: reading ---- */

struct hcur {
    const unsigned char *p;
    size_t left;
    bool bad;
    /* For the message: what is being read (an entry index, or -1), and at
     * the first failure its byte offset in the file and why. */
    const unsigned char *base;
    const char *what;
    long idx;
    size_t bad_at;
    const char *why;
    char whybuf[64];
};

static void hc_fail(struct hcur *c, const unsigned char *at, const char *why)
{
    if (!c->bad) {
        c->bad_at = (size_t)(at - c->base);
        c->why = why;
    }
    c->bad = true;
}

static const unsigned char *hc_take(struct hcur *c, size_t n)
{
    if (c->bad || c->left < n) {
        hc_fail(c, c->p, "runs past the end of the header");
        return NULL;
    }
    const unsigned char *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}
static uint8_t hc_u8(struct hcur *c)
{
    const unsigned char *p = hc_take(c, 1);
    return p ? p[0] : 0;
}
static uint16_t hc_u16(struct hcur *c)
{
    const unsigned char *p = hc_take(c, 2);
    return p ? ld16(p) : 0;
}
static uint32_t hc_u32(struct hcur *c)
{
    const unsigned char *p = hc_take(c, 4);
    return p ? ld32(p) : 0;
}
static void hc_str(struct hcur *c, char *dst, size_t cap)
{
    uint16_t n = hc_u16(c);
    const unsigned char *p = hc_take(c, n);
    dst[0] = 0;
    if (!p)
        return;
    if (n >= cap || memchr(p, 0, n)) {
        if (n >= cap)
            snprintf(c->whybuf, sizeof c->whybuf, "a string of %u bytes, longer than %zu", n, cap - 1);
        hc_fail(c, p - 2, n >= cap ? c->whybuf : "a string holding a NUL byte");
        return;
    }
    memcpy(dst, p, n);
    dst[n] = 0;
}

/* A count, then that many elements of at least `min_bytes` each: reads the
 * count, checks that it fits in what is left of the header, and allocates
 * the elements (zeroed; NULL for none). Sets *n; on failure sets the
 * reader's error (r->failed) and returns NULL. */
static void *hc_array(struct ims_trace_reader *r, struct hcur *c, const char *what, size_t min_bytes, size_t size,
                      uint32_t *n)
{
    *n = hc_u32(c);
    if (!c->bad && *n > c->left / min_bytes) {
        ims_tr_rerr(r, "header: %u %s do not fit in the header", *n, what);
        return NULL;
    }
    if (!*n)
        return NULL;
    void *a = calloc(*n, size);
    if (!a)
        ims_tr_rerr(r, "out of memory");
    return a;
}

/* The first bytes of a file, printable ones as they are and the rest as \xNN,
 * for "bad magic" messages. */
void ims_tr_fmt_bytes(char *out, size_t cap, const unsigned char *p, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && k + 5 < cap; i++) {
        if (p[i] >= ' ' && p[i] <= '~' && p[i] != '\\' && p[i] != '"')
            out[k++] = (char)p[i];
        else
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", p[i]);
    }
    out[k < cap ? k : cap - 1] = 0;
}

int ims_tr_bin_read_header(struct ims_trace_reader *r)
{
    long n = ims_tr_buf_want(r, TR_FIXED_HDR);
    if (n < 0)
        return -1;
    const unsigned char *p = r->buf;
    if ((size_t)n < TR_MAGIC_LEN || memcmp(p, TR_MAGIC, TR_MAGIC_LEN) != 0) {
        char got[48];
        ims_tr_fmt_bytes(got, sizeof got, p, (size_t)n < TR_MAGIC_LEN ? (size_t)n : TR_MAGIC_LEN);
        const bool ztext = r->form == IMS_TRACE_BINARY_ZSTD && (size_t)n >= 8 && !memcmp(p, "version ", 8);
        return ims_tr_rerr(r, "not an iommusim trace: bad magic \"%s\" (%s does not start with \"" TR_MAGIC "\"%s)",
                           got, r->form == IMS_TRACE_BINARY_ZSTD ? "the decompressed zstd stream" : "the file",
                           ztext ? "; it is a compressed text trace: text traces are read uncompressed" : "");
    }
    if ((size_t)n < 16)
        return ims_tr_rerr(r, "truncated header: %ld of %d fixed header bytes", n, TR_FIXED_HDR);
    uint32_t version = ld32(p + 8);
    if (version < 1 || version > IMS_TRACE_VERSION)
        return ims_tr_rerr(r, "unknown trace version %u (this reader knows versions 1 to %d)", version,
                           IMS_TRACE_VERSION);
    if ((size_t)n < TR_FIXED_HDR)
        return ims_tr_rerr(r, "truncated header: %ld of %d fixed header bytes", n, TR_FIXED_HDR);
    uint32_t hlen = ld32(p + 12);
    uint32_t rsize = ld32(p + 16);
    uint32_t flags = version >= 2 ? ld32(p + 20) : 0; /* version 1: reserved, never looked at */
    const uint32_t hmin = TR_FIXED_HDR + (version >= 2 ? 4 : 0);
    if (hlen < hmin || hlen > TR_HDR_MAX)
        return ims_tr_rerr(r, "header length %u out of range (%u..%u)", hlen, hmin, TR_HDR_MAX);
    if (version >= 3 && rsize != 0)
        return ims_tr_rerr(r, "record size %u not supported (version 3 records vary in length: the field is 0)",
                           rsize);
    if (version < 3 && rsize != TR_REC_SIZE)
        return ims_tr_rerr(r, "record size %u not supported (version %u records are %d bytes)", rsize, version,
                           TR_REC_SIZE);
    if (version < 3 && (flags & TR_HFLAG_SCALABLE))
        return ims_tr_rerr(r, "header flags 0x%x at byte offset 20: flag 0x%x (scalable mode) needs version 3, this file "
                              "is version %u",
                           flags, TR_HFLAG_SCALABLE, version);
    if (flags & ~(TR_HFLAG_BLOCKS | TR_HFLAG_SCALABLE))
        return ims_tr_rerr(r, "header flags 0x%x at byte offset 20 have unknown bits (this reader knows 0x%x)", flags,
                           TR_HFLAG_BLOCKS | TR_HFLAG_SCALABLE);
    if (version >= 3 && !(flags & TR_HFLAG_BLOCKS))
        return ims_tr_rerr(r, "header flags 0x%x at byte offset 20: version 3 records are always in blocks (0x%x)",
                           flags, TR_HFLAG_BLOCKS);
    n = ims_tr_buf_want(r, hlen);
    if (n < 0)
        return -1;
    if ((size_t)n < hlen)
        return ims_tr_rerr(r, "truncated header: %ld of %u header bytes", n, hlen);
    if (version >= 2) {
        uint32_t want = ld32(r->buf + hlen - 4);
        uint32_t got = (uint32_t)crc32(0L, r->buf, hlen - 4);
        if (want != got)
            return ims_tr_rerr(r,
                               "header checksum mismatch: the CRC-32 at byte offset %u is 0x%08x, the header's bytes "
                               "0..%u give 0x%08x (the header is corrupt)",
                               hlen - 4, want, hlen - 5, got);
    }
    r->hdr_len = hlen;
    r->rec_size = rsize;
    r->hdr.version = version;
    r->blocks = (flags & TR_HFLAG_BLOCKS) != 0;
    r->hdr.scalable = (flags & TR_HFLAG_SCALABLE) != 0;

    struct hcur c = {.p = r->buf + TR_FIXED_HDR, .left = hlen - hmin, .base = r->buf, .what = "creator", .idx = -1};
    hc_str(&c, r->hdr.creator, sizeof r->hdr.creator);
    c.what = "source";
    hc_str(&c, r->hdr.source, sizeof r->hdr.source);
    c.what = "bridge count";
    uint32_t nb;
    r->hdr.topo.bridges = hc_array(r, &c, "bridges", 8, sizeof *r->hdr.topo.bridges, &nb);
    if (r->failed)
        return -1;
    r->hdr.topo.n_bridges = (int)nb;
    for (uint32_t i = 0; i < nb && !c.bad; i++) {
        struct ims_bridge *b = &r->hdr.topo.bridges[i];
        c.what = "bridge", c.idx = (long)i;
        hc_str(&c, b->name, sizeof b->name);
        b->bdf = hc_u16(&c);
        b->secondary_bus = hc_u8(&c);
        b->kind = hc_u8(&c);
        b->parent = (int32_t)hc_u32(&c);
    }
    c.what = "device count", c.idx = -1;
    uint32_t nd;
    r->hdr.topo.devices = hc_array(r, &c, "devices", 6, sizeof *r->hdr.topo.devices, &nd);
    if (r->failed)
        return -1;
    r->hdr.topo.n_devices = (int)nd;
    for (uint32_t i = 0; i < nd && !c.bad; i++) {
        struct ims_device *d = &r->hdr.topo.devices[i];
        c.what = "device", c.idx = (long)i;
        hc_str(&c, d->name, sizeof d->name);
        d->bdf = hc_u16(&c);
        d->bridge = (int32_t)hc_u32(&c);
    }
    if (c.bad) {
        char idx[24] = "";
        if (c.idx >= 0)
            snprintf(idx, sizeof idx, " %ld", c.idx);
        return ims_tr_rerr(r, "header: %s%s at byte offset %zu: %s (the header is %u bytes)", c.what, idx, c.bad_at,
                           c.why ? c.why : "malformed", hlen);
    }
    char e[256];
    if (ims_tr_hdr_check(&r->hdr, e, sizeof e) < 0)
        return ims_tr_rerr(r, "%s", e);
    r->pos = hlen;
    return 0;
}

/* ---- Header: writing ---- */

static void hb_u8(unsigned char **p, uint8_t v)
{
    *(*p)++ = v;
}
static void hb_u16(unsigned char **p, uint16_t v)
{
    st16(*p, v);
    *p += 2;
}
static void hb_u32(unsigned char **p, uint32_t v)
{
    st32(*p, v);
    *p += 4;
}
static void hb_str(unsigned char **p, const char *s)
{
    size_t n = strlen(s);
    hb_u16(p, (uint16_t)n);
    memcpy(*p, s, n);
    *p += n;
}

int ims_tr_bin_write_header(struct ims_trace_writer *w, const struct ims_trace_hdr *h)
{
    const struct ims_topo *t = &h->topo;
    size_t max = TR_FIXED_HDR + 2 * (2 + IMS_TRACE_TEXT_MAX) + 8 + 4 +
                 (size_t)t->n_bridges * (2 + IMS_TOPO_NAME_MAX + 8) + (size_t)t->n_devices * (2 + IMS_TOPO_NAME_MAX + 6);
    unsigned char *hb = malloc(max);
    if (!hb)
        return ims_tr_werr(w, "out of memory");
    unsigned char *p = hb;
    memcpy(p, TR_MAGIC, TR_MAGIC_LEN);
    p += TR_MAGIC_LEN;
    hb_u32(&p, w->version);
    hb_u32(&p, 0); /* header length, patched below */
    hb_u32(&p, w->version >= 3 ? 0 : TR_REC_SIZE);
    /* Version 2: blocks in the uncompressed form only: zstd's content
     * checksum covers the compressed one, and a CRC-32 per 40-byte record
     * block would double its read cost. Version 3: blocks in both forms (the
     * block is what the compact records' predictions restart at; its CRC-32
     * covers a quarter of the bytes). */
    w->blocks = w->form == IMS_TRACE_BINARY || w->version >= 3;
    hb_u32(&p, (w->blocks ? TR_HFLAG_BLOCKS : 0) | (h->scalable ? TR_HFLAG_SCALABLE : 0));
    hb_str(&p, h->creator);
    hb_str(&p, h->source);
    hb_u32(&p, (uint32_t)t->n_bridges);
    for (int i = 0; i < t->n_bridges; i++) {
        hb_str(&p, t->bridges[i].name);
        hb_u16(&p, t->bridges[i].bdf);
        hb_u8(&p, t->bridges[i].secondary_bus);
        hb_u8(&p, t->bridges[i].kind);
        hb_u32(&p, (uint32_t)t->bridges[i].parent);
    }
    hb_u32(&p, (uint32_t)t->n_devices);
    for (int i = 0; i < t->n_devices; i++) {
        hb_str(&p, t->devices[i].name);
        hb_u16(&p, t->devices[i].bdf);
        hb_u32(&p, (uint32_t)t->devices[i].bridge);
    }
    size_t hlen = (size_t)(p - hb) + 4; /* and the CRC-32 */
    if (hlen > TR_HDR_MAX) {
        free(hb);
        return ims_tr_werr(w, "header too large (%zu bytes)", hlen);
    }
    st32(hb + 12, (uint32_t)hlen);
    st32(hb + hlen - 4, (uint32_t)crc32(0L, hb, (uInt)(hlen - 4)));
    int rc = ims_tr_w_bytes(w, hb, hlen);
    free(hb);
    return rc;
}

/* ---- Blocks (version 2) ----
 *
 * Block check, 40 bytes, after every TR_BLK_RECS records and after the last
 * (possibly empty) run of fewer:
 *  [7:0]    "IMSBLOCK"
 *  [11:8]   records in the block (TR_BLK_RECS, or 0..TR_BLK_RECS-1 in the last)
 *  [15:12]  flags: bit 0 the last block
 *  [23:16]  block index, from 0
 *  [27:24]  CRC-32 of the block's record bytes
 *  [39:28]  zero
 * Every field is checked on reading, so a flip anywhere in a block (its
 * records or its check) is found before any of its records is returned. */
#define TR_BLK_OFF_N     8
#define TR_BLK_OFF_FLAGS 12
#define TR_BLK_OFF_INDEX 16
#define TR_BLK_OFF_CRC   24
#define TR_BLK_OFF_PAD   28
_Static_assert(TR_BLK_OFF_PAD + 12 == TR_BLK_CHECK, "block check layout: 40 bytes");
_Static_assert(TR_BLK_RECS * TR_REC_SIZE + TR_BLK_CHECK <= TR_BUF_SIZE, "a whole block fits in the reader's buffer");

uint64_t ims_tr_bin_rec_offset(const struct ims_trace_reader *r, uint64_t index)
{
    return r->hdr_len + index * TR_REC_SIZE + (r->blocks ? index / TR_BLK_RECS * TR_BLK_CHECK : 0);
}

static int block_check(struct ims_trace_writer *w, bool last)
{
    unsigned char c[TR_BLK_CHECK];
    memset(c, 0, sizeof c);
    memcpy(c, TR_BLK_TAG, 8);
    st32(c + TR_BLK_OFF_N, w->blk_n);
    st32(c + TR_BLK_OFF_FLAGS, last ? TR_BLK_LAST : 0);
    st64(c + TR_BLK_OFF_INDEX, w->blk_index);
    st32(c + TR_BLK_OFF_CRC, w->blk_crc);
    w->blk_n = 0;
    w->blk_crc = 0; /* crc32()'s initial value */
    w->blk_index++;
    return ims_tr_w_bytes(w, c, sizeof c);
}

int ims_tr_bin_block_add(struct ims_trace_writer *w, const unsigned char *rec)
{
    if (!w->blocks || w->version >= 3)
        return 0;
    w->blk_crc = (uint32_t)crc32(w->blk_crc, rec, TR_REC_SIZE);
    if (++w->blk_n == TR_BLK_RECS)
        return block_check(w, false);
    return 0;
}

int ims_tr_bin_write_end(struct ims_trace_writer *w)
{
    if (w->version >= 3)
        return ims_tr_v3_write_end(w);
    if (!w->blocks)
        return 0;
    return block_check(w, true);
}

/* Error about block r->blk_index, which starts at byte offset `off` (versions 2 and 3). */
int ims_tr_block_error(struct ims_trace_reader *r, uint64_t off, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ims_tr_rerr(r, "block %llu (records from %llu) at byte offset %llu%s: %s", (unsigned long long)r->blk_index,
                       (unsigned long long)r->index, (unsigned long long)off,
                       r->form == IMS_TRACE_BINARY_ZSTD ? " (decompressed)" : "", msg);
}

int ims_tr_bin_next_block(struct ims_trace_reader *r)
{
    const size_t full = TR_BLK_RECS * TR_REC_SIZE + TR_BLK_CHECK;
    const uint64_t off = ims_tr_bin_rec_offset(r, r->index);
    r->blk_left = 0;
    if (r->blk_last) {
        long got = ims_tr_buf_want(r, 1);
        if (got < 0)
            return -1;
        if (got > 0)
            return ims_tr_rerr(r, "byte offset %llu%s: data after the last block (%s)", (unsigned long long)off,
                               r->form == IMS_TRACE_BINARY_ZSTD ? " (decompressed)" : "",
                               got >= 8 && !memcmp(r->buf + r->pos, TR_BLK_TAG, 8) ? "another block check"
                                                                                  : "the file is corrupt");
        return 0;
    }
    long got = ims_tr_buf_want(r, full);
    if (got < 0)
        return -1;
    if (got == 0 && r->blk_index == 0)
        return ims_tr_block_error(r, off, "missing: the file ends after its header, without the block check a version 2 "
                                   "file ends with (the file is truncated)");
    if (got == 0)
        return ims_tr_block_error(r, off,
                           "missing: the file ends after block %llu, which is not the last (the file is truncated)",
                           (unsigned long long)r->blk_index - 1);
    size_t n;
    if ((size_t)got >= full) {
        n = TR_BLK_RECS;
    } else if ((size_t)got % TR_REC_SIZE == 0) {
        n = (size_t)got / TR_REC_SIZE - 1;
    } else {
        return ims_tr_block_error(r, off,
                           "truncated: the file ends %ld bytes into the block, inside a record or the block check "
                           "(a block is up to %u records of %d bytes and a %u-byte check)",
                           got, TR_BLK_RECS, TR_REC_SIZE, TR_BLK_CHECK);
    }
    const unsigned char *p = r->buf + r->pos, *c = p + n * TR_REC_SIZE;
    const uint64_t coff = off + n * TR_REC_SIZE;
    if (n < TR_BLK_RECS && memcmp(c, TR_BLK_TAG, 8) == 0 && ld32(c + TR_BLK_OFF_N) != n) {
        /* The end holds a check, but not this block's: if a last block's
         * check comes earlier, something was appended after it. */
        for (size_t k = 0; k < n; k++) {
            const unsigned char *e = p + k * TR_REC_SIZE;
            if (!memcmp(e, TR_BLK_TAG, 8) && ld32(e + TR_BLK_OFF_N) == k &&
                ld32(e + TR_BLK_OFF_FLAGS) == TR_BLK_LAST)
                return ims_tr_rerr(r, "byte offset %llu%s: data after the last block (%zu bytes)",
                                   (unsigned long long)(off + (k + 1) * TR_REC_SIZE),
                                   r->form == IMS_TRACE_BINARY_ZSTD ? " (decompressed)" : "",
                                   (n - k) * TR_REC_SIZE);
        }
    }
    if (memcmp(c, TR_BLK_TAG, 8) != 0)
        return ims_tr_block_error(r, off,
                           "no block check at byte offset %llu after %zu records (expected \"" TR_BLK_TAG
                           "\"): the file is truncated or corrupt",
                           (unsigned long long)coff, n);
    uint32_t cn = ld32(c + TR_BLK_OFF_N), cflags = ld32(c + TR_BLK_OFF_FLAGS);
    uint64_t cindex = ld64(c + TR_BLK_OFF_INDEX);
    bool pad0 = ld64(c + TR_BLK_OFF_PAD) == 0 && ld32(c + TR_BLK_OFF_PAD + 8) == 0;
    bool last = n < TR_BLK_RECS;
    if (cn != n || cflags != (last ? TR_BLK_LAST : 0) || cindex != r->blk_index || !pad0)
        return ims_tr_block_error(r, off,
                           "the block check at byte offset %llu is corrupt: it says %u records, flags 0x%x, block "
                           "%llu%s; expected %zu records, flags 0x%x, block %llu",
                           (unsigned long long)coff, cn, cflags, (unsigned long long)cindex,
                           pad0 ? "" : ", non-zero padding", n, last ? TR_BLK_LAST : 0,
                           (unsigned long long)r->blk_index);
    uint32_t want = ld32(c + TR_BLK_OFF_CRC), have = (uint32_t)crc32(0L, p, (uInt)(n * TR_REC_SIZE));
    if (want != have)
        return ims_tr_block_error(r, off,
                           "checksum mismatch in records %llu..%llu (bytes %llu..%llu): the block check says CRC-32 "
                           "0x%08x, the bytes give 0x%08x (the file is corrupt)",
                           (unsigned long long)r->index, (unsigned long long)(r->index + n - 1),
                           (unsigned long long)off, (unsigned long long)(coff - 1), want, have);
    r->blk_last = last;
    r->blk_left = (uint32_t)n;
    if (n == 0) { /* an empty last block: step over its check */
        r->pos += TR_BLK_CHECK;
        r->blk_index++;
    }
    return 0;
}
