/* DMA traces: the decoded record every reader produces and every writer
 * takes, and the streaming reader/writer for the binary (optionally zstd) and
 * text forms. docs/trace-format.md is the format's reference.
 *
 * Contract:
 * - Readers stream: memory stays constant in trace length.
 * - ims_trace_open() picks the form from the file's first bytes (binary magic,
 *   zstd magic, else text); writers pick it from the suffix: ".itr" binary,
 *   ".itr.zst" zstd-compressed binary, ".txt" / ".itt" text.
 * - Every error message names the file and the line (text) or the record index
 *   and byte offset (binary).
 * - Writers write to a temporary file and rename it on commit: the output is
 *   whole or absent.
 */
#ifndef IMS_TRACE_H
#define IMS_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Format versions. The binary form (.itr, .itr.zst) is version 3: compact
 * variable-length records in checksummed blocks. Version 2 is fixed 40-byte
 * records (in checksummed blocks in .itr), version 1 the same without
 * checksums. Readers read all three; writers write 3, or 2 when asked
 * (ims_trace_create_version). The text form is version 1 (it has no
 * checksums). */
#define IMS_TRACE_VERSION      3 /* binary form, as written */
#define IMS_TRACE_TEXT_VERSION 1 /* text form */

enum ims_rec_kind {
    IMS_REC_DMA = 1,       /* device access: ts, rid, [pasid], iova, size, R/W, [expected pa | fault] */
    IMS_REC_MAP = 2,       /* did, iova, pa, size, perm */
    IMS_REC_UNMAP = 3,     /* did, iova, size */
    IMS_REC_INV_IOTLB = 4, /* gran (global/domain/page), did, iova (addr), am, ih */
    IMS_REC_INV_CTX = 5,   /* gran (global/domain/device), did, rid (sid), fm */
    IMS_REC_ATTACH = 6,    /* rid, did, levels, tt, pa = recorded table root (informative) */
    IMS_REC_DETACH = 7,    /* rid */
    IMS_REC_MARK = 8,      /* label (phase, e.g. "warmup-end") */
    /* Scalable mode (VT-d 3.0 and later; docs/trace-format.md, "Scalable
     * mode"). Binary version 3 and the text form only. */
    IMS_REC_VM = 9,         /* vm, levels (its second level), pa = RAM host base, size = RAM bytes */
    IMS_REC_PROC = 10,      /* pid, levels (4/5), vm (IMS_REC_VM_NONE: a host process) */
    IMS_REC_PMAP = 11,      /* pid, iova = va, pa, size, perm = IMS_TB_SM_* prot */
    IMS_REC_PUNMAP = 12,    /* pid, iova = va, size */
    IMS_REC_BIND = 13,      /* rid, pasid, mode flags; first level: pid, did; SL, PT: did */
    IMS_REC_INV_PASID = 14, /* target, gran (enum ims_pinv_gran), did, pasid, iova (addr), am, ih; devtlb: rid, size */
    IMS_REC_PGRESP = 15,    /* rid, [pasid], prg, resp */
    IMS_REC_KIND_MAX = 15
};
/* "dma", "map", ...; NULL if unknown. */
const char *ims_rec_kind_name(unsigned kind);

/* Record flags. */
#define IMS_RECF_WRITE        (1u << 0) /* DMA: write (else read) */
#define IMS_RECF_PASID        (1u << 1) /* DMA: pasid is valid */
#define IMS_RECF_EXPECT_PA    (1u << 2) /* DMA: pa holds the recorded output address */
#define IMS_RECF_EXPECT_FAULT (1u << 3) /* DMA: the recording saw a fault, reason in .reason */
#define IMS_RECF_IH           (1u << 4) /* INV_IOTLB, INV_PASID: invalidation hint */
/* Scalable mode. Bits are per kind: each kind defines its own. */
#define IMS_RECF_PRIV          (1u << 5) /* DMA: supervisor request (PASID prefix PMR) */
#define IMS_RECF_EXEC          (1u << 6) /* DMA: execute request (PASID prefix ER) */
#define IMS_RECF_AT_TRANSLATED (1u << 7) /* DMA: ATS translated request (iova is a host address) */
#define IMS_RECF_SRE           (1u << 0) /* BIND first level: supervisor requests enabled */
#define IMS_RECF_SL            (1u << 1) /* BIND: PGTT second-level over domain did */
#define IMS_RECF_PT            (1u << 2) /* BIND: PGTT pass-through (domain did) */
#define IMS_RECF_UNBIND        (1u << 3) /* BIND: clear the PASID entry */
#define IMS_RECF_SM            (1u << 0) /* ATTACH: scalable-mode context entry, RID_PASID = pasid */
#define IMS_RECF_DTE           (1u << 1) /* ATTACH SM: device TLB enable (ATS) */
#define IMS_RECF_PRE           (1u << 2) /* ATTACH SM: page requests enabled (PRI) */
/* PGRESP uses IMS_RECF_PASID (the response carries a PASID). */

/* INV_PASID targets: the PASID cache (VT-d 6.5.2.5), the PASID-based IOTLB
 * (6.5.2.4), the device TLB (6.5.2.6) and the PASID-based device TLB
 * (6.5.2.7). */
enum ims_rec_pinv_target {
    IMS_PINV_T_PASID_CACHE = 1,  /* gran global, domain (did) or pasid (did, pasid) */
    IMS_PINV_T_PIOTLB = 2,       /* gran pasid (did, pasid) or page (did, pasid, iova, am, ih) */
    IMS_PINV_T_DEVTLB = 3,       /* rid (sid), iova, size (a power of two >= 4 KiB, iova aligned) */
    IMS_PINV_T_PASID_DEVTLB = 4, /* rid (sid), pasid, iova, size (as devtlb) */
};
/* PGRESP response codes (PCIe page request group response; VT-d 7.7). */
enum ims_rec_pgresp_code {
    IMS_PGRESP_SUCCESS = 0,
    IMS_PGRESP_INVALID = 1,  /* invalid request */
    IMS_PGRESP_FAILURE = 15, /* response failure */
};
#define IMS_REC_VM_NONE 0xffu /* PROC: a host process */
#define IMS_REC_PRG_MAX 511u  /* PGRESP: page request group index, 9 bits */

#define IMS_REC_LABEL_MAX 24 /* MARK label, including the terminating NUL */

/* DMA expected fault reasons are VT-d's whole 8-bit fault reason field,
 * 1..IMS_REC_REASON_MAX: the legacy-mode codes of enum ims_fault_reason and
 * the scalable-mode ones (0x30 and up), which the model does not produce (a
 * replay counts a recorded one as a mismatch). */
#define IMS_REC_REASON_MAX 255u

struct ims_rec {
    uint64_t ts;     /* nanoseconds since the trace's start (DMA; others optional) */
    uint64_t iova;   /* DMA/MAP/UNMAP address; INV_IOTLB page address */
    uint64_t pa;     /* DMA expected output; MAP output; ATTACH recorded table root */
    uint64_t size;   /* bytes (DMA: at most 2^32 - 1) */
    uint32_t pasid;  /* DMA with IMS_RECF_PASID; ATTACH SM: RID_PASID; BIND, INV_PASID, PGRESP */
    uint16_t rid;    /* DMA/ATTACH/DETACH: the device's own requester id (bus:dev.fn);
                        the replayer applies bridge aliasing from the header's
                        topology. INV_CTX device: source id as seen by the IOMMU. */
    uint16_t did;    /* domain id */
    uint16_t prg;    /* PGRESP: page request group index (0..IMS_REC_PRG_MAX) */
    uint8_t kind;    /* enum ims_rec_kind */
    uint8_t flags;   /* IMS_RECF_* */
    uint8_t perm;    /* MAP: IMS_PERM_*; PMAP: IMS_TB_SM_W, _X, _KERNEL */
    uint8_t gran;    /* INV_*: enum ims_inv_gran */
    uint8_t am;      /* INV_IOTLB page: address mask (2^am pages) */
    uint8_t fm;      /* INV_CTX device: function mask */
    uint8_t levels;  /* ATTACH: 3, 4 or 5; VM: 3..5; PROC: 4 or 5 */
    uint8_t tt;      /* ATTACH: enum ims_tt */
    uint8_t reason;  /* DMA with IMS_RECF_EXPECT_FAULT: 1..IMS_REC_REASON_MAX (VT-d fault reason) */
    uint8_t pid;     /* PROC, PMAP, PUNMAP, BIND first level: process 0..63 */
    uint8_t vm;      /* VM: 0..7; PROC: 0..7 or IMS_REC_VM_NONE */
    uint8_t target;  /* INV_PASID: enum ims_rec_pinv_target */
    uint8_t resp;    /* PGRESP: enum ims_rec_pgresp_code */
    char label[IMS_REC_LABEL_MAX]; /* MARK */
};

#define IMS_TRACE_TEXT_MAX 256

struct ims_trace_hdr {
    uint32_t version;                  /* as read: binary 1, 2 or 3, text 1; writers ignore it */
    bool scalable;                     /* VT-d scalable mode (binary v3 header flag 0x2, text `mode scalable`); else legacy */
    char creator[IMS_TRACE_TEXT_MAX];  /* tool and version that wrote it */
    char source[IMS_TRACE_TEXT_MAX];   /* how it was made: recording command, generator + seed */
    struct ims_topo topo;              /* devices and bridges (owned by the header) */
};
/* Frees the topology arrays; the struct itself is the caller's. */
void ims_trace_hdr_free(struct ims_trace_hdr *hdr);
/* Deep copy. */
int ims_trace_hdr_copy(struct ims_trace_hdr *dst, const struct ims_trace_hdr *src);

enum ims_trace_form {
    IMS_TRACE_BINARY = 0,
    IMS_TRACE_BINARY_ZSTD = 1,
    IMS_TRACE_TEXT = 2,
};
/* Form for an output path by suffix; -1 if the suffix is not known. */
int ims_trace_form_from_path(const char *path);

struct ims_trace_reader;
/* NULL with a message in err on failure (missing file, bad magic, unknown
 * version, truncated header). path "-" is standard input, named
 * IMS_TRACE_STDIN_NAME in messages. Any form may come from a pipe or FIFO
 * (its first bytes are kept for the form's detection); only the reading
 * is streamed, so nothing else needs the file again. */
#define IMS_TRACE_STDIN_NAME "(standard input)"
/* The name messages give an input: IMS_TRACE_STDIN_NAME for "-", else path. */
const char *ims_trace_input_name(const char *path);
struct ims_trace_reader *ims_trace_open(const char *path, char *err, size_t errlen);
const struct ims_trace_hdr *ims_trace_header(const struct ims_trace_reader *r);
/* 1: a record in *rec; 0: end of trace; -1: error (ims_trace_error()). */
int ims_trace_next(struct ims_trace_reader *r, struct ims_rec *rec);
/* Up to max records; returns how many (0 at the end) or -1 on error. */
long ims_trace_read(struct ims_trace_reader *r, struct ims_rec *recs, size_t max);
const char *ims_trace_error(const struct ims_trace_reader *r);
/* Moves a zstd-compressed reader's decompression to a thread of its own,
 * up to 2 MiB ahead of the reads (records, errors and their order are as
 * without it; ims_trace_close ends the thread). Returns 1 if the thread
 * runs, 0 if the reader decompresses on the caller's thread: not zstd,
 * failed, or decompressed to its end already (a stream of less than
 * 512 KiB is, once opened), or no thread could be made (nothing is lost
 * then but the overlap). Call it between reads, not during one. */
int ims_trace_read_ahead(struct ims_trace_reader *r);
/* Index of the next record to be read (0-based). */
uint64_t ims_trace_index(const struct ims_trace_reader *r);
void ims_trace_close(struct ims_trace_reader *r);

struct ims_trace_writer;
struct ims_trace_writer *ims_trace_create(const char *path, const struct ims_trace_hdr *hdr, char *err,
                                          size_t errlen);
/* The same, writing binary version `version` (2 or 3; the text form has
 * one version and ignores it). */
struct ims_trace_writer *ims_trace_create_version(const char *path, const struct ims_trace_hdr *hdr,
                                                  unsigned version, char *err, size_t errlen);
/* 0 or -1 (message via ims_trace_writer_error()). Records are checked
 * (known kind, fields in range) before they are written. */
int ims_trace_write(struct ims_trace_writer *w, const struct ims_rec *rec);
const char *ims_trace_writer_error(const struct ims_trace_writer *w);
/* Flushes, renames the temporary file into place and frees w; 0 or -1 with err. */
int ims_trace_commit(struct ims_trace_writer *w, char *err, size_t errlen);
/* Removes the temporary file and frees w. */
void ims_trace_abort(struct ims_trace_writer *w);

/* Text form of one record (one line, no newline); returns chars written like snprintf. */
int ims_rec_format(const struct ims_rec *rec, char *buf, size_t len);

/* Added for tools and tests (compatible extension). */
/* The form a reader detected (enum ims_trace_form). */
int ims_trace_reader_form(const struct ims_trace_reader *r);
/* Checks that the fields rec->kind uses are in range: 0, or -1 with a message. */
int ims_rec_check(const struct ims_rec *rec, char *err, size_t errlen);
/* Canonical copy: the fields rec->kind uses, every other field zero (what the
 * readers return; two records are equal in every form iff their canonical
 * copies are byte-identical). */
void ims_rec_canon(const struct ims_rec *in, struct ims_rec *out);

#ifdef __cplusplus
}
#endif

#endif /* IMS_TRACE_H */
