/* `iommusim sweep`: a design-space study in one command. Builds the plan
 * (traces x configurations x the --vary grid or a --points list), checks
 * every point before any runs, then runs the points that have no result yet
 * on local cores (sweep_exec.c) or as one Slurm job array (--slurm), and
 * rebuilds DIR/results.csv and DIR/results.json (sweep_results.c).
 * docs/tools.md ("iommusim sweep") and docs/experiments.md describe it. */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "iommusim/outfile.h"
#include "plot.h"
#include "sweep.h"

static const char usage_text[] =
    "usage: iommusim sweep --trace T... [--config C...] [--vary key=LIST]... --out DIR [options]\n"
    "       iommusim sweep --trace T... [--config C...] --points FILE --out DIR [options]\n"
    "       iommusim sweep --gather DIR\n"
    "\n"
    "Runs every point of a plan: each trace x each configuration x each combination\n"
    "of the varied values (or each line of a --points file), one `iommusim run` per\n"
    "point, and writes DIR/results.csv and DIR/results.json (a row per point).\n"
    "Points are ordered by trace, then configuration, then the --vary values, the\n"
    "first --vary varying slowest. Every key and value is checked before any point\n"
    "runs. Rerunning the same command skips the points that have their result.\n"
    "\n"
    "  --trace T...      traces (repeatable; several may follow one --trace)\n"
    "  --config C...     configurations, as for run (default: default)\n"
    "  --vary key=LIST   a key and its values: v1,v2,... ; FIRST..LAST (step 1),\n"
    "                    FIRST..LAST:+STEP, FIRST..LAST:xFACTOR (16..4096:x2), or a mix\n"
    "  --points FILE     one point per line: key=value key=value ... ('#' comments)\n"
    "  --out DIR         the sweep's directory (created): sweep.json, points/, results\n"
    "  --jobs N          points at once (default: the CPUs this process may use)\n"
    "  --dry-run         print the points and exit\n"
    "  --force           replace another plan in DIR (its points that do not match are rerun)\n"
    "  --quiet           no progress on stderr\n"
    "  --gather DIR      rebuild DIR/results.csv and .json from the points' JSON alone\n"
    "  --plot            then draw DIR/plots/ as `iommusim plot DIR` does (gnuplot)\n"
    "  --plot-format F   png, svg or both (default both); implies --plot\n"
    "\n"

    "Slurm (a job array on a cluster whose nodes share DIR, the traces and this binary):\n"
    "  --slurm           write DIR/slurm/job.sh and submit it with sbatch\n"
    "  --chunk K         points per array task (default: the fewest that make <= 1000 tasks)\n"
    "  --partition P, --time T   sbatch's --partition and --time\n"
    "  --sbatch-arg ARG  one more sbatch option, e.g. --sbatch-arg=--mem=2G (repeatable)\n"
    "  --wait            wait for the job (sbatch --wait), then gather\n"
    "\n"
    "Exit status: 0 every point ok; 1 some points failed or disagreed with the\n"
    "recording (the count is printed); 2 bad arguments or input (before any point runs).\n";

static int usage_error(const char *fmt, const char *a)
{
    fputs("iommusim sweep: ", stderr);
    fprintf(stderr, fmt, a);
    fputs(" (iommusim sweep --help)\n", stderr);
    return 2;
}

struct opts {
    char **traces, **configs, **varys, **sbatch_args;
    size_t ntraces, nconfigs, nvarys, nsbatch;
    const char *points, *out, *gather, *partition, *time;
    long jobs, chunk, task;
    bool dry_run, force, quiet, slurm, wait;
    int plot;  /* IMS_PLOT_* formats to draw after gathering; 0: no plots */
};

static void push(char ***v, size_t *n, char *s)
{
    *v = sw_xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = s;
}

static bool number(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* 0 ok, 1 --help printed, 2 usage error (printed). */
static int parse(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        char opt[64];
        /* --name=value is --name value */
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq && (size_t)(eq - a) < sizeof opt) {
            snprintf(opt, sizeof opt, "%.*s", (int)(eq - a), a);
            val = eq + 1;
            a = opt;
        }
        const bool takes = !strcmp(a, "--trace") || !strcmp(a, "--config") || !strcmp(a, "--vary") ||
                           !strcmp(a, "--points") || !strcmp(a, "--out") || !strcmp(a, "--jobs") ||
                           !strcmp(a, "--chunk") || !strcmp(a, "--partition") || !strcmp(a, "--time") ||
                           !strcmp(a, "--sbatch-arg") || !strcmp(a, "--gather") || !strcmp(a, "--run-task") ||
                           !strcmp(a, "--plot-format");

        if (takes && !val) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            val = argv[++i];
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 1;
        } else if (!strcmp(a, "--trace") || !strcmp(a, "--config")) {
            const bool tr = a[2] == 't';
            for (;;) {
                if (!*val)
                    return usage_error("%s: empty file name", a);
                push(tr ? &o->traces : &o->configs, tr ? &o->ntraces : &o->nconfigs, (char *)val);
                if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2) || eq)
                    break;
                val = argv[++i];
            }
        } else if (!strcmp(a, "--vary")) {
            push(&o->varys, &o->nvarys, (char *)val);
        } else if (!strcmp(a, "--sbatch-arg")) {
            if (!*val)
                return usage_error("%s: empty", a);
            push(&o->sbatch_args, &o->nsbatch, (char *)val);
        } else if (!strcmp(a, "--points") || !strcmp(a, "--out") || !strcmp(a, "--gather") ||
                   !strcmp(a, "--partition") || !strcmp(a, "--time")) {
            const char **dst = a[2] == 'p' && a[3] == 'o' ? &o->points
                               : a[2] == 'o'              ? &o->out
                               : a[2] == 'g'              ? &o->gather
                               : a[2] == 'p'              ? &o->partition
                                                          : &o->time;
            if (*dst)
                return usage_error("%s given twice", a);
            if (!*val)
                return usage_error("%s: empty value", a);
            *dst = val;
        } else if (!strcmp(a, "--jobs")) {
            if (!number(val, 1, 4096, &o->jobs))
                return usage_error("--jobs: '%s' is not a number of jobs in [1, 4096]", val);
        } else if (!strcmp(a, "--chunk")) {
            if (!number(val, 1, IMS_SWEEP_MAX_POINTS, &o->chunk))
                return usage_error("--chunk: '%s' is not a number of points in [1, 100000]", val);
        } else if (!strcmp(a, "--run-task")) {
            if (!number(val, 0, IMS_SWEEP_MAX_POINTS, &o->task))
                return usage_error("--run-task: '%s' is not a task index", val);
            if (i + 1 >= argc)
                return usage_error("%s needs the sweep's directory after the task index", a);
            o->out = argv[++i];
        } else if (!strcmp(a, "--plot")) {
            if (!o->plot)
                o->plot = IMS_PLOT_PNG | IMS_PLOT_SVG;
        } else if (!strcmp(a, "--plot-format")) {
            if ((o->plot = ims_plot_format(val)) < 0)
                return usage_error("--plot-format: '%s' is not png, svg or both", val);
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = true;
        } else if (!strcmp(a, "--force")) {
            o->force = true;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = true;
        } else if (!strcmp(a, "--slurm")) {
            o->slurm = true;
        } else if (!strcmp(a, "--wait")) {
            o->wait = true;
        } else {
            return usage_error("unknown argument '%s'", argv[i]);
        }
    }
    return 0;
}

/* DIR and DIR/points exist and are writable. */
static int make_dirs(const char *out)
{
    struct stat st;
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "iommusim sweep: --out %s: cannot create: %s\n", out, strerror(errno));
        return -1;
    }
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "iommusim sweep: --out %s: not a directory\n", out);
        return -1;
    }
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/points", out);
    if ((mkdir(sub, 0777) != 0 && errno != EEXIST) || access(sub, W_OK | X_OK) != 0) {
        fprintf(stderr, "iommusim sweep: --out %s: cannot write %s: %s\n", out, sub, strerror(errno));
        return -1;
    }
    return 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct sw_buf b = {0};
    char chunk[4096];
    size_t n;
    sw_buf_put(&b, "");
    while ((n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[n] = '\0';
        sw_buf_put(&b, chunk);
    }
    fclose(f);
    return b.s;
}

/* --force over another plan: removes the point files whose ids the new plan
 * does not have (the others are rerun unless they match, sw_point_done). */
static void drop_extra_points(const struct sw_plan *p, const char *out)
{
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/points", out);
    DIR *d = opendir(sub);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        const char *dot = strchr(e->d_name, '.');
        if (!dot || dot == e->d_name || (strcmp(dot, ".json") && strcmp(dot, ".err")))
            continue;
        bool keep = (int)(dot - e->d_name) == p->idw;
        size_t id = 0;
        for (const char *c = e->d_name; c < dot; c++) {
            keep = keep && *c >= '0' && *c <= '9';
            id = id * 10 + (size_t)(*c - '0');
        }
        if (!keep || id >= p->npts) {
            char path[PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

/* Writes DIR/sweep.json, refusing to replace a different plan without --force. */
static int write_plan(const struct sw_plan *p, const char *out, bool force)
{
    struct sw_buf b = {0};
    sw_plan_json(p, &b);
    char path[PATH_MAX], err[1024];
    snprintf(path, sizeof path, "%s/sweep.json", out);
    char *old = read_all(path);
    int rc = 0;
    if (old && strcmp(old, b.s) != 0) {
        if (!force) {
            fprintf(stderr,
                    "iommusim sweep: %s holds another plan (other traces, configurations, values or working "
                    "directory): --force replaces it (its points that differ are rerun), or use another --out\n",
                    path);
            rc = -1;
        } else {
            drop_extra_points(p, out);
        }
    }
    if (rc == 0 && (!old || strcmp(old, b.s) != 0) && ims_outfile_write_all(path, b.s, b.n, err, sizeof err)) {
        fprintf(stderr, "iommusim sweep: %s\n", err);
        rc = -1;
    }
    free(old);
    sw_buf_free(&b);
    return rc;
}

/* --plot: DIR/plots from the results just gathered (the points that failed
 * have no row to draw). */
static int draw(const char *out, int formats)
{
    char dir[PATH_MAX + 8], err[1024];
    snprintf(dir, sizeof dir, "%s/plots", out);
    if (ims_plot_sweep(out, dir, formats, stdout, err, sizeof err)) {
        fprintf(stderr, "iommusim sweep: --plot: %s\n", err);
        return 2;
    }
    return 0;
}

static int finish(const struct sw_plan *p, const char *out, size_t skipped, const struct sw_exec_result *r, bool quiet,
                  int plot)
{
    size_t failed, mism;
    if (sw_gather(p, out, &failed, &mism))
        return 2;
    if (plot && draw(out, plot))
        return 2;

    if ((!quiet || failed || mism) && r)
        fprintf(stderr, "iommusim sweep: %zu points: %zu run now, %zu done before, %zu failed; %s/results.csv\n",
                p->npts, r->ran, skipped, failed, out);
    else if (!quiet || failed || mism)
        fprintf(stderr, "iommusim sweep: %zu points, %zu with a result, %zu failed; %s/results.csv\n", p->npts,
                p->npts - failed, failed, out);
    if (failed)
        fprintf(stderr, "iommusim sweep: %zu of %zu points failed (no result; rerun the command to retry them)\n",
                failed, p->npts);
    if (mism)
        fprintf(stderr, "iommusim sweep: %zu points disagreed with the recording (mismatches > 0)\n", mism);
    return failed || mism ? 1 : 0;
}

/* 'text' as one shell word. */
static void shell_word(struct sw_buf *b, const char *s)
{
    sw_buf_put(b, "'");
    for (const char *c = s; *c; c++)
        sw_buf_put(b, *c == '\'' ? "'\\''" : (char[2]){*c, 0});
    sw_buf_put(b, "'");
}

/* DIR/slurm/job.sh and its submission. */
static int slurm(const struct sw_plan *p, const char *out, const struct opts *o, size_t ntodo, size_t skipped)
{
    char abs[PATH_MAX], path[PATH_MAX + 32], err[1024];
    if (!realpath(out, abs)) {
        fprintf(stderr, "iommusim sweep: --out %s: %s\n", out, strerror(errno));
        return 2;
    }
    snprintf(path, sizeof path, "%s/slurm", abs);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "iommusim sweep: %s: cannot create: %s\n", path, strerror(errno));
        return 2;
    }
    const size_t chunk = o->chunk ? (size_t)o->chunk : (p->npts + 999) / 1000;
    const size_t tasks = (p->npts + chunk - 1) / chunk;
    struct sw_buf b = {0};
    sw_buf_printf(&b,
                  "#!/bin/bash\n"
                  "# Written by iommusim sweep --slurm. Array task I runs points [I*%zu, I*%zu+%zu) of the\n"
                  "# plan in %s/sweep.json, skipping those already done. Resubmit with: sbatch %s/slurm/job.sh\n"
                  "#SBATCH --job-name=iommusim-sweep\n"
                  "#SBATCH --array=0-%zu\n"
                  "#SBATCH --output=%s/slurm/task-%%a.out\n",
                  chunk, chunk, chunk, abs, abs, tasks - 1, abs);
    if (o->partition)
        sw_buf_printf(&b, "#SBATCH --partition=%s\n", o->partition);
    if (o->time)
        sw_buf_printf(&b, "#SBATCH --time=%s\n", o->time);
    for (size_t i = 0; i < o->nsbatch; i++)
        sw_buf_printf(&b, "#SBATCH %s\n", o->sbatch_args[i]);
    sw_buf_put(&b, "exec ");
    shell_word(&b, sw_self_exe());
    sw_buf_printf(&b, " sweep --chunk %zu --run-task \"$SLURM_ARRAY_TASK_ID\" ", chunk);
    shell_word(&b, abs);
    sw_buf_put(&b, "\n");
    snprintf(path, sizeof path, "%s/slurm/job.sh", abs);
    const int w = ims_outfile_write_all(path, b.s, b.n, err, sizeof err);
    sw_buf_free(&b);
    if (w) {
        fprintf(stderr, "iommusim sweep: %s\n", err);
        return 2;
    }
    chmod(path, 0755);
    if (ntodo == 0) {
        fprintf(stderr, "iommusim sweep: every point is done already: nothing to submit\n");
        return finish(p, out, skipped, NULL, o->quiet, o->plot);
    }
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, "iommusim sweep: pipe: %s\n", strerror(errno));
        return 2;
    }
    fflush(NULL);
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        char *argv[] = {(char *)"sbatch", (char *)"--parsable", o->wait ? (char *)"--wait" : path, path, NULL};
        if (!o->wait)
            argv[3] = NULL;
        execvp("sbatch", argv);
        fprintf(stderr, "iommusim sweep: sbatch: cannot run: %s (is Slurm installed and in PATH?)\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256] = "";
    if (!f || !fgets(line, sizeof line, f))
        line[0] = '\0';
    line[strcspn(line, ";\r\n")] = '\0';
    if (line[0])
        fprintf(stderr,
                "iommusim sweep: submitted job %s: %zu array tasks of up to %zu points (%zu to run, %zu done)%s\n",
                line, tasks, chunk, ntodo, skipped, o->wait ? "; waiting for it" : "");
    if (f)
        while (fgetc(f) != EOF)
            ;
    if (f)
        fclose(f);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!line[0]) {
        fprintf(stderr, "iommusim sweep: sbatch submitted nothing (exit %d); the job script is %s\n", code, path);
        return 2;
    }
    if (!o->wait) {
        fprintf(stderr, "iommusim sweep: when it is done: iommusim sweep --gather %s%s (squeue -j %s shows it)\n", out,
                o->plot ? " --plot" : "", line);

        return 0;
    }
    if (code != 0)
        fprintf(stderr, "iommusim sweep: job %s ended with exit %d (task logs: %s/slurm/task-*.out)\n", line, code,
                abs);
    return finish(p, out, skipped, NULL, o->quiet, o->plot);
}

/* --gather DIR and --run-task I DIR: the plan from DIR/sweep.json, in its
 * working directory. */
static int from_plan(const struct opts *o, struct sw_plan *p, char *abs)
{
    const char *dir = o->gather ? o->gather : o->out;
    if (!realpath(dir, abs)) {
        fprintf(stderr, "iommusim sweep: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    if (sw_plan_read(abs, p))
        return 2;
    if (chdir(p->dir) != 0) {
        fprintf(stderr, "iommusim sweep: %s/sweep.json: its working directory %s: %s\n", abs, p->dir, strerror(errno));
        return 2;
    }
    return sw_plan_prepare(p, false) ? 2 : 0;
}

static int run_task(const struct opts *o)
{
    struct sw_plan p;
    char abs[PATH_MAX];
    int rc = from_plan(o, &p, abs);
    if (rc) {
        sw_plan_free(&p);
        return rc;
    }
    const size_t chunk = o->chunk ? (size_t)o->chunk : 1, first = (size_t)o->task * chunk;
    size_t *todo = sw_xmalloc(chunk * sizeof *todo), n = 0;
    for (size_t i = first; i < p.npts && i < first + chunk; i++)
        if (!sw_point_done(&p, abs, i))
            todo[n++] = i;
    long jobs = 1;
    const char *c = getenv("SLURM_CPUS_PER_TASK");
    if (c && !number(c, 1, 4096, &jobs))
        jobs = 1;
    fprintf(stderr, "iommusim sweep: task %ld: points %zu..%zu, %zu to run\n", o->task, first,
            first + chunk - 1 < p.npts ? first + chunk - 1 : p.npts - 1, n);
    struct sw_exec_result r;
    sw_exec(&p, abs, todo, n, (unsigned)jobs, SW_LOG_LINES, &r);
    free(todo);
    sw_plan_free(&p);
    if (r.signal) {
        signal(r.signal, SIG_DFL);
        raise(r.signal);
    }
    return r.failed ? 1 : 0;
}

int ims_cmd_sweep(int argc, char **argv)
{
    struct opts o = {0};
    o.task = -1;
    struct sw_plan p = {0};
    int rc = parse(argc, argv, &o);
    if (rc) {
        rc = rc == 1 ? 0 : 2; /* --help, or a usage error */
        goto done;
    }
    rc = 2;
    if (o.plot && !o.dry_run && o.task < 0) {
        char err[512];
        if (ims_plot_have_gnuplot(err, sizeof err)) { /* before any point runs */
            fprintf(stderr, "iommusim sweep: --plot: %s\n", err);
            goto done;
        }
    }
    if (o.task >= 0) {
        rc = run_task(&o);
        goto done;
    }
    if (o.gather) {
        if (o.ntraces || o.nconfigs || o.nvarys || o.points || o.out || o.slurm) {
            usage_error("--gather %s: takes no other option (it reads the plan in the directory)", o.gather);
            goto done;
        }
        char abs[PATH_MAX];
        if ((rc = from_plan(&o, &p, abs)) == 0)
            rc = finish(&p, abs, 0, NULL, o.quiet, o.plot);
        goto done;
    }
    if (!o.ntraces) {
        usage_error("%s", argc > 1 ? "no --trace: which traces?" : "no --trace, no --out");
        goto done;
    }
    if (!o.out && !o.dry_run) {
        usage_error("%s", "no --out DIR: where do the results go?");
        goto done;
    }
    if (o.points && o.nvarys) {
        usage_error("--points %s and --vary: one source of points", o.points);
        goto done;
    }
    if (!o.slurm && (o.partition || o.time || o.nsbatch || o.chunk || o.wait)) {
        usage_error("%s", "--partition, --time, --sbatch-arg, --chunk and --wait are options of --slurm");
        goto done;
    }
    if (o.slurm && o.jobs) {
        usage_error("%s",
                    "--jobs with --slurm: Slurm places the tasks (--sbatch-arg=--cpus-per-task=N for more per task)");
        goto done;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "iommusim sweep: the working directory: %s\n", strerror(errno));
        goto done;
    }
    p.dir = sw_xstrdup(cwd);
    for (size_t i = 0; i < o.ntraces; i++)
        p.traces = sw_xrealloc(p.traces, (i + 1) * sizeof *p.traces), p.traces[p.ntraces++] = sw_xstrdup(o.traces[i]);
    if (!o.nconfigs)
        push(&o.configs, &o.nconfigs, (char *)"default");
    for (size_t i = 0; i < o.nconfigs; i++)
        p.configs = sw_xrealloc(p.configs, (i + 1) * sizeof *p.configs),
        p.configs[p.nconfigs++] = sw_xstrdup(o.configs[i]);
    for (size_t i = 0; i < o.ntraces; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(o.traces[i], o.traces[j])) {
                usage_error("--trace %s given twice", o.traces[i]);
                goto done;
            }
    for (size_t i = 0; i < o.nconfigs; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(o.configs[i], o.configs[j])) {
                usage_error("--config %s given twice", o.configs[i]);
                goto done;
            }
    if (o.points) {
        if (sw_points_file(o.points, &p))
            goto done;
    }
    for (size_t i = 0; i < o.nvarys; i++) {
        p.vary = sw_xrealloc(p.vary, (p.nvary + 1) * sizeof *p.vary);
        if (sw_vary_parse(o.varys[i], &p.vary[p.nvary++]))
            goto done;
        for (size_t j = 0; j + 1 < p.nvary; j++)
            if (!strcmp(p.vary[j].key, p.vary[p.nvary - 1].key)) {
                fprintf(stderr, "iommusim sweep: --vary %s: key %s is varied already (--vary %s)\n", o.varys[i],
                        p.vary[j].key, p.vary[j].arg);
                goto done;
            }
    }
    if (sw_plan_grid(&p) || sw_plan_prepare(&p, true))
        goto done;
    if (o.dry_run) {
        for (size_t i = 0; i < p.npts; i++) {
            char id[32];
            struct sw_buf d = {0};
            sw_point_id(&p, i, id, sizeof id);
            sw_point_desc(&p, i, &d);
            printf("%s  %s\n", id, d.s);
            sw_buf_free(&d);
        }
        printf("%zu points: %zu traces x %zu configurations x %zu %s\n", p.npts, p.ntraces, p.nconfigs, p.ntmpl,
               p.points_file ? "lines of the points file" : "combinations of the varied values");
        rc = 0;
        goto done;
    }
    if (make_dirs(o.out) || write_plan(&p, o.out, o.force))
        goto done;
    size_t *todo = sw_xmalloc((p.npts ? p.npts : 1) * sizeof *todo), ntodo = 0;
    for (size_t i = 0; i < p.npts; i++)
        if (!sw_point_done(&p, o.out, i))
            todo[ntodo++] = i;
    const size_t skipped = p.npts - ntodo;
    if (o.slurm) {
        rc = slurm(&p, o.out, &o, ntodo, skipped);
        free(todo);
        goto done;
    }
    const unsigned jobs = o.jobs ? (unsigned)o.jobs : ims_usable_cpus();
    const enum sw_log log = o.quiet ? SW_LOG_QUIET : isatty(2) ? SW_LOG_BAR : SW_LOG_LINES;
    if (log != SW_LOG_QUIET)
        fprintf(stderr, "iommusim sweep: %zu points, %zu done before, %zu to run, %u at a time\n", p.npts, skipped,
                ntodo, jobs);
    struct sw_exec_result r;
    sw_exec(&p, o.out, todo, ntodo, jobs, log, &r);
    free(todo);
    if (r.signal) {
        fprintf(stderr,
                "iommusim sweep: interrupted (%s): the points that finished are kept; the same command "
                "resumes\n",
                strsignal(r.signal));
        sw_plan_free(&p);
        signal(r.signal, SIG_DFL);
        raise(r.signal);
        return 128 + r.signal;
    }
    rc = finish(&p, o.out, skipped, &r, o.quiet, o.plot);
done:
    sw_plan_free(&p);
    free(o.traces);
    free(o.configs);
    free(o.varys);
    free(o.sbatch_args);
    return rc;
}
