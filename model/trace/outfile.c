/* Output files: whole-or-nothing writes that never replace a device, FIFO or
 * symbolic link with a regular file, and temporary files that do not outlive
 * an interrupt. The contract is in iommusim/outfile.h. */
#define _XOPEN_SOURCE 700 /* realpath */

#include "iommusim/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"

#define OF_MAX_LINKS 40 /* as the kernel's limit on nested symbolic links */

struct ims_outfile {
    char *path;   /* as given, for messages */
    char *target; /* links followed: the file finally written */
    char *tmp;    /* IMS_OUTFILE_RENAME: the temporary file */
    int slot;     /* its slot in the signal registry, or -1 */
    enum ims_outfile_kind kind;
    FILE *f;
};

/* ---- Temporary files removed on a fatal signal ----
 * A fixed table, so that the handler touches no allocator: it only reads the
 * slots in use and calls unlink(), both async-signal-safe (POSIX 2.4.3). */

#define OF_SLOTS 16
#define OF_PATH_MAX 4096

static char of_paths[OF_SLOTS][OF_PATH_MAX];
static volatile sig_atomic_t of_used[OF_SLOTS];
static const int of_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define OF_NSIG (sizeof of_signals / sizeof of_signals[0])
static struct sigaction of_old[OF_NSIG];
static bool of_installed;

static void of_on_signal(int sig)
{
    int saved = errno;
    for (int i = 0; i < OF_SLOTS; i++)
        if (of_used[i])
            unlink(of_paths[i]);
    /* Back to what was there before (normally the default action) and again:
     * the process ends as the signal says, and its parent sees that. */
    for (size_t i = 0; i < OF_NSIG; i++)
        if (of_signals[i] == sig)
            sigaction(sig, &of_old[i], NULL);
    raise(sig);
    errno = saved;
}

static void of_install(void)
{
    if (of_installed)
        return;
    of_installed = true;
    for (size_t i = 0; i < OF_NSIG; i++) {
        struct sigaction old;
        if (sigaction(of_signals[i], NULL, &old) != 0)
            continue;
        of_old[i] = old;
        if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
            continue; /* ignored by whoever started us (nohup): keep it so */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = of_on_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t j = 0; j < OF_NSIG; j++)
            sigaddset(&sa.sa_mask, of_signals[j]);
        sigaction(of_signals[i], &sa, NULL);
    }
}

static void of_block(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    for (size_t i = 0; i < OF_NSIG; i++)
        sigaddset(&s, of_signals[i]);
    sigprocmask(SIG_BLOCK, &s, old);
}

/* Registers path; the slot, or -1 if the table is full or the path too long
 * (the file is then only not removed on a signal). */
static int of_register(const char *path)
{
    of_install();
    if (strlen(path) >= OF_PATH_MAX)
        return -1;
    for (int i = 0; i < OF_SLOTS; i++)
        if (!of_used[i]) {
            strcpy(of_paths[i], path);
            of_used[i] = 1; /* published after the path is complete */
            return i;
        }
    return -1;
}

static void of_unregister(int slot)
{
    if (slot >= 0)
        of_used[slot] = 0;
}

/* ---- Paths ---- */

/* The directory part of p ("." if none), newly allocated. */
static char *dir_of(const char *p)
{
    const char *s = strrchr(p, '/');
    if (!s)
        return strdup(".");
    if (s == p)
        return strdup("/");
    return strndup(p, (size_t)(s - p));
}

/* Follows symbolic links from path to the file they finally name (which may
 * not exist). Newly allocated; NULL with errno set (ELOOP, ENOMEM). */
static char *follow_links(const char *path)
{
    char *cur = strdup(path);
    for (int n = 0; cur; n++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur;
        if (n == OF_MAX_LINKS) {
            free(cur);
            errno = ELOOP;
            return NULL;
        }
        char link[OF_PATH_MAX];
        ssize_t len = readlink(cur, link, sizeof link - 1);
        if (len < 0) {
            free(cur);
            return NULL;
        }
        link[len] = '\0';
        char *next;
        if (link[0] == '/') {
            next = strdup(link);
        } else {
            char *d = dir_of(cur);
            next = d ? malloc(strlen(d) + strlen(link) + 2) : NULL;
            if (next)
                sprintf(next, "%s/%s", d, link);
            free(d);
        }
        free(cur);
        cur = next;
    }
    errno = ENOMEM;
    return NULL;
}

/* An absolute path for p with links followed and the directory resolved,
 * for files that may not exist yet. Newly allocated, or NULL. */
static char *canonical(const char *p)
{
    char *t = follow_links(p);
    if (!t)
        return NULL;
    char *r = realpath(t, NULL);
    if (r) {
        free(t);
        return r;
    }
    char *d = dir_of(t), *rd = d ? realpath(d, NULL) : NULL;
    const char *base = strrchr(t, '/') ? strrchr(t, '/') + 1 : t;
    char *out = NULL;
    if (rd && (out = malloc(strlen(rd) + strlen(base) + 2)))
        sprintf(out, "%s/%s", rd, base);
    free(rd);
    free(d);
    if (!out)
        return t;
    free(t);
    return out;
}

bool ims_outfile_same(const char *a, const char *b)
{
    bool da = !strcmp(a, "-"), db = !strcmp(b, "-");
    if (da || db)
        return da && db;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char *ca = canonical(a), *cb = canonical(b);
    bool same = ca && cb ? !strcmp(ca, cb) : !strcmp(a, b);
    free(ca);
    free(cb);
    return same;
}

bool ims_outfile_is_chardev(const char *path)
{
    struct stat st;
    return strcmp(path, "-") && stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

/* ---- Open, commit, abort ---- */

static void of_free(struct ims_outfile *o)
{
    free(o->path);
    free(o->target);
    free(o->tmp);
    free(o);
}

struct ims_outfile *ims_outfile_open(const char *path, char *err, size_t errlen)
{
    struct ims_outfile *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        ims_errf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    o->slot = -1;
    if (!strcmp(path, "-")) {
        o->kind = IMS_OUTFILE_STDOUT;
        o->f = stdout;
        return o;
    }
    if (!*path) {
        ims_errf(err, errlen, "empty output path");
        of_free(o);
        return NULL;
    }
    o->target = follow_links(path);
    if (!o->target) {
        ims_errf(err, errlen, "%s: cannot follow the symbolic link: %s", path, strerror(errno));
        of_free(o);
        return NULL;
    }
    struct stat st;
    bool exists = stat(o->target, &st) == 0;
    if (!exists && errno != ENOENT) {
        ims_errf(err, errlen, "%s: %s", path, strerror(errno));
        of_free(o);
        return NULL;
    }
    if (exists && S_ISDIR(st.st_mode)) {
        ims_errf(err, errlen, "%s: is a directory", path);
        of_free(o);
        return NULL;
    }
    if (exists && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
        /* Write through: replacing /dev/full or a FIFO with a regular file
         * would break it for everyone else. A FIFO blocks here until it has
         * a reader, as any writer does. */
        o->kind = IMS_OUTFILE_THROUGH;
        int fd = open(o->target, O_WRONLY | O_NOCTTY);
        if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
            ims_errf(err, errlen, "%s: cannot open for writing: %s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            of_free(o);
            return NULL;
        }
        return o;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        ims_errf(err, errlen, "%s: not a regular file, character device or FIFO: refusing to replace it", path);
        of_free(o);
        return NULL;
    }
    if (exists && access(o->target, W_OK) != 0) {
        ims_errf(err, errlen, "%s: not writable: %s", path, strerror(errno));
        of_free(o);
        return NULL;
    }
    o->kind = IMS_OUTFILE_RENAME;
    o->tmp = malloc(strlen(o->target) + sizeof ".tmp.XXXXXX");
    if (!o->tmp) {
        ims_errf(err, errlen, "%s: out of memory", path);
        of_free(o);
        return NULL;
    }
    sprintf(o->tmp, "%s.tmp.XXXXXX", o->target);
    /* Blocked until registered: an interrupt in between would leave it. */
    sigset_t old;
    of_block(&old);
    int fd = mkstemp(o->tmp);
    int e = errno;
    if (fd >= 0)
        o->slot = of_register(o->tmp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) {
        char *d = dir_of(o->target);
        ims_errf(err, errlen, "%s: cannot create a file in %s: %s", path, d ? d : ".", strerror(e));
        free(d);
        of_free(o);
        return NULL;
    }
    mode_t mode;
    if (exists) {
        mode = st.st_mode & 07777; /* the replaced file's permissions */
    } else {
        mode_t um = umask(0);
        umask(um);
        mode = 0666 & ~um;
    }
    if (fchmod(fd, mode) != 0) {
        /* Not fatal: the file stays private (mkstemp's 0600). */
    }
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        ims_errf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        ims_outfile_abort(o);
        return NULL;
    }
    return o;
}

FILE *ims_outfile_stream(struct ims_outfile *o)
{
    return o->f;
}

enum ims_outfile_kind ims_outfile_kind(const struct ims_outfile *o)
{
    return o->kind;
}

int ims_outfile_commit(struct ims_outfile *o, char *err, size_t errlen)
{
    int rc = 0;
    if (fflush(o->f) != 0 || ferror(o->f))
        rc = ims_errf(err, errlen, "%s: write error: %s", o->path, strerror(errno ? errno : EIO));
    if (o->kind == IMS_OUTFILE_STDOUT) {
        of_free(o);
        return rc;
    }
    if (rc == 0 && o->kind == IMS_OUTFILE_RENAME && fsync(fileno(o->f)) != 0)
        rc = ims_errf(err, errlen, "%s: fsync: %s", o->path, strerror(errno));
    FILE *f = o->f;
    o->f = NULL;
    if (fclose(f) != 0 && rc == 0)
        rc = ims_errf(err, errlen, "%s: write error: %s", o->path, strerror(errno));
    if (o->kind == IMS_OUTFILE_RENAME) {
        sigset_t old;
        of_block(&old);
        if (rc == 0 && rename(o->tmp, o->target) != 0)
            rc = ims_errf(err, errlen, "%s: cannot rename the temporary file into place: %s", o->path, strerror(errno));
        if (rc != 0)
            unlink(o->tmp);
        of_unregister(o->slot);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    of_free(o);
    return rc;
}

void ims_outfile_abort(struct ims_outfile *o)
{
    if (!o)
        return;
    if (o->f && o->kind != IMS_OUTFILE_STDOUT)
        fclose(o->f);
    else if (o->f)
        fflush(o->f);
    if (o->kind == IMS_OUTFILE_RENAME && o->tmp) {
        sigset_t old;
        of_block(&old);
        unlink(o->tmp);
        of_unregister(o->slot);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    of_free(o);
}

int ims_outfile_write_all(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    struct ims_outfile *o = ims_outfile_open(path, err, errlen);
    if (!o)
        return -1;
    if (len && fwrite(data, 1, len, o->f) != len) {
        ims_errf(err, errlen, "%s: write error: %s", path, strerror(errno));
        ims_outfile_abort(o);
        return -1;
    }
    return ims_outfile_commit(o, err, errlen);
}
