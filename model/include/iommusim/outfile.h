/* Output files written whole or not at all, without harming what the path
 * names. Used by every file the tools write: traces (ims_trace_create) and
 * the run reports (--json, --csv).
 *
 * Contract (docs/tools.md, "Output files"):
 * - "-" is standard output, written through.
 * - A regular file, or a path that does not exist yet, is written into a
 *   temporary file OUT.tmp.XXXXXX next to it, renamed over OUT on commit:
 *   OUT is whole or untouched. An existing file keeps its permission bits.
 * - A symbolic link is followed: the temporary file goes next to its final
 *   target and is renamed onto the target, so the link stays a link.
 * - A character device or FIFO is written through (never replaced); write
 *   errors (ENOSPC from /dev/full, EPIPE) are reported by commit.
 * - A directory, or anything else (socket, block device), is refused.
 * - While a temporary file exists, SIGINT, SIGTERM, SIGHUP and SIGPIPE
 *   remove it before the process dies of that signal (the handler is
 *   installed on the first open; a signal ignored at that time stays
 *   ignored). This registry is the library's only process-wide state: a
 *   signal handler cannot be given an instance.
 * Errors name the path: "out.json: is a directory". Not thread-safe.
 */
#ifndef IMS_OUTFILE_H
#define IMS_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ims_outfile;

/* How an output reaches its path. */
enum ims_outfile_kind {
    IMS_OUTFILE_RENAME = 0,  /* temporary file renamed into place on commit */
    IMS_OUTFILE_THROUGH = 1, /* device or FIFO: written directly */
    IMS_OUTFILE_STDOUT = 2,  /* "-" */
};

/* Opens path for writing (creates the temporary file now, so a path that
 * cannot be written fails before any long work). NULL with a message in err. */
struct ims_outfile *ims_outfile_open(const char *path, char *err, size_t errlen);
/* The stream to write to. */
FILE *ims_outfile_stream(struct ims_outfile *o);
enum ims_outfile_kind ims_outfile_kind(const struct ims_outfile *o);
/* Flushes, syncs and closes; renames the temporary file into place. Frees o.
 * 0, or -1 with "path: write error: No space left on device" (or similar) in
 * err; on error a temporary file is removed and the old OUT is untouched. */
int ims_outfile_commit(struct ims_outfile *o, char *err, size_t errlen);
/* Closes and removes the temporary file (OUT untouched). Frees o; NULL is a no-op. */
void ims_outfile_abort(struct ims_outfile *o);
/* Writes len bytes to path whole or not at all (open, write, commit). */
int ims_outfile_write_all(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* True if a and b name the same file: the same device and inode when both
 * exist (links followed), else the same resolved path; "-" equals only "-".
 * Used to refuse an output that is also an input or another output. */
bool ims_outfile_same(const char *a, const char *b);
/* True if path names a character device (e.g. /dev/null; not "-"), which two
 * outputs may share harmlessly. */
bool ims_outfile_is_chardev(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* IMS_OUTFILE_H */
