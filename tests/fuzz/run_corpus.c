/* A stand-in for the libFuzzer driver in ordinary (gcc, ASan, valgrind)
 * builds: runs a fuzz target's LLVMFuzzerTestOneInput on every file of the
 * directories or files named on the command line, so that every seed and
 * every input a fuzzer once crashed on is replayed by `ctest`. Prints how
 * many inputs ran; exit 2 if an argument cannot be read or no input ran. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "run_corpus: %s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "run_corpus: %s: read error\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    unsigned long ran = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "run_corpus: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_one(argv[i]) < 0)
                return 2;
            ran++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "run_corpus: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        /* Sorted, so that a failure names the same input every time. */
        char **names = NULL;
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char **nv = realloc(names, (nn + 1) * sizeof *names);
            if (!nv || !(nv[nn] = malloc(strlen(argv[i]) + strlen(e->d_name) + 2)))
                abort();
            names = nv;
            sprintf(names[nn++], "%s/%s", argv[i], e->d_name);
        }
        closedir(d);
        qsort(names, nn, sizeof *names, cmp_str);
        for (size_t j = 0; j < nn; j++) {
            fprintf(stderr, "run_corpus: %s\n", names[j]);
            int rc = run_one(names[j]);
            free(names[j]);
            if (rc < 0)
                return 2;
            ran++;
        }
        free(names);
    }
    printf("run_corpus: %lu inputs ran\n", ran);
    return ran ? 0 : 2;
}
