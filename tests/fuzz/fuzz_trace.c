/* Fuzz target for the trace readers, driven as `iommusim trace validate`
 * drives them (ims_fuzz_replay_file): open (form detection, header), read
 * every record in batches to the end or the first error, and replay each
 * through the functional model.
 *
 * Built three times (tests/fuzz/CMakeLists.txt):
 * - IMS_FUZZ_FORM_BIN, IMS_FUZZ_FORM_TEXT: the input is the file;
 * - IMS_FUZZ_FORM_ZSTD: an input that starts with the zstd magic is the
 *   file (damaged frames); any other input is zstd-compressed first, so the
 *   mutator reaches the records behind the decompressor. */
#define _GNU_SOURCE /* memfd_create */
#include <string.h>

#include <zstd.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ims_fuzz_file f;
#ifdef IMS_FUZZ_FORM_ZSTD
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    if (size < 4 || memcmp(data, magic, 4) != 0) {
        size_t cap = ZSTD_compressBound(size);
        void *z = malloc(cap);
        if (!z)
            abort();
        size_t zn = ZSTD_compress(z, cap, data, size, 1);
        if (ZSTD_isError(zn))
            abort();
        ims_fuzz_file_open(&f, z, zn);
        free(z);
    } else {
        ims_fuzz_file_open(&f, data, size);
    }
#else
    ims_fuzz_file_open(&f, data, size);
#endif
    ims_fuzz_replay_file(f.path);
    ims_fuzz_file_close(&f);
    return 0;
}
