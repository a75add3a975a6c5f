/* Simulated physical memory: sparse, 64-bit, allocated on touch.
 *
 * Contract: memory that was never written reads as zero. Accesses are
 * little-endian. The IOMMU core never touches struct ims_mem directly: every
 * read and write it makes goes through a struct ims_mem_ops, so a timing layer
 * can count and time each page-table read and fault-record write. Software
 * (the table builder, tests, fault-queue drains) uses the direct accessors.
 */
#ifndef IMS_MEM_H
#define IMS_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMS_PAGE_SHIFT 12
#define IMS_PAGE_SIZE  (UINT64_C(1) << IMS_PAGE_SHIFT)

struct ims_mem;

struct ims_mem *ims_mem_create(void);
void ims_mem_destroy(struct ims_mem *mem);

/* pa must be 8-byte aligned. */
uint64_t ims_mem_read64(struct ims_mem *mem, uint64_t pa);
void ims_mem_write64(struct ims_mem *mem, uint64_t pa, uint64_t val);
/* Byte-granular copies; may cross page boundaries. */
void ims_mem_read(struct ims_mem *mem, uint64_t pa, void *buf, size_t len);
void ims_mem_write(struct ims_mem *mem, uint64_t pa, const void *buf, size_t len);
/* Zero a whole 4 KiB frame (pa page-aligned); frees its backing store. */
void ims_mem_zero_page(struct ims_mem *mem, uint64_t pa);
/* Number of 4 KiB frames currently backed. */
size_t ims_mem_pages(const struct ims_mem *mem);
/* The backing store of the 4 KiB frame holding pa (read-only view), or NULL
 * if that frame was never written (it reads as zero). Frames do not move:
 * the pointer stays valid, and sees every later write, until
 * ims_mem_zero_page() frees that frame (the free hook below says when). */
const void *ims_mem_frame(struct ims_mem *mem, uint64_t pa);
/* Calls fn(ctx, pa) just before ims_mem_zero_page() frees the backing store
 * of the frame at pa, so that whoever holds pointers from ims_mem_frame()
 * (a TLM target handing out DMI pointers) can drop them. One hook per
 * memory; fn NULL removes it. */
void ims_mem_set_free_hook(struct ims_mem *mem, void (*fn)(void *ctx, uint64_t pa), void *ctx);

/* Why the IOMMU touches memory; lets the timing layer account per kind. */
enum ims_mem_kind {
    IMS_MEM_ROOT,    /* root-table entry read */
    IMS_MEM_CONTEXT, /* context-table entry read */
    IMS_MEM_PTE,     /* paging-structure entry read */
    IMS_MEM_FAULT,   /* fault-record write */
    IMS_MEM_KIND_COUNT
};

/* Contract: read64/write64 behave like ims_mem_read64/write64 on the backing
 * memory; they may count or time the access but must not change its value.
 * read64_err may be NULL. If it is set, the IOMMU uses it instead of read64
 * for every table read: it behaves like read64, and sets *error (and returns
 * 0) when the memory answers the read with an error (an unsupported-request
 * or completer-abort completion, an uncorrectable data error). The IOMMU
 * then reports the access-error fault of what it was reading (VT-d fault
 * reasons 0x8 root table, 0x9 context table, 0x7 paging entry). Ops without
 * it (read64_err NULL) never fail a read. */
struct ims_mem_ops {
    uint64_t (*read64)(void *ctx, uint64_t pa, enum ims_mem_kind kind);
    void (*write64)(void *ctx, uint64_t pa, uint64_t val, enum ims_mem_kind kind);
    uint64_t (*read64_err)(void *ctx, uint64_t pa, enum ims_mem_kind kind, bool *error);
};

/* Reads the ops make through ims_mem_direct_ops (read64_err) at byte
 * addresses in [lo, hi] answer with an error, as a hole in the platform's
 * address map or poisoned memory would; lo > hi (the default) means none.
 * One range per memory; a new call replaces it. The direct accessors
 * (ims_mem_read64, ...) and all writes are unaffected. */
void ims_mem_set_error_range(struct ims_mem *mem, uint64_t lo, uint64_t hi);

/* Pass-through ops: ctx is a struct ims_mem *. read64_err honours the
 * memory's error range. */
extern const struct ims_mem_ops ims_mem_direct_ops;

#ifdef __cplusplus
}
#endif

#endif /* IMS_MEM_H */
