/* Helpers shared by the trace test suites: a scratch directory per test,
 * record comparison, reading a trace whole, copying it through a chain of
 * forms, expected read errors, QEMU log conversion, and small file
 * utilities. */
#ifndef IMS_TESTS_TRACE_UTIL_H
#define IMS_TESTS_TRACE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommusim/trace.h"

/* Creates a fresh scratch directory (setup) and removes it with its files
 * (teardown). tu_path() names a file inside it. */
void tu_setup(void);
void tu_teardown(void);
const char *tu_path(const char *name);

/* Field-by-field equality of the fields a record's kind uses (without the
 * library's codec: the fields are picked by a table written from the spec). */
bool tu_rec_equal(const struct ims_rec *a, const struct ims_rec *b);

/* Whole-file helpers. */
int tu_write_file(const char *path, const void *data, size_t len);
/* Returns a malloc'd copy of the file (NUL-terminated) and its length. */
char *tu_read_file(const char *path, size_t *len);
bool tu_exists(const char *path);

/* A header with two bridges (nested) and three devices. */
void tu_sample_hdr(struct ims_trace_hdr *h);

/* Record i of a long test trace: a map every fifth record, else a DMA of
 * varied size, direction, PASID and expected address (valid records, not
 * trivially compressible). */
void tu_varied_rec(uint64_t i, struct ims_rec *r);

/* Every record of a trace file, and its header (tu_read_all). */
struct tu_recs {
    struct ims_rec *v;
    size_t n;
    struct ims_trace_hdr hdr;
};
/* Reads the file at path (any form) whole into out; fails the test on any
 * error. tu_recs_free() releases it. */
void tu_read_all(const char *path, struct tu_recs *out);
void tu_recs_free(struct tu_recs *r);

/* Copies the scratch file chain[0] to chain[1], chain[1] to chain[2], ...
 * (n names; each read and written in the form its suffix names), then
 * checks that the last file is byte-identical to the first. Returns the
 * first file's text (malloc'd, NUL-terminated; the caller frees it). */
char *tu_copy_chain(const char *const *chain, size_t n);

/* Reads path to its first error, which must contain want and name path;
 * returns the index of the record that failed. */
uint64_t tu_expect_read_error(const char *path, const char *want);
/* The next record of r must be there and equal want (record i, as written);
 * got receives it. */
void tu_expect_rec(struct ims_trace_reader *r, size_t i, const struct ims_rec *want, struct ims_rec *got);

/* Writes the QEMU VT-d log text `log` to the scratch file in.log and
 * converts it, with the default options, into the scratch file `out`
 * (stats into st unless NULL). Returns ims_qemu_vtd_convert()'s result. */
struct ims_qemu_vtd_stats;
int tu_qemu_convert(const char *log, const char *out, struct ims_qemu_vtd_stats *st, char *err, size_t errlen);
/* tu_qemu_convert() into out.itr, which must succeed; then tu_read_all() of it. */
void tu_qemu_convert_ok(const char *log, struct ims_qemu_vtd_stats *st, struct tu_recs *out);

#endif
