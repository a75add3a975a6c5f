/* Helpers shared by the trace test suites: a scratch directory per test,
 * record comparison, and small file utilities. */
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

#endif
