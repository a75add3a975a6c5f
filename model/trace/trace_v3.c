/* Binary trace version 3: compact records in checked blocks
 * (docs/trace-format.md, "Version 3"). The header is version 2's (version
 * 3, record size 0, flags TR_HFLAG_BLOCKS); then blocks, each a 32-byte
 * block header and a payload of up to TR3_BLK_RECS variable-length records.
 *
 * Block header, 32 bytes, little-endian:
 *  [3:0]    "IMB3"
 *  [7:4]    records in the block (0..TR3_BLK_RECS)
 *  [11:8]   payload bytes (at most TR3_PAYLOAD_MAX)
 *  [15:12]  flags: bit 0 the last block (no other bits)
 *  [23:16]  block index, from 0
 *  [27:24]  CRC-32 of the payload
 *  [31:28]  CRC-32 of bytes 0..27
 *
 * A record is a tag byte (kind in bits 3..0, kind-specific bits 7..4), then
 * the fields its kind and tag need: LEB128 varints (unsigned; signed ones
 * zigzag-coded), and rid, sid and did as 2 little-endian bytes. ts is the
 * zigzag delta from the previous record's ts in the block; a DMA's iova the
 * zigzag delta from where the same device's previous DMA ended. Every
 * prediction starts from zero at each block (struct tr3_state), so a block
 * decodes on its own. Readers rebuild exactly the canonical record version 2
 * gives (fields a kind does not use are zero).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "iommusim/iommu.h"
#include "iommusim/vtd.h"
#include "trace_impl.h"

/* Tag bits 7..4 per kind. */
#define T3_DMA_W     0x10u /* write */
#define T3_DMA_RID   0x20u /* rid follows (else the previous DMA's) */
#define T3_DMA_SIZE  0x40u /* size follows (else the device's previous DMA's) */
#define T3_DMA_EXT   0x80u /* an extension byte follows: T3_X_* */
#define T3_X_PASID   0x01u
#define T3_X_PA      0x02u
#define T3_X_FAULT   0x04u
#define T3_X_PRIV    0x08u /* scalable mode: supervisor request */
#define T3_X_EXEC    0x10u /* execute request */
#define T3_X_AT      0x20u /* ATS translated request */
#define T3_X_ALL     (T3_X_PASID | T3_X_PA | T3_X_FAULT | T3_X_PRIV | T3_X_EXEC | T3_X_AT)
_Static_assert(T3_X_PASID << 1 == IMS_RECF_PASID && T3_X_PA << 1 == IMS_RECF_EXPECT_PA &&
                   T3_X_FAULT << 1 == IMS_RECF_EXPECT_FAULT && T3_X_PRIV << 2 == IMS_RECF_PRIV &&
                   T3_X_EXEC << 2 == IMS_RECF_EXEC && T3_X_AT << 2 == IMS_RECF_AT_TRANSLATED,
               "rec3_decode() shifts the DMA extension bits into place");
#define T3_MAP_PERM  0x30u /* MAP: perm in bits 5..4 */
#define T3_MAP_DID   0x40u /* MAP, UNMAP: did follows (else the previous MAP/UNMAP's) */
#define T3_PGR_PASID 0x10u /* PGRESP: pasid follows */
#define T3_ATT_FLAGS 0x70u /* ATTACH: IMS_RECF_SM, _DTE, _PRE in bits 6..4; SM: pasid follows the root */
#define T3_INV_IH    0x10u /* INV_IOTLB, INV_PASID */

#define T3_OFF_N     4
#define T3_OFF_LEN   8
#define T3_OFF_FLAGS 12
#define T3_OFF_INDEX 16
#define T3_OFF_CRC   24
#define T3_OFF_HCRC  28
_Static_assert(T3_OFF_HCRC + 4 == TR3_BLK_HDR, "v3 block header: 32 bytes");
_Static_assert(TR3_BLK_HDR + TR3_PAYLOAD_MAX <= TR_BUF_SIZE, "a whole v3 block fits in the reader's buffer");
/* The longest record a writer makes: DMA tag, ext, rid, ts, iova (10 each),
 * size (5), pasid (3), pa (10), reason. */
_Static_assert(1 + 1 + 2 + 10 + 10 + 5 + 3 + 10 + 1 <= TR3_REC_MAX, "TR3_REC_MAX covers the longest record");

static inline unsigned dev_slot(uint16_t rid)
{
    return (rid ^ (rid >> 6) ^ (rid >> 12)) & (TR3_DEVS - 1);
}

static inline uint64_t zz(uint64_t d) /* two's-complement difference -> zigzag */
{
    return (d << 1) ^ (uint64_t)-(int64_t)(d >> 63);
}
static inline uint64_t unzz(uint64_t v)
{
    return (v >> 1) ^ (uint64_t)-(int64_t)(v & 1);
}

/* A DMA's expected pa, predicted: from the translation slot of its iova
 * page (filled by MAPs and earlier expected pas), else the previous one. */
static inline uint64_t pa_pred(const struct tr3_state *s, uint64_t iova)
{
    const unsigned k = (unsigned)(iova >> 12) & (TR3_XL - 1);
    return s->xl_page[k] == (iova >> 12) + 1 ? s->xl_pa[k] + (iova & 0xfff) : s->pa;
}
static inline void xl_fill(struct tr3_state *s, uint64_t iova, uint64_t pa)
{
    const unsigned k = (unsigned)(iova >> 12) & (TR3_XL - 1);
    s->xl_page[k] = (iova >> 12) + 1;
    s->xl_pa[k] = pa - (iova & 0xfff);
}
/* A MAP's pages (the first 16) into the translation slots. */
static inline void xl_map(struct tr3_state *s, uint64_t iova, uint64_t pa, uint64_t size)
{
    const uint64_t pages = size >= (16u << 12) ? 16 : (size + 4095) >> 12;
    for (uint64_t i = 0; i < pages; i++)
        xl_fill(s, iova + (i << 12), pa + (i << 12));
}
/* A MAP's or UNMAP's iova, predicted: where the previous one of the same
 * kind ended, else the previous control record's address (an unmap, its
 * invalidation and the map that reuses the page share one). */
static inline uint64_t ctl_pred(const struct tr3_state *s, unsigned kind)
{
    return s->ctl_kind == kind ? s->ctl_end : s->ctl_iova;
}
static inline void ctl_set(struct tr3_state *s, unsigned kind, uint64_t iova, uint64_t end)
{
    s->ctl_kind = kind;
    s->ctl_iova = iova;
    s->ctl_end = end;
}

/* ---- Writer ---- */

static unsigned char *put_uv(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static unsigned char *put16(unsigned char *p, uint16_t v)
{
    st16(p, v);
    return p + 2;
}

/* Encodes rec at p (at most TR3_REC_MAX bytes), updating the prediction
 * state s; returns the end. */
static unsigned char *rec3_encode(struct tr3_state *s, const struct ims_rec *r, unsigned char *p)
{
    unsigned char *tag = p++;
    unsigned t = r->kind;
    const uint64_t dts = zz(r->ts - s->ts);
    s->ts = r->ts;
    switch (r->kind) {
    case IMS_REC_DMA: {
        struct tr3_dev *d = &s->dev[dev_slot(r->rid)];
        if (d->rid != r->rid)
            *d = (struct tr3_dev){.rid = r->rid};
        unsigned x = ((r->flags & IMS_RECF_PASID) ? T3_X_PASID : 0) | ((r->flags & IMS_RECF_EXPECT_PA) ? T3_X_PA : 0) |
                     ((r->flags & IMS_RECF_EXPECT_FAULT) ? T3_X_FAULT : 0) | ((r->flags & IMS_RECF_PRIV) ? T3_X_PRIV : 0) |
                     ((r->flags & IMS_RECF_EXEC) ? T3_X_EXEC : 0) | ((r->flags & IMS_RECF_AT_TRANSLATED) ? T3_X_AT : 0);
        t |= (r->flags & IMS_RECF_WRITE) ? T3_DMA_W : 0;
        t |= r->rid != s->rid ? T3_DMA_RID : 0;
        t |= r->size != d->size ? T3_DMA_SIZE : 0;
        t |= x ? T3_DMA_EXT : 0;
        if (x)
            *p++ = (unsigned char)x;
        if (t & T3_DMA_RID)
            p = put16(p, r->rid);
        p = put_uv(p, dts);
        p = put_uv(p, zz(r->iova - d->iova_next));
        if (t & T3_DMA_SIZE)
            p = put_uv(p, r->size);
        if (x & T3_X_PASID)
            p = put_uv(p, r->pasid);
        if (x & T3_X_PA) {
            p = put_uv(p, zz(r->pa - pa_pred(s, r->iova)));
            s->pa = r->pa;
            xl_fill(s, r->iova, r->pa);
        }
        if (x & T3_X_FAULT)
            *p++ = r->reason;
        s->rid = r->rid;
        d->iova_next = r->iova + r->size;
        d->size = (uint32_t)r->size;
        break;
    }
    case IMS_REC_MAP:
    case IMS_REC_UNMAP: {
        const bool map = r->kind == IMS_REC_MAP;
        if (map)
            t |= (unsigned)r->perm << 4;
        t |= r->did != s->did ? T3_MAP_DID : 0;
        if (t & T3_MAP_DID)
            p = put16(p, r->did);
        p = put_uv(p, dts);
        p = put_uv(p, zz(r->iova - ctl_pred(s, r->kind)));
        ctl_set(s, r->kind, r->iova, r->iova + r->size);
        if (map) {
            p = put_uv(p, zz(r->pa - s->map_pa));
            s->map_pa = r->pa + r->size;
            xl_map(s, r->iova, r->pa, r->size);
        }
        p = put_uv(p, r->size);
        s->did = r->did;
        break;
    }
    case IMS_REC_INV_IOTLB:
        t |= (r->flags & IMS_RECF_IH) ? T3_INV_IH : 0;
        p = put_uv(p, dts);
        *p++ = r->gran;
        if (r->gran != IMS_INV_GLOBAL)
            p = put16(p, r->did);
        if (r->gran == IMS_INV_PAGE) {
            *p++ = r->am;
            p = put_uv(p, zz(r->iova - s->ctl_iova));
            ctl_set(s, IMS_REC_INV_IOTLB, r->iova, r->iova);
        }
        break;
    case IMS_REC_INV_CTX:
        p = put_uv(p, dts);
        *p++ = r->gran;
        if (r->gran != IMS_INV_GLOBAL)
            p = put16(p, r->did);
        if (r->gran == IMS_INV_DEVICE) {
            p = put16(p, r->rid);
            *p++ = r->fm;
        }
        break;
    case IMS_REC_ATTACH:
        p = put_uv(p, dts);
        p = put16(p, r->rid);
        p = put16(p, r->did);
        *p++ = r->levels;
        *p++ = r->tt;
        p = put_uv(p, r->pa);
        if (r->flags & IMS_RECF_SM) {
            t |= (unsigned)(r->flags & TR_ATTACH_FLAGS) << 4;
            p = put_uv(p, r->pasid);
        }
        break;
    case IMS_REC_DETACH:
        p = put_uv(p, dts);
        p = put16(p, r->rid);
        break;
    case IMS_REC_MARK: {
        p = put_uv(p, dts);
        size_t n = strnlen(r->label, IMS_REC_LABEL_MAX - 1);
        *p++ = (unsigned char)n;
        memcpy(p, r->label, n);
        p += n;
        break;
    }
    case IMS_REC_VM:
        p = put_uv(p, dts);
        *p++ = r->vm;
        *p++ = r->levels;
        p = put_uv(p, r->pa);
        p = put_uv(p, r->size);
        break;
    case IMS_REC_PROC:
        p = put_uv(p, dts);
        *p++ = r->pid;
        *p++ = r->levels;
        *p++ = r->vm;
        break;
    case IMS_REC_PMAP:
    case IMS_REC_PUNMAP:
        if (r->kind == IMS_REC_PMAP)
            t |= (unsigned)r->perm << 4;
        p = put_uv(p, dts);
        *p++ = r->pid;
        p = put_uv(p, r->iova);
        if (r->kind == IMS_REC_PMAP)
            p = put_uv(p, r->pa);
        p = put_uv(p, r->size);
        break;
    case IMS_REC_BIND:
        t |= (unsigned)r->flags << 4;
        p = put_uv(p, dts);
        p = put16(p, r->rid);
        p = put_uv(p, r->pasid);
        if (!(r->flags & IMS_RECF_UNBIND)) {
            if (!(r->flags & (IMS_RECF_SL | IMS_RECF_PT)))
                *p++ = r->pid;
            p = put16(p, r->did);
        }
        break;
    case IMS_REC_INV_PASID:
        t |= (r->flags & IMS_RECF_IH) ? T3_INV_IH : 0;
        p = put_uv(p, dts);
        *p++ = r->target;
        if (r->target == IMS_PINV_T_PASID_CACHE || r->target == IMS_PINV_T_PIOTLB) {
            *p++ = r->gran;
            if (r->gran != IMS_PINV_GLOBAL)
                p = put16(p, r->did);
            if (r->gran == IMS_PINV_PASID || r->gran == IMS_PINV_PAGE)
                p = put_uv(p, r->pasid);
            if (r->gran == IMS_PINV_PAGE) {
                *p++ = r->am;
                p = put_uv(p, r->iova);
            }
        } else {
            p = put16(p, r->rid);
            if (r->target == IMS_PINV_T_PASID_DEVTLB)
                p = put_uv(p, r->pasid);
            p = put_uv(p, r->iova);
            p = put_uv(p, r->size);
        }
        break;
    case IMS_REC_PGRESP:
        t |= (r->flags & IMS_RECF_PASID) ? T3_PGR_PASID : 0;
        p = put_uv(p, dts);
        p = put16(p, r->rid);
        if (r->flags & IMS_RECF_PASID)
            p = put_uv(p, r->pasid);
        p = put16(p, r->prg);
        *p++ = r->resp;
        break;
    }
    *tag = (unsigned char)t;
    return p;
}

static int block3_emit(struct ims_trace_writer *w, bool last)
{
    unsigned char h[TR3_BLK_HDR];
    memcpy(h, TR3_BLK_TAG, 4);
    st32(h + T3_OFF_N, w->blk_n);
    st32(h + T3_OFF_LEN, (uint32_t)w->blk3_len);
    st32(h + T3_OFF_FLAGS, last ? TR_BLK_LAST : 0);
    st64(h + T3_OFF_INDEX, w->blk_index);
    st32(h + T3_OFF_CRC, (uint32_t)crc32(0L, w->blk3, (uInt)w->blk3_len));
    st32(h + T3_OFF_HCRC, (uint32_t)crc32(0L, h, T3_OFF_HCRC));
    if (ims_tr_w_bytes(w, h, sizeof h) < 0 || ims_tr_w_bytes(w, w->blk3, w->blk3_len) < 0)
        return -1;
    w->blk_n = 0;
    w->blk3_len = 0;
    w->blk_index++;
    memset(&w->st3, 0, sizeof w->st3);
    return 0;
}

int ims_tr_v3_write_rec(struct ims_trace_writer *w, const struct ims_rec *rec)
{
    if (!w->blk3) {
        w->blk3 = malloc(TR3_PAYLOAD_MAX);
        if (!w->blk3)
            return ims_tr_werr(w, "out of memory");
    }
    /* A full block is written when the next record comes, so that only an
     * empty trace ends with an empty (last) block. */
    if (w->blk_n == TR3_BLK_RECS && block3_emit(w, false) < 0)
        return -1;
    unsigned char *end = rec3_encode(&w->st3, rec, w->blk3 + w->blk3_len);
    w->blk3_len = (size_t)(end - w->blk3);
    w->blk_n++;
    return 0;
}

int ims_tr_v3_write_end(struct ims_trace_writer *w)
{
    if (!w->blk3) {
        w->blk3 = malloc(1);
        if (!w->blk3)
            return ims_tr_werr(w, "out of memory");
    }
    return block3_emit(w, true);
}

/* ---- CRC-32 of a block's payload ----
 *
 * zlib's crc32() costs ~3.9 instructions per byte, 9 % of reading a v3
 * .itr.zst (34 instructions per record). On x86-64 with PCLMULQDQ the
 * payload is instead folded 64 bytes at a time by carry-less
 * multiplication, and zlib finishes the last 16..31 bytes; the result is
 * crc32(0, p, n) bit for bit (tests/trace/test_trace_v3.c checks lengths
 * 0..700 at every alignment against zlib).
 *
 * The algebra (reflected CRC-32, polynomial P = 0x104C11DB7): bit i of a
 * 16-byte register R, loaded little-endian, is the coefficient of
 * x^(127 - i), so R = L x^64 + H (L its low 8 bytes, the earlier ones).
 * crc32(0, M) is ~((M' x^32) mod P), M' being M with its first 4 bytes
 * inverted. Moving R over the d bits that follow it, R x^d = L x^(d+64)
 * + H x^d, is congruent mod P to L k(d+64) + H k(d) with k(e) = x^e mod P
 * (32 bits); a carry-less product of two such bit-reversed 64-bit words
 * comes out one degree low, so the constants are x^(e-1) mod P, bit
 * reversed. Four registers fold over 512 bits each round, then into one
 * over 128 bits; what is left (that register and the last n % 16 bytes)
 * has the same remainder as M', which crc32(~0, ...) = ~((. x^32) mod P)
 * turns into the CRC. */

/* x^e mod P, bit d the coefficient of x^d, bit reversed into a 64-bit word. */
static uint64_t crc_k(unsigned e)
{
    uint64_t r = 1, v = 0;
    for (unsigned i = 0; i < e; i++) {
        r <<= 1;
        if (r >> 32)
            r ^= 0x104C11DB7ull;
    }
    for (unsigned i = 0; i < 64; i++)
        v |= ((r >> i) & 1) << (63 - i);
    return v;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TR3_CRC_CLMUL 1

/* R moved over the k's distance and added to d. */
__attribute__((target("pclmul"))) static inline __m128i crc_fold(__m128i r, __m128i k, __m128i d)
{
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(r, k, 0x00), _mm_clmulepi64_si128(r, k, 0x11)), d);
}

/* crc32(0, p, n) for n >= 64. */
__attribute__((target("pclmul"))) static uint32_t crc_clmul(const uint64_t k[4], const unsigned char *p, size_t n)
{
    const __m128i k512 = _mm_set_epi64x((long long)k[1], (long long)k[0]);
    const __m128i k128 = _mm_set_epi64x((long long)k[3], (long long)k[2]);
    __m128i r0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128(-1));
    __m128i r1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i r2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i r3 = _mm_loadu_si128((const __m128i *)(p + 48));
    for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
        r0 = crc_fold(r0, k512, _mm_loadu_si128((const __m128i *)p));
        r1 = crc_fold(r1, k512, _mm_loadu_si128((const __m128i *)(p + 16)));
        r2 = crc_fold(r2, k512, _mm_loadu_si128((const __m128i *)(p + 32)));
        r3 = crc_fold(r3, k512, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    r1 = crc_fold(r0, k128, r1);
    r2 = crc_fold(r1, k128, r2);
    r3 = crc_fold(r2, k128, r3);
    for (; n >= 16; p += 16, n -= 16)
        r3 = crc_fold(r3, k128, _mm_loadu_si128((const __m128i *)p));
    unsigned char b[16];
    _mm_storeu_si128((__m128i *)b, r3);
    return (uint32_t)crc32(crc32(0xffffffffUL, b, 16), p, (uInt)n);
}
#endif

uint32_t ims_tr_crc32(struct ims_tr_crc *c, const unsigned char *p, size_t n)
{
#ifdef TR3_CRC_CLMUL
    if (!c->ready) {
        c->clmul = __builtin_cpu_supports("pclmul");
        c->k[0] = crc_k(512 + 64 - 1);
        c->k[1] = crc_k(512 - 1);
        c->k[2] = crc_k(128 + 64 - 1);
        c->k[3] = crc_k(128 - 1);
        c->ready = true;
    }
    if (c->clmul && n >= 64)
        return crc_clmul(c->k, p, n);
#else
    (void)c;
    (void)crc_k;
#endif
    return (uint32_t)crc32(0L, p, (uInt)n);
}

/* ---- Reader ---- */

/* LEB128, at most 10 bytes; *bad is set for a longer one or one past 64 bits.
 * Bytes 2 and 3 are unrolled (most multi-byte varints of the nic traces
 * are 2 or 3 bytes; unrolling byte 4 too cost more than it saved), each
 * adding its 7 bits and taking back the continuation bit of the byte
 * before it, so no byte is masked. */
static inline uint64_t get_uv(const unsigned char **pp, unsigned *bad)
{
    const unsigned char *p = *pp;
    uint64_t v = p[0];
    if (__builtin_expect(v < 0x80, 1)) {
        *pp = p + 1;
        return v;
    }
    uint64_t b = p[1];
    v += (b << 7) - 0x80;
    if (b < 0x80) {
        *pp = p + 2;
        return v;
    }
    b = p[2];
    v += (b << 14) - (0x80u << 7);
    if (b < 0x80) {
        *pp = p + 3;
        return v;
    }
    v -= 0x80u << 14;
    for (unsigned i = 3; i < 10; i++) {
        b = p[i];
        v |= (b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *bad |= (i == 9) & (b > 1);
            *pp = p + i + 1;
            return v;
        }
    }
    *bad |= 1;
    *pp = p + 10;
    return v;
}

static inline uint16_t get16(const unsigned char **pp)
{
    uint16_t v = ld16(*pp);
    *pp += 2;
    return v;
}

/* Why a record failed to decode (before ims_rec_check()). */
enum {
    D3_OK = 0,
    D3_VARINT = 1,  /* a varint longer than 10 bytes or past 64 bits */
    D3_TAG = 2,     /* tag or extension bits the kind does not define */
    D3_KIND = 4,    /* unknown kind */
    D3_LABEL = 8,   /* MARK label length past 23 */
    D3_SIZE = 16,   /* DMA size past 32 bits */
};

/* The kinds other than DMA, MAP, UNMAP, INV_IOTLB and INV_CTX (a
 * recording's few), out of line so that rec3_decode() stays small in the
 * reader's loop: tag t, p just past it; as rec3_decode(). */
static const unsigned char *rec3_decode_rare(struct tr3_state *s, unsigned t, const unsigned char *p, struct ims_rec *r,
                                             unsigned *bad, bool *sure) __attribute__((noinline));
static const unsigned char *rec3_decode_rare(struct tr3_state *s, unsigned t, const unsigned char *p, struct ims_rec *r,
                                             unsigned *bad, bool *sure)
{
    const unsigned kind = t & 0xf;
    *sure = false;
    switch (kind) {
    case IMS_REC_ATTACH: {
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        uint16_t rid = get16(&p);
        uint16_t did = get16(&p);
        unsigned levels = *p++;
        unsigned tt = *p++;
        uint64_t root = get_uv(&p, bad);
        const unsigned flags = (t & T3_ATT_FLAGS) >> 4;
        uint64_t pasid = (flags & IMS_RECF_SM) ? get_uv(&p, bad) : 0;
        /* dte or pre without sm: ims_rec_check() names it. */
        *bad |= (t & 0x80u) ? D3_TAG : 0;
        *r = (struct ims_rec){
            .ts = ts, .pa = root, .pasid = pasid > UINT32_MAX ? UINT32_MAX : (uint32_t)pasid, .rid = rid, .did = did,
            .kind = IMS_REC_ATTACH, .flags = (uint8_t)flags, .levels = (uint8_t)levels, .tt = (uint8_t)tt,
        };
        s->ts = ts;
        return p;
    }
    case IMS_REC_DETACH: {
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        uint16_t rid = get16(&p);
        *bad |= (t & 0xf0u) ? D3_TAG : 0;
        *r = (struct ims_rec){.ts = ts, .rid = rid, .kind = IMS_REC_DETACH};
        s->ts = ts;
        return p;
    }
    case IMS_REC_MARK: {
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        unsigned n = *p++;
        *bad |= (t & 0xf0u) ? D3_TAG : 0;
        *r = (struct ims_rec){.ts = ts, .kind = IMS_REC_MARK};
        if (n > IMS_REC_LABEL_MAX - 1) {
            *bad |= D3_LABEL;
            return p;
        }
        memcpy(r->label, p, n); /* a NUL inside is refused by ims_rec_check() (not printable) */
        for (unsigned i = 0; i < n; i++)
            if (!p[i])
                r->label[i] = '\x01'; /* keep the NUL visible to the check: no silent cut */
        s->ts = ts;
        return p + n;
    }
    case IMS_REC_VM: {
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        unsigned vm = *p++;
        unsigned levels = *p++;
        uint64_t pa = get_uv(&p, bad);
        uint64_t size = get_uv(&p, bad);
        *bad |= (t & 0xf0u) ? D3_TAG : 0;
        *r = (struct ims_rec){
            .ts = ts, .pa = pa, .size = size, .kind = IMS_REC_VM, .levels = (uint8_t)levels, .vm = (uint8_t)vm};
        s->ts = ts;
        return p;
    }
    case IMS_REC_PROC: {
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        unsigned pid = *p++;
        unsigned levels = *p++;
        unsigned vm = *p++;
        *bad |= (t & 0xf0u) ? D3_TAG : 0;
        *r = (struct ims_rec){
            .ts = ts, .kind = IMS_REC_PROC, .levels = (uint8_t)levels, .pid = (uint8_t)pid, .vm = (uint8_t)vm};
        s->ts = ts;
        return p;
    }
    case IMS_REC_PMAP:
    case IMS_REC_PUNMAP: {
        const bool map = kind == IMS_REC_PMAP;
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        unsigned pid = *p++;
        uint64_t va = get_uv(&p, bad);
        uint64_t pa = map ? get_uv(&p, bad) : 0;
        uint64_t size = get_uv(&p, bad);
        *bad |= (t & (map ? 0x80u : 0xf0u)) ? D3_TAG : 0;
        *r = (struct ims_rec){.ts = ts,
                              .iova = va,
                              .pa = pa,
                              .size = size,
                              .kind = (uint8_t)kind,
                              .perm = map ? (uint8_t)((t >> 4) & TR_PROT_ALL) : 0,
                              .pid = (uint8_t)pid};
        s->ts = ts;
        return p;
    }
    case IMS_REC_BIND: {
        const unsigned flags = t >> 4;
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        uint16_t rid = get16(&p);
        uint64_t pasid = get_uv(&p, bad);
        unsigned pid = 0;
        uint16_t did = 0;
        if (!(flags & IMS_RECF_UNBIND)) {
            if (!(flags & (IMS_RECF_SL | IMS_RECF_PT)))
                pid = *p++;
            did = get16(&p);
        }
        *r = (struct ims_rec){.ts = ts,
                              .pasid = (uint32_t)pasid,
                              .rid = rid,
                              .did = did,
                              .kind = IMS_REC_BIND,
                              .flags = (uint8_t)flags,
                              .pid = (uint8_t)pid};
        if (pasid > UINT32_MAX)
            r->pasid = UINT32_MAX; /* out of range either way: the check names it */
        s->ts = ts;
        return p;
    }
    case IMS_REC_INV_PASID: {
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        unsigned target = *p++;
        unsigned gran = 0, am = 0;
        uint16_t did = 0, rid = 0;
        uint64_t pasid = 0, addr = 0, size = 0;
        if (target == IMS_PINV_T_PASID_CACHE || target == IMS_PINV_T_PIOTLB) {
            gran = *p++;
            if (gran != IMS_PINV_GLOBAL)
                did = get16(&p);
            if (gran == IMS_PINV_PASID || gran == IMS_PINV_PAGE)
                pasid = get_uv(&p, bad);
            if (gran == IMS_PINV_PAGE) {
                am = *p++;
                addr = get_uv(&p, bad);
            }
        } else if (target == IMS_PINV_T_DEVTLB || target == IMS_PINV_T_PASID_DEVTLB) {
            rid = get16(&p);
            if (target == IMS_PINV_T_PASID_DEVTLB)
                pasid = get_uv(&p, bad);
            addr = get_uv(&p, bad);
            size = get_uv(&p, bad);
        }
        *bad |= (t & 0xe0u) ? D3_TAG : 0;
        *r = (struct ims_rec){.ts = ts,
                              .iova = addr,
                              .size = size,
                              .pasid = pasid > UINT32_MAX ? UINT32_MAX : (uint32_t)pasid,
                              .rid = rid,
                              .did = did,
                              .kind = IMS_REC_INV_PASID,
                              .flags = (uint8_t)((t & T3_INV_IH) ? IMS_RECF_IH : 0),
                              .gran = (uint8_t)gran,
                              .am = (uint8_t)am,
                              .target = (uint8_t)target};
        s->ts = ts;
        return p;
    }
    case IMS_REC_PGRESP: {
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        uint16_t rid = get16(&p);
        uint64_t pasid = (t & T3_PGR_PASID) ? get_uv(&p, bad) : 0;
        uint16_t prg = get16(&p);
        unsigned resp = *p++;
        *bad |= (t & 0xe0u) ? D3_TAG : 0;
        *r = (struct ims_rec){.ts = ts,
                              .pasid = pasid > UINT32_MAX ? UINT32_MAX : (uint32_t)pasid,
                              .rid = rid,
                              .prg = prg,
                              .kind = IMS_REC_PGRESP,
                              .flags = (uint8_t)((t & T3_PGR_PASID) ? IMS_RECF_PASID : 0),
                              .resp = (uint8_t)resp};
        s->ts = ts;
        return p;
    }
    default:
        *bad |= D3_KIND;
        *r = (struct ims_rec){.kind = (uint8_t)kind};
        return p;
    }
}

/* Decodes one record at p (which may look TR3_SLACK bytes ahead) into its
 * canonical form. Returns the end; *bad gets D3_* bits, *sure whether
 * the fields are surely valid (else ims_rec_check() decides). */
static inline const unsigned char *rec3_decode(struct tr3_state *s, const unsigned char *p, struct ims_rec *r,
                                               unsigned *bad, bool *sure)
{
    const unsigned t = *p++;
    const unsigned kind = t & 0xf;
    *sure = false;
    switch (kind) {
    case IMS_REC_DMA: {
        const unsigned x = (t & T3_DMA_EXT) ? *p++ : 0;
        const uint16_t rid = (t & T3_DMA_RID) ? get16(&p) : s->rid;
        const uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        struct tr3_dev *d = &s->dev[dev_slot(rid)];
        if (d->rid != rid)
            *d = (struct tr3_dev){.rid = rid};
        const uint64_t iova = d->iova_next + unzz(get_uv(&p, bad));
        const uint64_t size = (t & T3_DMA_SIZE) ? get_uv(&p, bad) : d->size;
        uint64_t pasid = 0, pa = 0;
        unsigned reason = 0, flags = (t & T3_DMA_W) ? IMS_RECF_WRITE : 0;
        /* As rec_decode() in trace_bin.c: never laxer than ims_rec_check().
         * With no extension byte, or one with only T3_X_PA (a recording's
         * DMA), only the size, the range's end and ts can be wrong. */
        bool ok = (size - 1 < UINT32_MAX) & (iova + (size - 1) >= iova) & (ts <= TR_TS_MAX);
        if (__builtin_expect((x & ~T3_X_PA) == 0, 1)) {
            if (x) {
                pa = pa_pred(s, iova) + unzz(get_uv(&p, bad));
                s->pa = pa;
                xl_fill(s, iova, pa);
                flags |= IMS_RECF_EXPECT_PA;
            }
        } else {
            if (x & T3_X_PASID)
                pasid = get_uv(&p, bad);
            if (x & T3_X_PA) {
                pa = pa_pred(s, iova) + unzz(get_uv(&p, bad));
                s->pa = pa;
                xl_fill(s, iova, pa);
            }
            if (x & T3_X_FAULT)
                reason = *p++;
            *bad |= (x & ~T3_X_ALL) ? D3_TAG : 0;
            /* Extension bits 2..0 are flags 3..1, bits 5..3 flags 7..5 (static asserts above). */
            flags |= ((x & 0x07u) << 1) | ((x & 0x38u) << 2);
            ok &= !(((x & (T3_X_PA | T3_X_FAULT)) == (T3_X_PA | T3_X_FAULT)) | (pasid > TR_PASID_MAX) |
                    (((x & T3_X_FAULT) != 0) & (reason == 0)) | (((x & T3_X_EXEC) != 0) & ((t & T3_DMA_W) != 0)));
        }
        if (__builtin_expect(!ok, 0))
            *bad |= (size >> 32) ? D3_SIZE : 0; /* ok is false for any size past 32 bits */
        *r = (struct ims_rec){
            .ts = ts,
            .iova = iova,
            .pa = pa,
            .size = size,
            .pasid = (uint32_t)pasid,
            .rid = rid,
            .kind = IMS_REC_DMA,
            .flags = (uint8_t)flags,
            .reason = (uint8_t)reason,
        };
        s->ts = ts;
        s->rid = rid;
        d->iova_next = iova + size;
        d->size = (uint32_t)size;
        *sure = ok;
        return p;
    }
    case IMS_REC_MAP:
    case IMS_REC_UNMAP: {
        const bool map = kind == IMS_REC_MAP;
        uint16_t did = (t & T3_MAP_DID) ? get16(&p) : s->did;
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        uint64_t iova = ctl_pred(s, kind) + unzz(get_uv(&p, bad));
        uint64_t pa = map ? s->map_pa + unzz(get_uv(&p, bad)) : 0;
        uint64_t size = get_uv(&p, bad);
        *bad |= (t & (map ? 0x80u : 0xb0u)) ? D3_TAG : 0;
        *r = (struct ims_rec){
            .ts = ts,
            .iova = iova,
            .pa = pa,
            .size = size,
            .did = did,
            .kind = (uint8_t)kind,
            .perm = map ? (uint8_t)((t & T3_MAP_PERM) >> 4) : 0,
        };
        s->ts = ts;
        s->did = did;
        ctl_set(s, kind, iova, iova + size);
        if (map) {
            s->map_pa = pa + size;
            xl_map(s, iova, pa, size);
        }
        /* As rec_decode() in trace_bin.c: perm r, w or rw; size not 0. */
        *sure = (!map | (((t & T3_MAP_PERM) >> 4) - 1u < 3u)) & (size != 0) & (ts <= TR_TS_MAX);
        return p;
    }
    case IMS_REC_INV_IOTLB:
    case IMS_REC_INV_CTX: {
        const bool tlb = kind == IMS_REC_INV_IOTLB;
        uint64_t ts = s->ts + unzz(get_uv(&p, bad));
        unsigned gran = *p++;
        uint16_t did = gran != IMS_INV_GLOBAL ? get16(&p) : 0;
        uint16_t rid = 0;
        unsigned am = 0, fm = 0;
        uint64_t addr = 0;
        if (tlb && gran == IMS_INV_PAGE) {
            am = *p++;
            addr = s->ctl_iova + unzz(get_uv(&p, bad));
            ctl_set(s, IMS_REC_INV_IOTLB, addr, addr);
        }
        if (!tlb && gran == IMS_INV_DEVICE) {
            rid = get16(&p);
            fm = *p++;
        }
        *bad |= (t & (tlb ? 0xe0u : 0xf0u)) ? D3_TAG : 0;
        *r = (struct ims_rec){
            .ts = ts,
            .iova = addr,
            .rid = rid,
            .did = did,
            .kind = (uint8_t)kind,
            .flags = (uint8_t)((t & T3_INV_IH) ? IMS_RECF_IH : 0),
            .gran = (uint8_t)gran,
            .am = (uint8_t)am,
            .fm = (uint8_t)fm,
        };
        s->ts = ts;
        *sure = tlb & (gran == IMS_INV_GLOBAL || gran == IMS_INV_DOMAIN || gran == IMS_INV_PAGE) & (am <= TR_AM_MAX) &
                (ts <= TR_TS_MAX);
        return p;
    }
    default:
        return rec3_decode_rare(s, t, p, r, bad, sure);
    }
}

static int rec3_error(struct ims_trace_reader *r, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rec3_error(struct ims_trace_reader *r, uint64_t off, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->rec_off = off;
    return ims_tr_bin_rec_error(r, "%s", msg);
}

/* Verifies the next block (header fields, both CRC-32s) and leaves r->pos at
 * its payload; 0 (r->blk_left records to decode, or the end when the
 * previous block was the last and nothing follows) or -1. */
static int block3_next(struct ims_trace_reader *r)
{
    const uint64_t off = r->buf_off + r->pos;
    const char *z = r->form == IMS_TRACE_BINARY_ZSTD ? " (decompressed)" : "";
    r->blk_left = 0;
    long got = ims_tr_buf_want(r, TR3_BLK_HDR);
    if (got < 0)
        return -1;
    if (r->blk_last) {
        if (got > 0)
            return ims_tr_rerr(r, "byte offset %llu%s: data after the last block (%s)", (unsigned long long)off, z,
                               got >= 4 && !memcmp(r->buf + r->pos, TR3_BLK_TAG, 4) ? "another block"
                                                                                    : "the file is corrupt");
        return 0;
    }
    if (got == 0)
        return ims_tr_block_error(r, off,
                            r->blk_index == 0
                                ? "missing: the file ends after its header, without the last block a version 3 file "
                                  "ends with (the file is truncated)"
                                : "missing: the file ends after a block that is not the last (the file is truncated)");
    if ((size_t)got < TR3_BLK_HDR)
        return ims_tr_block_error(r, off, "truncated: the file ends %ld bytes into the %u-byte block header", got,
                            TR3_BLK_HDR);
    const unsigned char *h = r->buf + r->pos;
    if (memcmp(h, TR3_BLK_TAG, 4) != 0) {
        char b[48];
        ims_tr_fmt_bytes(b, sizeof b, h, 4);
        return ims_tr_block_error(r, off, "no block header (expected \"" TR3_BLK_TAG "\", got \"%s\"): the file is corrupt",
                            b);
    }
    uint32_t hwant = ld32(h + T3_OFF_HCRC), hhave = (uint32_t)crc32(0L, h, T3_OFF_HCRC);
    if (hwant != hhave)
        return ims_tr_block_error(r, off,
                            "block header checksum mismatch: it says CRC-32 0x%08x, its bytes give 0x%08x (the file "
                            "is corrupt)",
                            hwant, hhave);
    uint32_t n = ld32(h + T3_OFF_N), len = ld32(h + T3_OFF_LEN), flags = ld32(h + T3_OFF_FLAGS);
    uint64_t index = ld64(h + T3_OFF_INDEX);
    if (n > TR3_BLK_RECS || len > TR3_PAYLOAD_MAX || len < 2ull * n || (n == 0) != (len == 0) ||
        (flags & ~TR_BLK_LAST) || index != r->blk_index || (n == 0 && !(flags & TR_BLK_LAST)))
        return ims_tr_block_error(r, off,
                            "the block header is inconsistent: it says %u records, %u payload bytes, flags 0x%x, "
                            "block %llu; expected up to %u records of 2..%u bytes each, flags 0 or 0x1, block %llu",
                            n, len, flags, (unsigned long long)index, TR3_BLK_RECS, TR3_REC_MAX,
                            (unsigned long long)r->blk_index);
    const uint32_t want = ld32(h + T3_OFF_CRC);
    got = ims_tr_buf_want(r, TR3_BLK_HDR + (size_t)len);
    if (got < 0)
        return -1;
    if ((size_t)got < TR3_BLK_HDR + (size_t)len)
        return ims_tr_block_error(r, off, "truncated: the file ends %ld bytes into the block's %u payload bytes",
                            got - (long)TR3_BLK_HDR, len);
    const unsigned char *pl = r->buf + r->pos + TR3_BLK_HDR;
    uint32_t have = ims_tr_crc32(&r->crc, pl, len);
    if (want != have)
        return ims_tr_block_error(r, off,
                            "checksum mismatch in records %llu..%llu (payload bytes %llu..%llu): the block header "
                            "says CRC-32 0x%08x, the bytes give 0x%08x (the file is corrupt)",
                            (unsigned long long)r->index, (unsigned long long)(r->index + n - 1),
                            (unsigned long long)(off + TR3_BLK_HDR), (unsigned long long)(off + TR3_BLK_HDR + len - 1),
                            want, have);
    r->pos += TR3_BLK_HDR;
    r->blk_end = r->pos + len;
    r->blk_first = r->index;
    r->blk_left = n;
    r->blk_last = (flags & TR_BLK_LAST) != 0;
    memset(&r->st3, 0, sizeof r->st3);
    return 0;
}

/* The message for a record rec3_decode() flagged. */
static void rec3_reject(struct ims_trace_reader *r, uint64_t off, const struct ims_rec *rec, unsigned bad,
                        unsigned tag)
{
    char e[256];
    if (bad & D3_KIND)
        rec3_error(r, off, "unknown record kind %u (tag byte 0x%02x)", tag & 0xf, tag);
    else if (bad & D3_VARINT)
        rec3_error(r, off, "%s: a number longer than 64 bits (a varint of more than 10 bytes or past 2^64)",
                   ims_rec_kind_name(tag & 0xf));
    else if (bad & D3_TAG)
        rec3_error(r, off, "%s: tag byte 0x%02x or its extension byte has bits this kind does not define",
                   ims_rec_kind_name(tag & 0xf), tag);
    else if (bad & D3_LABEL)
        rec3_error(r, off, "mark: label length past %d", IMS_REC_LABEL_MAX - 1);
    else if (bad & D3_SIZE)
        rec3_error(r, off, "dma: size 0x%llx past 32 bits", (unsigned long long)rec->size);
    else if (ims_rec_check(rec, e, sizeof e) < 0)
        rec3_error(r, off, "%s", e);
}

size_t ims_tr_v3_read(struct ims_trace_reader *r, struct ims_rec *recs, size_t max)
{
    size_t n = 0;
    unsigned char tail[2 * TR3_SLACK];
    while (n < max) {
        if (r->blk_left == 0) {
            if (r->blk_end) {
                if (r->pos != r->blk_end) {
                    ims_tr_block_error(r, r->buf_off + r->pos, "%zu payload bytes after its last record (the file is corrupt)",
                                 r->blk_end - r->pos);
                    break;
                }
                r->blk_index++;
                r->blk_end = 0;
            }
            bool was_last = r->blk_last;
            if (block3_next(r) < 0 || (was_last && r->blk_left == 0))
                break;
            continue;
        }
        const unsigned char *p = r->buf + r->pos, *end = r->buf + r->blk_end;
        size_t want = r->blk_left < max - n ? r->blk_left : max - n;
        struct ims_rec *const o0 = recs + n, *const oend = o0 + want, *o = o0;
        for (; o < oend; o++) {
            const unsigned char *q = p;
            unsigned bad = 0;
            bool sure;
            if (__builtin_expect((size_t)(end - p) >= TR3_SLACK, 1)) {
                /* A record reads at most TR3_SLACK bytes (static assert
                 * above), so here none runs past the payload. */
                p = rec3_decode(&r->st3, p, o, &bad, &sure);
            } else {
                /* The block's last bytes: decode from a zeroed copy, so a
                 * hostile record cannot read past the payload. */
                const size_t left = (size_t)(end - p);
                memset(tail, 0, sizeof tail);
                memcpy(tail, p, left);
                const size_t used = (size_t)(rec3_decode(&r->st3, tail, o, &bad, &sure) - tail);
                const uint64_t off = r->buf_off + (size_t)(p - r->buf);
                if (__builtin_expect(used > left, 0)) {
                    const size_t i = (size_t)(o - o0);
                    r->index += i;
                    if (left == 0)
                        rec3_error(r, off,
                                   "the block's payload ends before this record (the block header says %u records)",
                                   (unsigned)(r->index - r->blk_first + r->blk_left - i));
                    else
                        rec3_error(r, off, "%s: runs past the end of the block's payload (%zu bytes left of it)",
                                   ims_rec_kind_name(*p & 0xf) ? ims_rec_kind_name(*p & 0xf) : "record", left);
                    r->index -= i;
                    break;
                }
                p += used;
            }
            if (__builtin_expect(bad != 0 || !sure, 0)) {
                char e[256];
                if (bad || ims_rec_check(o, e, sizeof e) < 0) {
                    const size_t i = (size_t)(o - o0);
                    p = q; /* r->pos stays at the refused record */
                    r->index += i;
                    rec3_reject(r, r->buf_off + (size_t)(q - r->buf), o, bad, *q);
                    r->index -= i;
                    break;
                }
            }
        }
        const size_t i = (size_t)(o - o0);
        n += i;
        r->index += i;
        r->blk_left -= (uint32_t)i;
        r->pos = (size_t)(p - r->buf);
        if (i < want)
            break;
    }
    return n;
}

/* ---- Canonical copies ---- */

/* Through this codec from a fresh block state: the decoder keeps exactly
 * the fields the kind and its flags use (ims_rec_canon() for the records
 * version 2 cannot hold). */
void ims_tr_v3_canon(const struct ims_rec *in, struct ims_rec *out)
{
    struct tr3_state s;
    unsigned char buf[TR3_REC_MAX + TR3_SLACK];
    memset(buf, 0, sizeof buf);
    memset(&s, 0, sizeof s);
    (void)rec3_encode(&s, in, buf);
    memset(&s, 0, sizeof s);
    unsigned bad = 0;
    bool sure;
    (void)rec3_decode(&s, buf, out, &bad, &sure);
}
