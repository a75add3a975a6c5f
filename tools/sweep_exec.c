/* `iommusim sweep`: runs points on local cores. Each point is one
 * `iommusim run --quiet --json DIR/points/<id>.json ...` of this very binary
 * (/proc/self/exe), at most `jobs` at a time: a process per point isolates
 * them (SystemC runs one simulation per process; a crash or a full disk
 * fails that point only) and costs a few ms (docs/performance.md, "Sweeps").
 * The run writes its JSON whole or not at all; its stderr goes to
 * DIR/points/<id>.err, kept when the point fails. SIGINT, SIGTERM and SIGHUP
 * are taken synchronously (sigtimedwait): the running points are sent
 * SIGTERM (each removes its temporary file) and reaped, then the caller
 * dies of the same signal. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sweep.h"

const char *sw_self_exe(void)
{
    static char exe[PATH_MAX];
    if (!exe[0]) {
        const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            fprintf(stderr, "iommusim sweep: /proc/self/exe: %s\n", strerror(errno));
            exit(2);
        }
        exe[n] = '\0';
    }
    return exe;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct slot {
    pid_t pid;
    size_t point;
    double t0;
};

static void point_path(const struct sw_plan *p, const char *dir, size_t i, const char *ext, char *buf, size_t len)
{
    char id[32];
    sw_point_id(p, i, id, sizeof id);
    snprintf(buf, len, "%s/points/%s.%s", dir, id, ext);
}

/* jobs > 1: the points running beside this one keep the CPUs busy, so its
 * trace is decompressed on its reader's thread (run --read-ahead off), not
 * on a third thread that would only compete for them; with one job at a
 * time, run decides (auto). */
static pid_t spawn(const struct sw_plan *p, const char *dir, size_t i, const sigset_t *mask, unsigned jobs)
{
    const struct sw_point *pt = &p->pts[i];
    char json[PATH_MAX], err[PATH_MAX];
    point_path(p, dir, i, "json", json, sizeof json);
    point_path(p, dir, i, "err", err, sizeof err);
    /* A stale result (another plan's, a changed trace) must not outlive a
     * rerun that fails. */
    unlink(json);
    const size_t argc = 11 + 2 * pt->nkv; /* argv[0] included */
    char **argv = sw_xmalloc((argc + 1) * sizeof *argv);
    size_t a = 0;
    argv[a++] = (char *)"iommusim";
    argv[a++] = (char *)"run";
    argv[a++] = (char *)"--quiet";
    argv[a++] = (char *)"--read-ahead";
    argv[a++] = (char *)(jobs > 1 ? "off" : "auto");
    argv[a++] = (char *)"--trace";
    argv[a++] = p->traces[pt->trace];
    argv[a++] = (char *)"--config";
    argv[a++] = p->configs[pt->config];
    for (size_t k = 0; k < pt->nkv; k++) {
        argv[a++] = (char *)"--set";
        argv[a++] = pt->kv[k];
    }
    argv[a++] = (char *)"--json";
    argv[a++] = json;
    argv[a] = NULL;
    fflush(NULL);
    const pid_t pid = fork();
    if (pid == 0) {
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_SETMASK, mask, NULL);
        const int in = open("/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY);
        const int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || (e >= 0 && dup2(e, 2) < 0))
            _exit(127);
        if (!getenv("IMS_SWEEP_EXEC")) {
            /* In-process: the run command in this forked copy, which has not
             * started SystemC (one simulation per process): no exec, no
             * dynamic linking again (docs/performance.md, "Sweeps"). */
            const int rc = ims_cmd_run((int)argc - 1, argv + 1);
            fflush(NULL);
            _exit(rc);
        }
        execv(sw_self_exe(), argv);
        fprintf(stderr, "iommusim sweep: %s: cannot run: %s\n", sw_self_exe(), strerror(errno));
        _exit(127);
    }
    free(argv);
    if (pid < 0)
        fprintf(stderr, "iommusim sweep: fork: %s\n", strerror(errno));
    return pid;
}

/* The last lines of a failed point's stderr, indented. */
static void tail(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *ring[8] = {0};
    char *line = NULL;
    size_t cap = 0, n = 0;
    while (getline(&line, &cap, f) >= 0) {
        free(ring[n % (size_t)lines]);
        ring[n % (size_t)lines] = sw_xstrdup(line);
        n++;
    }
    fclose(f);
    free(line);
    const size_t first = n > (size_t)lines ? n - (size_t)lines : 0;
    if (n == 0)
        fputs("  | (no output)\n", stderr);
    for (size_t k = first; k < n; k++) {
        char *s = ring[k % (size_t)lines];
        const size_t l = strlen(s);
        fprintf(stderr, "  | %s%s", s, l && s[l - 1] == '\n' ? "" : "\n");
    }
    for (int k = 0; k < lines; k++)
        free(ring[k]);
}

static void hms(double s, char *buf, size_t len)
{
    const long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void bar(size_t done, size_t total, size_t failed, double start)
{
    const double el = now() - start;
    char e[32], eta[32] = "?";
    hms(el, e, sizeof e);
    if (done)
        hms(el / (double)done * (double)(total - done), eta, sizeof eta);
    const int width = 30, fill = total ? (int)(width * done / total) : width;
    fprintf(stderr, "\r\033[K[%.*s%.*s] %zu/%zu points", fill, "##############################", width - fill,
            "..............................", done, total);
    if (failed)
        fprintf(stderr, ", %zu failed", failed);
    fprintf(stderr, "  elapsed %s  ETA %s", e, eta);
    fflush(stderr);
}

static void noop(int sig)
{
    (void)sig;
}

void sw_exec(const struct sw_plan *p, const char *dir, const size_t *todo, size_t ntodo, unsigned jobs, enum sw_log log,
             struct sw_exec_result *r)
{
    memset(r, 0, sizeof *r);
    if (jobs < 1)
        jobs = 1;
    struct slot *run = sw_xmalloc(jobs * sizeof *run);
    size_t nrun = 0, next = 0, done = 0;
    sigset_t set, orig;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    struct sigaction sa = {.sa_handler = noop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL); /* a handler, so that SIGCHLD is never discarded */
    sigprocmask(SIG_BLOCK, &set, &orig);
    const double start = now();
    bool spawn_failed = false;
    while ((next < ntodo && !spawn_failed) || nrun) {
        while (nrun < jobs && next < ntodo && !spawn_failed) {
            const pid_t pid = spawn(p, dir, todo[next], &orig, jobs);
            if (pid < 0) {
                spawn_failed = true;
                break;
            }
            run[nrun++] = (struct slot){pid, todo[next++], now()};
        }
        if (log == SW_LOG_BAR)
            bar(done, ntodo, r->failed, start);
        if (!nrun)
            break;
        const struct timespec tick = {1, 0};
        const int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            for (size_t s = 0; s < nrun; s++)
                kill(run[s].pid, SIGTERM);
            for (size_t s = 0; s < nrun; s++) {
                char err[PATH_MAX];
                while (waitpid(run[s].pid, NULL, 0) < 0 && errno == EINTR)
                    ;
                point_path(p, dir, run[s].point, "err", err, sizeof err);
                unlink(err);
            }
            if (log == SW_LOG_BAR)
                fputs("\n", stderr);
            r->signal = sig;
            break;
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            size_t s = 0;
            while (s < nrun && run[s].pid != pid)
                s++;
            if (s == nrun)
                continue;
            const struct slot sl = run[s];
            run[s] = run[--nrun];
            done++;
            r->ran++;
            const bool exited = WIFEXITED(status);
            const int code = exited ? WEXITSTATUS(status) : -1;
            const bool result = (code == 0 || code == 1) && sw_point_done(p, dir, sl.point);
            char err[PATH_MAX], id[32];
            point_path(p, dir, sl.point, "err", err, sizeof err);
            sw_point_id(p, sl.point, id, sizeof id);
            struct sw_buf d = {0};
            sw_point_desc(p, sl.point, &d);
            if (result) {
                unlink(err);
                if (code == 1)
                    r->mismatched++;
                if (log == SW_LOG_LINES)
                    fprintf(stderr, "iommusim sweep: point %s %s (%.2f s): %s\n", id,
                            code == 1 ? "ok, with mismatches" : "ok", now() - sl.t0, d.s);
            } else {
                r->failed++;
                /* Shown even with --quiet. */
                if (log == SW_LOG_BAR)
                    fputs("\r\033[K", stderr);
                if (exited)
                    fprintf(stderr, "iommusim sweep: point %s FAILED (exit %d): %s; stderr (%s):\n", id, code, d.s,
                            err);
                else
                    fprintf(stderr, "iommusim sweep: point %s FAILED (signal %d): %s; stderr (%s):\n", id,
                            WTERMSIG(status), d.s, err);
                tail(err, 5);
            }
            sw_buf_free(&d);
        }
    }
    if (log == SW_LOG_BAR && !r->signal) {
        bar(done, ntodo, r->failed, start);
        fputs("\n", stderr);
    }
    if (spawn_failed)
        r->failed += ntodo - next;
    sigprocmask(SIG_SETMASK, &orig, NULL);
    free(run);
}
