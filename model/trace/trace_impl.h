/* Internal to the trace library (model/trace/trace_*.c): what its parts
 * share. Each part is one concern:
 *
 *   trace_rec.c   records and headers: kind/gran/perm/bridge names, the range
 *                 checks every reader and writer applies, canonical copies,
 *                 header copy/free
 *   trace_bin.c   binary codec: the 40-byte record layout (versions 1, 2),
 *                 record encode and decode (the reader's hot path), the binary
 *                 header, version 2's blocks
 *   trace_v3.c    binary version 3: compact records in checked blocks
 *   trace_text.c  text codec: parsing and formatting of records and headers
 *   trace_io.c    streaming and files: reader open and form detection, source
 *                 buffering, zstd in and out, the writer's temporary file and
 *                 rename, ims_trace_read()'s batch loop
 *
 * docs/trace-format.md is the reference for every byte and keyword.
 */
#ifndef IMS_TRACE_IMPL_H
#define IMS_TRACE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zstd.h>

#include "iommusim/trace.h"
#include "errf.h"

/* ---- Binary framing (the record layout itself is in trace_bin.c) ---- */

#define TR_MAGIC      "IMSTRACE"
#define TR_MAGIC_LEN  8
#define TR_FIXED_HDR  24 /* magic, version, header length, record size, reserved */
#define TR_HDR_MAX    (16u << 20)
#define TR_ZSTD_MAGIC 0xFD2FB528u
#define TR_REC_SIZE   40 /* bytes per binary record */

/* Version 2 framing (docs/trace-format.md, "Integrity"): header flags at
 * byte 20 (version 1: reserved), a CRC-32 as the header's last 4 bytes, and
 * the records in blocks of TR_BLK_RECS, each followed by a 40-byte block
 * check. CRC-32 is zlib's crc32() (the ISO-HDLC polynomial 0x04C11DB7). */
#define TR_HFLAG_BLOCKS 0x1u /* records in checked blocks */
#define TR_HFLAG_SCALABLE 0x2u /* version 3: a scalable-mode trace (docs/trace-format.md, "Scalable mode") */
#define TR_BLK_RECS     1024u
#define TR_BLK_CHECK    40u
#define TR_BLK_TAG      "IMSBLOCK"
#define TR_BLK_LAST     0x1u /* block check flags: the last block */

/* Version 3 (docs/trace-format.md, "Version 3"): header record size 0
 * (records vary in length), header flags exactly TR_HFLAG_BLOCKS, and the
 * records in blocks of up to TR3_BLK_RECS, each a 32-byte block header and
 * a payload of compact records (trace_v3.c). */
#define TR3_BLK_RECS    4096u
#define TR3_BLK_HDR     32u
#define TR3_BLK_TAG     "IMB3"
#define TR3_REC_MAX     48u  /* bytes of the longest valid record written */
#define TR3_PAYLOAD_MAX (TR3_BLK_RECS * TR3_REC_MAX)
#define TR3_SLACK       64u  /* bytes one record decode may look at (a hostile one included) */
#define TR3_DEVS        64u  /* per-device prediction slots (direct-mapped by rid) */
#define TR3_XL          256u /* translation slots predicting a DMA's expected pa (direct-mapped by iova page) */

/* Prediction state of a v3 block: the writer and the reader keep the same
 * copy, reset at every block start (so each block decodes on its own). */
struct tr3_dev {
    uint64_t iova_next; /* the previous DMA's iova + size */
    uint32_t size;      /* the previous DMA's size */
    uint16_t rid;
};
struct tr3_state {
    uint64_t ts;        /* the previous record's */
    uint64_t pa;        /* the previous DMA expected pa */
    uint64_t map_pa;    /* the previous MAP's pa + size */
    uint64_t ctl_iova, ctl_end; /* the previous MAP, UNMAP or page INV_IOTLB's iova (addr), and iova + size */
    unsigned ctl_kind;  /* its kind (0: none yet) */
    uint64_t xl_page[TR3_XL], xl_pa[TR3_XL]; /* iova page + 1 -> pa of its byte 0, from MAPs and DMA expected pas */
    uint16_t rid;       /* the previous DMA's */
    uint16_t did;       /* the previous MAP or UNMAP's */
    struct tr3_dev dev[TR3_DEVS];
};

/* CRC-32 of v3 payloads (ims_tr_crc32, trace_v3.c): set up at its first use. */
struct ims_tr_crc {
    bool ready;
    bool clmul;    /* the CPU has PCLMULQDQ: fold with carry-less products */
    uint64_t k[4]; /* their constants: x^575, x^511, x^191, x^127 mod P, bit reversed */
};

#define TR_BUF_SIZE  (256u << 10) /* decoded-byte buffer (multiple of nothing in particular) */
#define TR_WBUF_SIZE (256u << 10)

/* ---- Field ranges (shared by the checks, the binary decoder's quick
 * verdict and the text parser) ---- */

/* DMA flags of versions 1 and 2 (the binary decoder's quick verdict), and all of them. */
#define TR_DMA_FLAGS_V2 (IMS_RECF_WRITE | IMS_RECF_PASID | IMS_RECF_EXPECT_PA | IMS_RECF_EXPECT_FAULT)
#define TR_DMA_FLAGS    (TR_DMA_FLAGS_V2 | IMS_RECF_PRIV | IMS_RECF_EXEC | IMS_RECF_AT_TRANSLATED)
#define TR_BIND_FLAGS   (IMS_RECF_SRE | IMS_RECF_SL | IMS_RECF_PT | IMS_RECF_UNBIND)
#define TR_ATTACH_FLAGS (IMS_RECF_SM | IMS_RECF_DTE | IMS_RECF_PRE)
#define TR_PROT_ALL     7u /* PMAP: IMS_TB_SM_W | IMS_TB_SM_X | IMS_TB_SM_KERNEL */
#define TR_PASID_MAX ((UINT32_C(1) << 20) - 1)
#define TR_AM_MAX    52u
#define TR_TS_MAX    (UINT64_MAX - 1) /* ns; 2^64 - 1 is refused (a saturated or wrapped clock) */

/* ---- Little-endian helpers ---- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TR_LE16(x) __builtin_bswap16(x)
#define TR_LE32(x) __builtin_bswap32(x)
#define TR_LE64(x) __builtin_bswap64(x)
#else
#define TR_LE16(x) (x)
#define TR_LE32(x) (x)
#define TR_LE64(x) (x)
#endif

static inline uint16_t ld16(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return TR_LE16(v);
}
static inline uint32_t ld32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return TR_LE32(v);
}
static inline uint64_t ld64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return TR_LE64(v);
}
static inline void st16(unsigned char *p, uint16_t v)
{
    v = TR_LE16(v);
    memcpy(p, &v, 2);
}
static inline void st32(unsigned char *p, uint32_t v)
{
    v = TR_LE32(v);
    memcpy(p, &v, 4);
}
static inline void st64(unsigned char *p, uint64_t v)
{
    v = TR_LE64(v);
    memcpy(p, &v, 8);
}

/* ---- Name index ---- */

/* Names of a topology list (bridges or devices) by hash, so that header
 * checks and the text reader's name lookups cost O(1) per entry, not O(N)
 * (O(N^2) per header). The index stores positions in the list; the names
 * are read from the list itself (base + i * stride, the name being the
 * first member of struct ims_bridge and struct ims_device), so the list may
 * be reallocated between calls. Zero-initialised means empty. */
struct ims_tr_names {
    int32_t *slot; /* list positions, -1 = empty; cap is a power of two */
    size_t cap, n;
};

/* ---- Reader and writer state ---- */

/* A piece of a zstd reader's decompressed stream (trace_io.c). */
#define TR_ZCHUNK (512u << 10)
struct ims_tr_chunk {
    unsigned char *data; /* TR_ZCHUNK bytes */
    size_t len;          /* of them filled */
    int then;            /* after them: 1 more, 0 the stream's end, -1 the error in err */
    char err[512];
};

struct ims_trace_reader {
    char *path;
    int form;
    FILE *f;
    struct ims_trace_hdr hdr;
    uint64_t index;        /* next record */
    char err[768];
    bool failed;           /* err is set; every later call fails */
    bool pending;          /* an error found after records already returned in a batch */
    /* binary and zstd */
    unsigned char *buf;
    size_t cap, pos, len;
    bool src_eof;
    uint64_t hdr_len;
    uint32_t rec_size;
    bool blocks;           /* version 2 with TR_HFLAG_BLOCKS */
    uint32_t blk_left;     /* records of the current (verified) block not yet returned */
    uint64_t blk_index;    /* current block */
    bool blk_last;         /* the last block's check has been read */
    uint64_t buf_off;      /* stream offset of buf[0] */
    /* version 3 */
    size_t blk_end;        /* buf index of the current block's payload end */
    uint64_t rec_off;      /* stream offset of the record an error names */
    uint64_t blk_first;    /* index of the current block's first record */
    struct tr3_state st3;
    struct ims_tr_crc crc; /* of the payloads */
    ZSTD_DCtx *dctx;
    unsigned char *zin;
    size_t zin_cap;
    ZSTD_inBuffer zib;
    size_t zret;           /* last ZSTD_decompressStream result: 0 = at a frame end */
    bool zin_eof;
    struct ims_tr_chunk zc;       /* decompressed here (trace_io.c chunk_fill), without read-ahead or before it */
    struct ims_tr_chunk *zcur;    /* the chunk being read: &zc or one of the read-ahead's */
    size_t zpos;                  /* bytes of it already taken */
    struct ims_tr_ahead *ahead;   /* zstd decompression on a thread of its own (ims_trace_read_ahead); NULL: here */
    /* text */
    char *line;
    size_t line_cap;
    uint64_t lineno;
    bool text_body;        /* a record line has been seen */
    char *peek_line;       /* first record line read while parsing the header */
    struct ims_tr_names bnames, dnames; /* text header: bridge and device names so far */
};

struct ims_trace_writer {
    char *path;
    struct ims_outfile *out; /* the file being written (outfile.h); f is its stream */
    int form;
    FILE *f;
    ZSTD_CCtx *cctx;
    unsigned char *buf; /* binary bytes not yet written/compressed */
    size_t len, cap;
    unsigned char *zout;
    size_t zout_cap;
    uint64_t index;
    bool blocks;           /* binary (not zstd): records in checked blocks */
    uint32_t blk_n;        /* records in the open block */
    uint32_t blk_crc;      /* their CRC-32 so far */
    uint64_t blk_index;    /* the open block */
    unsigned version;      /* binary: 2 or 3 (IMS_TRACE_VERSION) */
    unsigned char *blk3;   /* version 3: the open block's payload */
    size_t blk3_len;
    struct tr3_state st3;
    char err[512];
    bool failed;
};

/* ---- trace_rec.c ---- */

/* "global", "domain", ...; "r", "w", "rw"; "pcie-to-pci", "pci-to-pci";
 * NULL if the code is not one of them. */
const char *ims_tr_gran_name(unsigned gran);
const char *ims_tr_perm_name(unsigned perm);
const char *ims_tr_bridge_kind_name(unsigned kind);
/* "pasid-cache", ...; "domain", "pasid", "page", "global" (enum ims_pinv_gran);
 * "success", "invalid", "failure"; NULL if unknown. */
const char *ims_tr_pinv_target_name(unsigned target);
const char *ims_tr_pinv_gran_name(unsigned gran);
const char *ims_tr_pgresp_name(unsigned code);
/* What the trace formats need of a header (names usable in the text form and
 * unique, parents listed before children): 0, or -1 with a message. */
int ims_tr_hdr_check(const struct ims_trace_hdr *h, char *err, size_t errlen);
/* The parts of ims_tr_hdr_check(), for a reader that checks each entry as it
 * is parsed (the text reader, which names the line): creator or source text
 * (`what` names it); bridge or device i of t against the entries before it,
 * whose names are in `names` (i is then added to it). 0, or -1 with a
 * message. Linear in the list overall. */
int ims_tr_hdr_check_text(const char *what, const char *s, char *err, size_t errlen);
int ims_tr_hdr_check_bridge(const struct ims_topo *t, int i, struct ims_tr_names *names, char *err, size_t errlen);
int ims_tr_hdr_check_device(const struct ims_topo *t, int i, struct ims_tr_names *names, char *err, size_t errlen);
/* Position of `name` in the list at base (entries `stride` bytes apart), or -1. */
int ims_tr_names_find(const struct ims_tr_names *s, const void *base, size_t stride, const char *name);
/* Adds list position idx; 0, or -1 if out of memory. */
int ims_tr_names_add(struct ims_tr_names *s, const void *base, size_t stride, int idx);
void ims_tr_names_free(struct ims_tr_names *s);
/* What of rec needs binary version 3 (a scalable-mode kind, DMA flag or
 * ATTACH flag), as a phrase for a message; NULL if version 2 holds it. */
const char *ims_tr_rec_v3_only(const struct ims_rec *rec);
/* Most bridges and most devices a header may list. */
#define TR_TOPO_MAX 65536

/* ---- trace_bin.c ---- */

/* Writes the 40-byte binary form of rec (fields its kind does not use as zero). */
void ims_tr_rec_encode(const struct ims_rec *rec, unsigned char *p);
/* Decodes one 40-byte record into its canonical form; true if it is surely
 * valid, false if ims_rec_check() must decide (see trace_bin.c). */
bool ims_tr_rec_decode(const unsigned char *p, struct ims_rec *rec);
/* Decodes n records at p into out, checking each; returns how many passed.
 * Fewer than n: record r->index + the return value is invalid and the
 * reader's error names it. Does not advance r->index. */
size_t ims_tr_bin_decode(struct ims_trace_reader *r, const unsigned char *p, size_t n, struct ims_rec *out);
/* Error naming record r->index and its byte offset; returns -1. */
int ims_tr_bin_rec_error(struct ims_trace_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "block B (records from N) at byte offset OFF: ..." about r->blk_index,
 * the block starting at `off` (binary versions 2 and 3). Returns -1. */
int ims_tr_block_error(struct ims_trace_reader *r, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parses and checks the binary header at the start of the reader's buffer,
 * fills r->hdr and leaves r->pos at the first record; 0 or -1. */
int ims_tr_bin_read_header(struct ims_trace_reader *r);
/* Writes the binary header into the writer's buffer; 0 or -1. */
int ims_tr_bin_write_header(struct ims_trace_writer *w, const struct ims_trace_hdr *h);
/* Binary writer: CRC-32 of one encoded record into the open block, closing
 * the block (its check) when it is full; and the last block's check, written
 * on commit before the final flush. 0 or -1. */
int ims_tr_bin_block_add(struct ims_trace_writer *w, const unsigned char *rec);
int ims_tr_bin_write_end(struct ims_trace_writer *w);
/* The first n bytes at p, printable ones as they are and others as \xNN. */
void ims_tr_fmt_bytes(char *out, size_t cap, const unsigned char *p, size_t n);
/* Byte offset of record `index` in the (decompressed) stream. */
uint64_t ims_tr_bin_rec_offset(const struct ims_trace_reader *r, uint64_t index);
/* Binary reader with blocks: verifies the next block in the buffer (sets
 * r->blk_left) and skips an empty one. 0: a block or the end (r->blk_last
 * and blk_left 0); -1: error. */
int ims_tr_bin_next_block(struct ims_trace_reader *r);

/* ---- trace_v3.c ---- */

/* Writer: encodes one (checked) record into the open block, closing it
 * first when it is full; and the last block, on commit. 0 or -1. */
int ims_tr_v3_write_rec(struct ims_trace_writer *w, const struct ims_rec *rec);
int ims_tr_v3_write_end(struct ims_trace_writer *w);
/* Reader: up to max records (like ims_trace_read(), before its pending
 * logic); stops early on an error (r->failed). */
size_t ims_tr_v3_read(struct ims_trace_reader *r, struct ims_rec *recs, size_t max);
/* Canonical copy through the version 3 codec (every kind). */
void ims_tr_v3_canon(const struct ims_rec *in, struct ims_rec *out);
/* crc32(0, p, n) of zlib, bit for bit, faster where the CPU allows (c:
 * zero-initialised, then kept). */
uint32_t ims_tr_crc32(struct ims_tr_crc *c, const unsigned char *p, size_t n);

/* ---- trace_text.c ---- */

/* Parses the header directives up to the first record line; 0 or -1. */
int ims_tr_text_read_header(struct ims_trace_reader *r);
/* Up to max records, like ims_trace_read(). */
long ims_tr_text_read(struct ims_trace_reader *r, struct ims_rec *recs, size_t max);
/* Writes the header directives; 0 or -1. */
int ims_tr_text_write_header(struct ims_trace_writer *w, const struct ims_trace_hdr *h);
/* Writes one (already checked) record line; 0 or -1. */
int ims_tr_text_write_rec(struct ims_trace_writer *w, const struct ims_rec *rec);

/* ---- trace_io.c ---- */

/* Opens an input for reading ("-": standard input). A regular file is
 * opened as it is; a pipe or FIFO through a stream that keeps its first
 * TR_REREAD bytes, so that a caller may read up to that many and seek back to
 * 0; a directory or a terminal is refused. NULL with the reason (no path) in
 * why. */
FILE *ims_tr_open_input(const char *path, char *why, size_t len);
/* What a reader may look at before it seeks back to an input's start: the
 * form detection's look for control bytes (binary_soon, trace_io.c) and the
 * QEMU converter's for a NUL (qemu_vtd.c). */
#define TR_REREAD 512u
/* Sets the reader's error ("PATH: message") and marks it failed; returns -1. */
int ims_tr_rerr(struct ims_trace_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the writer's error ("PATH: message") and marks it failed; returns -1. */
int ims_tr_werr(struct ims_trace_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes at least `need` bytes available at r->buf + r->pos (fewer only at the
 * end). Returns bytes available, or -1 on error. */
long ims_tr_buf_want(struct ims_trace_reader *r, size_t need);
/* Appends bytes to the writer's binary buffer, flushing as it fills; 0 or -1. */
int ims_tr_w_bytes(struct ims_trace_writer *w, const void *p, size_t n);

#endif /* IMS_TRACE_IMPL_H */
