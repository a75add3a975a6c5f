/* Shared by the fuzz targets: the readers under test open paths (and the
 * trace reader seeks), so each input becomes an anonymous memory file whose
 * /proc/self/fd path they open like any regular file. */
#ifndef IMS_FUZZ_UTIL_H
#define IMS_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include (memfd_create)"
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct ims_fuzz_file {
    int fd;
    char path[64];
};

/* Writes data into a fresh memfd; aborts if the host cannot (not a finding). */
static inline void ims_fuzz_file_open(struct ims_fuzz_file *f, const void *data, size_t size)
{
    f->fd = memfd_create("ims-fuzz", MFD_CLOEXEC);
    if (f->fd < 0) {
        perror("memfd_create");
        abort();
    }
    const unsigned char *p = data;
    size_t left = size;
    while (left) {
        ssize_t n = write(f->fd, p, left);
        if (n <= 0) {
            perror("memfd write");
            abort();
        }
        p += n;
        left -= (size_t)n;
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

static inline void ims_fuzz_file_close(struct ims_fuzz_file *f)
{
    close(f->fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* fuzz_replay.c: reads the trace at path to its end and replays it. */
void ims_fuzz_replay_file(const char *path);

#endif /* IMS_FUZZ_UTIL_H */
