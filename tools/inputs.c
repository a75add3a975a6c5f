/* The inputs `iommusim run` and `iommusim sweep` share: how --config finds
 * a configuration, and a trace file's digest. One home for both, so a run
 * and a sweep point resolve the same name to the same file and record the
 * same digest (docs/tools.md, "Inputs"). */
#define _GNU_SOURCE /* asprintf */

#include <dirent.h>
#include <errno.h>
#include <nettle/sha2.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

static void oom(void)
{
    fputs("iommusim: out of memory\n", stderr);
    abort();
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a, b, c": the configurations shipped in dir (its .cfg files without the
 * suffix), sorted; "none" if there are none. */
static void shipped_configs(const char *dir, char *out, size_t len)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    for (const struct dirent *e; d && (e = readdir(d));) {
        const size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".cfg"))
            continue;
        if (n == cap && !(names = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names)))
            oom();
        if (!(names[n] = strndup(e->d_name, l - 4)))
            oom();
        n++;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (at < len)
            at += (size_t)snprintf(out + at, len - at, "%s%s", i ? ", " : "", names[i]);
        free(names[i]);
    }
    free(names);
    if (!n)
        snprintf(out, len, "none");
}

char *ims_config_path(const char *arg, char *why, size_t len)
{
    struct stat st;
    if (stat(arg, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(why, len, "--config %s: is a directory, not a configuration file", arg);
            return NULL;
        }
        char *p = strdup(arg);
        if (!p)
            oom();
        return p;
    }
    if (!*arg || strchr(arg, '/')) {
        snprintf(why, len, "--config %s: no such file", arg);
        return NULL;
    }
    char *dir = strdup(ims_data_dir());
    if (!dir)
        oom();
    for (size_t l = strlen(dir); l > 1 && dir[l - 1] == '/'; l--)
        dir[l - 1] = '\0';
    const size_t l = strlen(arg);
    const bool suffix = l > 4 && !strcmp(arg + l - 4, ".cfg");
    char *p = NULL, *cdir = NULL;
    if (asprintf(&p, "%s/configs/%s%s", dir, arg, suffix ? "" : ".cfg") < 0 ||
        asprintf(&cdir, "%s/configs", dir) < 0)
        oom();
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
        free(dir);
        free(cdir);
        return p;
    }
    char names[1024];
    shipped_configs(cdir, names, sizeof names);
    snprintf(why, len, "--config %s: no such file, and no configs/%s%s in %s (shipped configurations: %s)", arg, arg,
             suffix ? "" : ".cfg", dir, names);
    free(p);
    free(cdir);
    free(dir);
    return NULL;
}

int ims_file_digest(const char *path, char digest[IMS_DIGEST_LEN], unsigned long long *bytes, char *err, size_t len)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    unsigned char *buf = malloc(1 << 16);
    if (!buf)
        oom();
    size_t n;
    unsigned long long total = 0;
    while ((n = fread(buf, 1, 1 << 16, f)) > 0) {
        sha256_update(&ctx, n, buf);
        total += n;
    }
    free(buf);
    const bool bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, len, "%s: read error", path);
        return -1;
    }
    unsigned char d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof d, d);
    strcpy(digest, "sha256:");
    for (size_t i = 0; i < sizeof d; i++)
        sprintf(digest + 7 + 2 * i, "%02x", d[i]);
    if (bytes)
        *bytes = total;
    return 0;
}

unsigned ims_usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
