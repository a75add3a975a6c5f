/* `iommusim plot`: PNG and SVG plots of a sweep directory, of run results
 * and of an interval time series, drawn by gnuplot run as a child process.
 * Every plot NAME leaves NAME.dat and NAME.gp next to its images, so a user
 * can restyle it (gnuplot NAME.gp). The sweep directory's layout is the
 * sweep's output contract (docs/experiments.md, docs/tools.md "plot"). */
#define _GNU_SOURCE /* vasprintf */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "iommusim/outfile.h"
#include "plot.h"

static const char plot_usage[] =
    "usage: iommusim plot SWEEP_DIR [--out DIR] [--format png|svg|both] [--series COLS]\n"
    "       iommusim plot --runs --out DIR [--series COLS] RUN.json...\n"
    "       iommusim plot [--run RUN.json] [--interval FILE.csv] --out DIR\n"
    "\n"
    "Draws PNG and SVG plots with gnuplot (Debian: gnuplot-nox):\n"
    "  SWEEP_DIR (iommusim sweep --out): hit_rate_vs_iotlb (IOTLB hit rate against\n"
    "      iotlb_entries, a line per trace and other varied key), latency_cdf (one\n"
    "      curve per point), walks_vs_walkers (walks per 1,000 translations against\n"
    "      walker.count); into SWEEP_DIR/plots unless --out\n"
    "  --runs RUN.json...  the same three plots from run results (iommusim run --json);\n"
    "      the varied keys are the configuration keys whose values differ\n"
    "  --run RUN.json      one run: latency_hist and latency_cdf\n"
    "  --interval FILE.csv the time series of iommusim run --interval-csv: interval\n"
    "\n"
    "  --out DIR           where the plots go (created if missing)\n"
    "  --series COLS       sweep, --runs: the columns whose values make the lines of\n"
    "                      hit_rate_vs_iotlb and walks_vs_walkers, comma-separated (e.g. trace;\n"
    "                      default: trace, config and every varied key that changes)\n"
    "  --format F          png, svg or both (default both)\n"
    "Each plot NAME writes NAME.dat, NAME.gp and NAME.png / NAME.svg; the image paths\n"
    "are printed. A plot the data cannot give is skipped with a note.\n"
    "Exit status: 0 ok; 2 bad arguments or input, no gnuplot, or a plot not written.\n";

/* ---- small helpers ---- */

static int seterr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int seterr(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return 2;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "iommusim plot: out of memory\n");
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    const size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

/* A growing text. */
struct text {
    char *p;
    size_t n, cap;
};

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    const int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "iommusim plot: out of memory\n");
        abort();
    }
    if (t->n + (size_t)n + 1 > t->cap) {
        t->cap = (t->n + (size_t)n + 1) * 2;
        t->p = xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, s, (size_t)n + 1);
    t->n += (size_t)n;
    free(s);
}

/* A gnuplot single-quoted string: '' stands for a quote. */
static void tquote(struct text *t, const char *s)
{
    tprintf(t, "'");
    for (; *s; s++)
        tprintf(t, *s == '\'' ? "''" : "%c", *s);
    tprintf(t, "'");
}

static char *path_join(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

/* ---- gnuplot ---- */

int ims_plot_format(const char *s)
{
    if (!strcmp(s, "png"))
        return IMS_PLOT_PNG;
    if (!strcmp(s, "svg"))
        return IMS_PLOT_SVG;
    if (!strcmp(s, "both"))
        return IMS_PLOT_PNG | IMS_PLOT_SVG;
    return -1;
}

int ims_plot_have_gnuplot(char *err, size_t errlen)
{
    const char *path = getenv("PATH");
    char *dirs = xstrdup(path ? path : "");
    bool found = false;
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = path_join(*d ? d : ".", "gnuplot");
        found = access(p, X_OK) == 0;
        free(p);
    }
    free(dirs);
    if (found)
        return 0;
    return seterr(err, errlen,
                  "gnuplot not found on PATH: plots are drawn by gnuplot (Debian: apt-get install gnuplot-nox;"
                  " docs/dependencies.md)");
}

int ims_plot_prepare_dir(const char *dir, char *err, size_t errlen)
{
    if (!*dir)
        return seterr(err, errlen, "empty output directory name");
    char *p = xstrdup(dir);
    for (char *s = p + 1;; s++) {
        const char c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        struct stat st;
        if (stat(p, &st) != 0) {
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                const int e = errno;
                free(p);
                return seterr(err, errlen, "%s: cannot create the output directory: %s", dir, strerror(e));
            }
        } else if (!S_ISDIR(st.st_mode)) {
            seterr(err, errlen, "%s: cannot create the output directory: %s is not a directory", dir, p);
            free(p);
            return 2;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    if (access(dir, W_OK | X_OK) != 0)
        return seterr(err, errlen, "%s: cannot write in the output directory: %s", dir, strerror(errno));
    return 0;
}

/* The script's opening: the terminal by `fmt`, the output by `out`, both
 * overridable with gnuplot -e; the defaults make NAME.png. */
static void gp_head(struct text *g, const char *name, int w, int h)
{
    tprintf(g,
            "# Made by `iommusim plot` (docs/tools.md, \"plot\"); reads %s.dat. Rerun it here:\n"
            "#   gnuplot %s.gp                  (PNG)\n"
            "#   gnuplot -e \"fmt='svg'\" %s.gp   (SVG)\n"
            "if (!exists(\"fmt\")) fmt = 'png'\n"
            "if (!exists(\"out\")) out = '%s.' . fmt\n"
            "if (fmt eq 'svg') { set terminal svg size %d,%d dynamic noenhanced font 'sans,11' background '#ffffff' }"
            " else { set terminal pngcairo size %d,%d noenhanced font 'sans,10' }\n"
            "set output out\n"
            "set datafile missing '?'\n"
            "set grid\n"
            "set key outside right top\n",
            name, name, name, name, w, h, w, h);
}

/* Runs gnuplot on dir/NAME.gp once per format into a temporary file and
 * renames it to dir/NAME.EXT. */
static int gp_run(const char *dir, const char *name, int formats, FILE *log, char *err, size_t errlen)
{
    static const char *const ext[] = {"png", "svg"};
    for (int k = 0; k < 2; k++) {
        if (!(formats & (1 << k)))
            continue;
        char tmp[256], final[256], script[256], expr[600];
        snprintf(tmp, sizeof tmp, ".%s.%s.tmp.%ld", name, ext[k], (long)getpid());
        snprintf(final, sizeof final, "%s.%s", name, ext[k]);
        snprintf(script, sizeof script, "%s.gp", name);
        snprintf(expr, sizeof expr, "fmt='%s'; out='%s'", ext[k], tmp);
        /* gnuplot's warnings (an empty series, an adjusted range) go to a
         * log beside the image, shown only when gnuplot fails. */
        char logname[256];
        snprintf(logname, sizeof logname, ".%s.%s.log.%ld", name, ext[k], (long)getpid());
        char *logpath = path_join(dir, logname);
        fflush(NULL);
        const pid_t pid = fork();
        if (pid < 0) {
            free(logpath);
            return seterr(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        }
        if (pid == 0) {
            const int lfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (lfd >= 0 && dup2(lfd, 2) < 0)
                _exit(126);
            if (chdir(dir) != 0)
                _exit(126);
            execlp("gnuplot", "gnuplot", "-e", expr, script, (char *)NULL);

            fprintf(stderr, "iommusim plot: gnuplot: %s\n", strerror(errno));
            _exit(127);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR) {
                unlink(logpath);
                free(logpath);
                return seterr(err, errlen, "waiting for gnuplot: %s", strerror(errno));
            }
        char *tpath = path_join(dir, tmp), *fpath = path_join(dir, final);
        struct stat sb;
        int rc = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char said[1024] = "";
            FILE *lf = fopen(logpath, "r");
            if (lf) {
                const size_t n = fread(said, 1, sizeof said - 1, lf);
                said[n] = '\0';
                fclose(lf);
                for (size_t i = n; i > 0 && (said[i - 1] == '\n' || said[i - 1] == ' '); i--)
                    said[i - 1] = '\0';
            }
            rc = seterr(err, errlen, "gnuplot failed on %s/%s (%s %d); %s not written%s%s", dir, script,
                        WIFEXITED(st) ? "exit status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                        fpath, *said ? "; gnuplot said:\n" : "", said);
        } else if (stat(tpath, &sb) != 0 || sb.st_size == 0) {
            rc = seterr(err, errlen, "gnuplot wrote no image for %s/%s; %s not written", dir, script, fpath);
        } else if (rename(tpath, fpath) != 0) {
            rc = seterr(err, errlen, "%s: cannot rename into place: %s", fpath, strerror(errno));
        } else if (log) {
            fprintf(log, "%s\n", fpath);
        }
        unlink(logpath);
        free(logpath);
        if (rc)
            unlink(tpath);
        free(tpath);

        free(fpath);
        if (rc)
            return rc;
    }
    return 0;
}

/* Writes dir/NAME.dat and dir/NAME.gp whole, then draws the images. */
static int emit(const char *dir, const char *name, const struct text *dat, const struct text *gp, int formats,
                FILE *log, char *err, size_t errlen)
{
    char file[256];
    snprintf(file, sizeof file, "%s.dat", name);
    char *p = path_join(dir, file);
    int rc = ims_outfile_write_all(p, dat->p ? dat->p : "", dat->n, err, errlen) ? 2 : 0;
    free(p);
    if (rc)
        return rc;
    snprintf(file, sizeof file, "%s.gp", name);
    p = path_join(dir, file);
    rc = ims_outfile_write_all(p, gp->p, gp->n, err, errlen) ? 2 : 0;
    free(p);
    return rc ? rc : gp_run(dir, name, formats, log, err, errlen);
}

static void note_skip(const char *name, const char *why)
{
    fprintf(stderr, "iommusim plot: note: %s skipped: %s\n", name, why);
}

/* ---- CSV (RFC 4180: quoted fields may hold commas and doubled quotes) ---- */

struct table {
    char *file; /* for messages */
    size_t ncol, nrow;
    char **head;               /* ncol names */
    char ***cell;              /* nrow x ncol */
    size_t *line;              /* each row's line in the file */
    size_t first_key, end_key; /* varied-key columns [first_key, end_key) */
    const char *series;        /* --series: comma-separated columns that make the lines; NULL: the default */
};

static void table_free(struct table *t)
{
    for (size_t r = 0; r < t->nrow; r++) {
        for (size_t c = 0; c < t->ncol; c++)
            free(t->cell[r][c]);
        free(t->cell[r]);
    }
    for (size_t c = 0; c < t->ncol; c++)
        free(t->head[c]);
    free(t->head);
    free(t->cell);
    free(t->line);
    free(t->file);
    memset(t, 0, sizeof *t);
}

static void fields_free(char **f, size_t n);

/* Splits one record at *pp (advanced past it and its line end) into fields. */
static int csv_record(const char **pp, size_t *line, char ***out, size_t *n, const char *file, char *err, size_t errlen)
{
    const char *p = *pp;
    const size_t start_line = *line;
    *out = NULL;
    *n = 0;
    for (;;) {
        struct text f = {0};
        tprintf(&f, "%s", "");
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) {
                    free(f.p);
                    fields_free(*out, *n);
                    *out = NULL, *n = 0;
                    return seterr(err, errlen, "%s:%zu: a quoted field is not closed", file, start_line);
                }
                if (*p == '"' && p[1] == '"') {
                    tprintf(&f, "\"");
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    if (*p == '\n')
                        ++*line;
                    tprintf(&f, "%c", *p++);
                }
            }
            if (*p && *p != ',' && *p != '\n' && *p != '\r') {
                free(f.p);
                fields_free(*out, *n);
                *out = NULL, *n = 0;
                return seterr(err, errlen, "%s:%zu: text after a quoted field's closing quote", file, *line);
            }
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r') {
                if (*p == '"') {
                    free(f.p);
                    fields_free(*out, *n);
                    *out = NULL, *n = 0;
                    return seterr(err, errlen, "%s:%zu: a quote inside an unquoted field", file, *line);
                }
                tprintf(&f, "%c", *p++);
            }
        }
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = f.p;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
        ++*line;
        *pp = p;
        return 0;
    }
}

static void fields_free(char **f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i]);
    free(f);
}

/* Reads a CSV file with a header line; every row must have the header's
 * number of fields. */
static int csv_read(const char *file, struct table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(file, "rb");
    if (!f)
        return seterr(err, errlen, "%s: cannot open: %s", file, strerror(errno));
    struct text all = {0};
    char buf[65536];
    size_t k;
    tprintf(&all, "%s", "");
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        if (memchr(buf, '\0', k)) {
            fclose(f);
            free(all.p);
            return seterr(err, errlen, "%s: not a text file (a NUL byte)", file);
        }
        tprintf(&all, "%.*s", (int)k, buf);
    }
    const bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(all.p);
        return seterr(err, errlen, "%s: read error", file);
    }
    t->file = xstrdup(file);
    const char *p = all.p;
    size_t line = 1;
    if (!*p) {
        free(all.p);
        table_free(t);
        return seterr(err, errlen, "%s: empty (no header line)", file);
    }
    int rc = csv_record(&p, &line, &t->head, &t->ncol, file, err, errlen);
    while (!rc && *p) {
        const size_t at = line;
        char **fs;
        size_t n;
        if ((rc = csv_record(&p, &line, &fs, &n, file, err, errlen)))
            break;
        if (n == 1 && !fs[0][0]) { /* an empty line */
            fields_free(fs, n);
            continue;
        }
        if (n != t->ncol) {
            fields_free(fs, n);
            rc = seterr(err, errlen, "%s:%zu: %zu fields, but the header (line 1) has %zu", file, at, n, t->ncol);
            break;
        }
        t->cell = xrealloc(t->cell, (t->nrow + 1) * sizeof *t->cell);
        t->line = xrealloc(t->line, (t->nrow + 1) * sizeof *t->line);
        t->cell[t->nrow] = fs;
        t->line[t->nrow++] = at;
    }
    free(all.p);
    if (rc)
        table_free(t);
    return rc;
}

static long col(const struct table *t, const char *name)
{
    for (size_t c = 0; c < t->ncol; c++)
        if (!strcmp(t->head[c], name))
            return (long)c;
    return -1;
}

/* Column name's value in row r as a number; empty: NAN if allow_empty. */
static int cell_num(const struct table *t, size_t r, long c, bool allow_empty, double *v, char *err, size_t errlen)
{
    const char *s = t->cell[r][c];
    if (!*s && allow_empty) {
        *v = NAN;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    *v = strtod(s, &end);
    if (!*s || *end || errno == ERANGE || !isfinite(*v))
        return seterr(err, errlen, "%s:%zu: column %s: '%s' is not a number", t->file, t->line[r], t->head[c], s);
    return 0;
}

/* The columns a plot reads, found or an error naming the first missing one. */
static int need_cols(const struct table *t, const char *const *names, long *idx, const char *what, char *err,
                     size_t errlen)
{
    for (size_t i = 0; names[i]; i++)
        if ((idx[i] = col(t, names[i])) < 0)
            return seterr(err, errlen, "%s: not %s (no column '%s')", t->file, what, names[i]);
    return 0;
}

/* Parses a JSON file; NULL with the reason, naming the file, in err. */
static json_t *load_json(const char *file, char *err, size_t errlen)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        seterr(err, errlen, "%s: cannot open: %s", file, strerror(errno));
        return NULL;
    }
    json_error_t e;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
    fclose(f);
    if (!root)
        seterr(err, errlen, "%s: not JSON: line %d column %d: %s", file, e.line, e.column, e.text);
    return root;
}

/* ---- design-point plots (a sweep's results.csv, or --runs) ---- */

static bool row_ok(const struct table *t, size_t r)
{
    const long s = col(t, "status");
    return s < 0 || !strcmp(t->cell[r][s], "ok");
}

/* Distinct values of column c over the ok rows. */
static size_t distinct(const struct table *t, long c)
{
    size_t n = 0;
    for (size_t r = 0; r < t->nrow; r++) {
        if (!row_ok(t, r))
            continue;
        bool seen = false;
        for (size_t q = 0; q < r && !seen; q++)
            seen = row_ok(t, q) && !strcmp(t->cell[q][c], t->cell[r][c]);
        n += !seen;
    }
    return n;
}

static bool excluded(const char *key, const char *const *ex)
{
    for (size_t i = 0; ex && ex[i]; i++)
        if (!strcmp(key, ex[i]))
            return true;
    return false;
}

/* A point's label: its trace, then config and each varied key (not in ex)
 * that takes more than one value; with t->series (--series) and lines set,
 * only the columns it lists (the lines of an x-y plot). */
static char *label(const struct table *t, size_t r, const char *const *ex, bool lines)
{
    struct text s = {0};
    if (lines && t->series) {
        char *list = xstrdup(t->series);
        for (char *save = NULL, *k = strtok_r(list, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
            const long c = col(t, k);
            if (c < 0)
                continue; /* (checked by plot_points) */
            if (c == col(t, "trace") || c == col(t, "config"))
                tprintf(&s, "%s%s", s.n ? " " : "", t->cell[r][c]);
            else
                tprintf(&s, "%s%s=%s", s.n ? " " : "", k, t->cell[r][c]);
        }
        free(list);
        if (!s.p)
            tprintf(&s, "all points");
        return s.p;
    }
    tprintf(&s, "%s", t->cell[r][col(t, "trace")]);
    const long cc = col(t, "config");
    if (distinct(t, cc) > 1)
        tprintf(&s, " %s", t->cell[r][cc]);
    /* Many differing keys (run results of different configurations): the
     * configuration's name says it, the keys would only make it unreadable. */
    size_t nvar = 0;
    for (size_t c = t->first_key; c < t->end_key; c++)
        nvar += !excluded(t->head[c], ex) && distinct(t, (long)c) > 1;
    if (nvar > 4 && distinct(t, cc) > 1)
        return s.p;
    for (size_t c = t->first_key; c < t->end_key; c++)
        if (!excluded(t->head[c], ex) && distinct(t, (long)c) > 1)
            tprintf(&s, " %s=%s", t->head[c], t->cell[r][c]);
    return s.p;
}

struct xy {
    double x;
    const char *xs, *ys; /* the cells as written */
    size_t row;
};

static int cmp_xy(const void *a, const void *b)
{
    const struct xy *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : (p->row > q->row) - (p->row < q->row);
}

/* y against x, a line per label (ex: the keys that make x). */
static int plot_xy(const struct table *t, const char *dir, const char *name, const char *xcol, const char *ycol,
                   const char *const *ex, const char *xlabel, const char *ylabel, bool logx, const char *why_skip,
                   int formats, FILE *log, char *err, size_t errlen)
{
    const long xc = col(t, xcol), yc = col(t, ycol);
    if (distinct(t, xc) < 2) {
        note_skip(name, why_skip);
        return 0;
    }
    char **labels = NULL;
    size_t nl = 0;
    struct xy **series = NULL;
    size_t *ns = NULL;
    int rc = 0;
    for (size_t r = 0; r < t->nrow && !rc; r++) {
        if (!row_ok(t, r))
            continue;
        double x, y;
        if ((rc = cell_num(t, r, xc, false, &x, err, errlen)) || (rc = cell_num(t, r, yc, false, &y, err, errlen)))
            break;
        char *l = label(t, r, ex, true);
        size_t i = 0;
        while (i < nl && strcmp(labels[i], l))
            i++;
        if (i == nl) {
            labels = xrealloc(labels, (nl + 1) * sizeof *labels);
            series = xrealloc(series, (nl + 1) * sizeof *series);
            ns = xrealloc(ns, (nl + 1) * sizeof *ns);
            labels[nl] = l;
            series[nl] = NULL;
            ns[nl++] = 0;
        } else {
            free(l);
        }
        series[i] = xrealloc(series[i], (ns[i] + 1) * sizeof **series);
        series[i][ns[i]++] = (struct xy){x, t->cell[r][xc], t->cell[r][yc], r};
    }
    if (!rc) {
        struct text dat = {0}, gp = {0};
        tprintf(&dat, "# %s %s, a block per line of the plot (gnuplot index i)\n", xcol, ycol);
        /* Long or many labels: the key goes below in as many columns as fit
         * (about 6 pixels a character), and the image grows for its rows, so
         * that the plot keeps its width. */
        size_t longest = 0;
        for (size_t i = 0; i < nl; i++)
            longest = strlen(labels[i]) > longest ? strlen(labels[i]) : longest;
        const bool below = nl > 8 || longest > 40;
        const size_t cols = below ? (880 / (longest * 6 + 50) ? 880 / (longest * 6 + 50) : 1) : 1;
        gp_head(&gp, name, 900, below ? 540 + (int)((nl + cols - 1) / cols) * 16 : 540);
        if (below)
            tprintf(&gp, "set key outside below maxcols %zu\n", cols);
        tprintf(&gp, "set xlabel '%s'\nset ylabel '%s'\n", xlabel, ylabel);
        if (logx)
            tprintf(&gp, "set logscale x 2\n");
        tprintf(&gp, "plot \\\n");
        for (size_t i = 0; i < nl; i++) {
            qsort(series[i], ns[i], sizeof **series, cmp_xy);
            tprintf(&dat, "%s# %s\n", i ? "\n\n" : "", labels[i]);
            for (size_t k = 0; k < ns[i]; k++)
                tprintf(&dat, "%s %s\n", series[i][k].xs, series[i][k].ys);
            tprintf(&gp, "  '%s.dat' index %zu using 1:2 with linespoints title ", name, i);
            tquote(&gp, labels[i]);
            tprintf(&gp, "%s\n", i + 1 < nl ? ", \\" : "");
        }
        rc = emit(dir, name, &dat, &gp, formats, log, err, errlen);
        free(dat.p);
        free(gp.p);
    }
    for (size_t i = 0; i < nl; i++) {
        free(labels[i]);
        free(series[i]);
    }
    free(labels);
    free(series);
    free(ns);
    return rc;
}

/* The 101 latency percentiles of a run's JSON; 1 if it has none (older). */
static int json_percentiles(const char *file, double v[101], char *err, size_t errlen)
{
    json_t *root = load_json(file, err, errlen);
    if (!root)
        return 2;
    const json_t *a = json_is_object(root) ? json_object_get(root, "latency_percentiles") : NULL;
    int rc = 0;
    if (!a) {
        rc = 1;
    } else if (!json_is_array(a) || json_array_size(a) != 101) {
        rc = seterr(err, errlen, "%s: latency_percentiles: not an array of 101 numbers", file);
    } else {
        for (size_t i = 0; i < 101 && !rc; i++) {
            const json_t *x = json_array_get(a, i);
            if (!json_is_number(x))
                rc = seterr(err, errlen, "%s: latency_percentiles[%zu]: not a number", file, i);
            else
                v[i] = json_number_value(x);
        }
    }
    json_decref(root);
    return rc;
}

/* CDF curves: `files[i]` labelled `labels[i]`. */
static int plot_cdf(const char *dir, const char *name, char *const *files, char *const *labels, size_t n, int formats,
                    FILE *log, char *err, size_t errlen)
{
    struct text dat = {0}, gp = {0};
    tprintf(&dat, "# latency_cycles fraction_of_translations_at_or_below, a block per curve (gnuplot index i)\n");
    size_t drawn = 0;
    bool all_pos = true;
    int rc = 0;
    struct text titles = {0};
    for (size_t i = 0; i < n && !rc; i++) {
        double v[101];
        const int r = json_percentiles(files[i], v, err, errlen);
        if (r == 1) {
            fprintf(stderr,
                    "iommusim plot: note: %s: no latency_percentiles (written by an older iommusim): not in %s\n",
                    files[i], name);
            continue;
        }
        if ((rc = r))
            break;
        tprintf(&dat, "%s# %s\n", drawn ? "\n\n" : "", labels[i]);
        for (int p = 0; p <= 100; p++) {
            tprintf(&dat, "%.17g %.2f\n", v[p], p / 100.0);
            all_pos &= v[p] > 0;
        }
        tprintf(&titles, "%s  '%s.dat' index %zu using 1:2 with steps title ", drawn ? ", \\\n" : "", name, drawn);
        tquote(&titles, labels[i]);
        drawn++;
    }
    if (!rc && !drawn)
        note_skip(name, "no run result has latency_percentiles");
    if (!rc && drawn) {
        /* Many curves: the key goes below, two columns, and the image grows for it. */
        gp_head(&gp, name, 900, drawn > 8 ? 540 + (int)(drawn + 1) / 2 * 16 : 540);
        if (drawn > 8)
            tprintf(&gp, "set key outside below\n");
        tprintf(&gp, "set xlabel 'translation latency (cycles)'\nset ylabel 'fraction of translations'\n"
                     "set yrange [0:1.02]\n");
        if (all_pos)
            tprintf(&gp, "set logscale x 10\n");
        tprintf(&gp, "plot \\\n%s\n", titles.p);
        rc = emit(dir, name, &dat, &gp, formats, log, err, errlen);
    }
    free(dat.p);
    free(gp.p);
    free(titles.p);
    return rc;
}

/* The three plots of a table of design points; base: the directory the
 * json column is relative to (NULL: the paths as they are). */
static int plot_points(const struct table *t, const char *base, const char *dir, int formats, FILE *log, char *err,
                       size_t errlen)
{
    static const char *const need[] = {"trace",          "config",       "iotlb_entries", "walkers",
                                       "iotlb_hit_rate", "walks_per_1k", "json",          NULL};
    long idx[8];
    int rc = need_cols(t, need, idx, "a sweep's results table", err, errlen);
    if (rc)
        return rc;
    if (t->series) {
        char *list = xstrdup(t->series);
        for (char *save = NULL, *k = strtok_r(list, ",", &save); k && !rc; k = strtok_r(NULL, ",", &save))
            if (col(t, k) < 0)
                rc = seterr(err, errlen, "--series: %s has no column '%s'", t->file, k);
        free(list);
        if (rc)
            return rc;
    }
    /* Every number a plot reads, checked before any plot is drawn or skipped. */
    size_t ok = 0;
    for (size_t r = 0; r < t->nrow; r++) {
        if (!row_ok(t, r))
            continue;
        ok++;
        for (size_t k = 2; k < 6; k++) {
            double v;
            if ((rc = cell_num(t, r, idx[k], false, &v, err, errlen)))
                return rc;
        }
    }
    if (!ok) {
        note_skip("every plot", "no point finished (status ok)");
        return 0;
    }
    /* The IOTLB's size comes from these keys; any other varied key makes lines. */
    const bool geom = (col(t, "iotlb.sets") >= 0 && distinct(t, col(t, "iotlb.sets")) > 1) ||
                      (col(t, "iotlb.entries") >= 0 && distinct(t, col(t, "iotlb.entries")) > 1);
    const char *const ex_iotlb[] = {"iotlb.entries", "iotlb.sets", geom ? NULL : "iotlb.ways", NULL};
    rc = plot_xy(t, dir, "hit_rate_vs_iotlb", "iotlb_entries", "iotlb_hit_rate", ex_iotlb, "IOTLB entries",
                 "IOTLB hit rate", true, "iotlb_entries is the same in every point (vary iotlb.sets or iotlb.ways)",
                 formats, log, err, errlen);
    const char *const ex_walk[] = {"walker.count", NULL};
    if (!rc)
        rc = plot_xy(t, dir, "walks_vs_walkers", "walkers", "walks_per_1k", ex_walk, "walkers (walker.count)",
                     "walks per 1,000 translations", false, "walkers is the same in every point (vary walker.count)",
                     formats, log, err, errlen);
    if (rc)
        return rc;
    char **files = calloc(t->nrow + 1, sizeof *files), **labels = calloc(t->nrow + 1, sizeof *labels);
    if (!files || !labels)
        abort();
    size_t n = 0;
    for (size_t r = 0; r < t->nrow; r++) {
        if (!row_ok(t, r))
            continue;
        const char *j = t->cell[r][idx[6]];
        files[n] = base ? path_join(base, j) : xstrdup(j);
        char *l = label(t, r, NULL, false);
        const long pc = col(t, "point");
        if (pc >= 0) {
            char *pl = NULL;
            if (asprintf(&pl, "%s: %s", t->cell[r][pc], l) < 0)
                abort();
            free(l);
            l = pl;
        }
        labels[n++] = l;
    }
    rc = plot_cdf(dir, "latency_cdf", files, labels, n, formats, log, err, errlen);
    for (size_t i = 0; i < n; i++) {
        free(files[i]);
        free(labels[i]);
    }
    free(files);
    free(labels);
    return rc;
}

/* A sweep directory: sweep.json (schema iommusim-sweep/N) and results.csv. */
static int plot_sweep(const char *sdir, const char *series, const char *dir, int formats, FILE *log, char *err,
                      size_t errlen)
{
    struct stat st;
    if (stat(sdir, &st) != 0)
        return seterr(err, errlen, "%s: not a sweep directory: %s", sdir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return seterr(err, errlen, "%s: not a sweep directory (not a directory; `iommusim sweep --out DIR` makes one)",
                      sdir);
    char *plan = path_join(sdir, "sweep.json"), *res = path_join(sdir, "results.csv");
    int rc = 0;
    if (stat(plan, &st) != 0 || stat(res, &st) != 0) {
        rc = seterr(err, errlen,
                    "%s: not a sweep directory (no sweep.json and results.csv; `iommusim sweep --out DIR` writes them)",
                    sdir);
    } else {
        json_t *root = load_json(plan, err, errlen);
        const json_t *s = root && json_is_object(root) ? json_object_get(root, "schema") : NULL;
        if (!root)
            rc = 2;
        else if (!json_is_string(s) || strncmp(json_string_value(s), "iommusim-sweep/", 15))
            rc = seterr(err, errlen, "%s: not a sweep plan (no \"schema\": \"iommusim-sweep/N\")", plan);
        json_decref(root);
    }
    struct table t;
    if (!rc && !(rc = csv_read(res, &t, err, errlen))) {
        /* Varied keys: the columns between config and status (the contract). */
        const long cc = col(&t, "config"), sc = col(&t, "status");
        if (col(&t, "point") != 0 || col(&t, "trace") != 1 || cc != 2 || sc < cc)
            rc = seterr(err, errlen,
                        "%s:1: not a sweep's results table (the header must begin point,trace,config"
                        " and hold status)",
                        res);
        t.first_key = (size_t)cc + 1;
        t.end_key = sc < 0 ? t.first_key : (size_t)sc;
        t.series = series;
        if (!rc)
            rc = plot_points(&t, sdir, dir, formats, log, err, errlen);
        table_free(&t);
    }
    free(plan);
    free(res);
    return rc;
}

int ims_plot_sweep(const char *sweep_dir, const char *dir, int formats, FILE *log, char *err, size_t errlen)
{
    struct stat st;
    char *res = path_join(sweep_dir, "results.csv");
    const bool looks = stat(sweep_dir, &st) == 0 && S_ISDIR(st.st_mode) && stat(res, &st) == 0;
    free(res);
    if (!looks) /* (its message, before a plots directory is made inside) */
        return plot_sweep(sweep_dir, NULL, dir, formats, log, err, errlen);
    const int rc = ims_plot_prepare_dir(dir, err, errlen);
    return rc ? rc : plot_sweep(sweep_dir, NULL, dir, formats, log, err, errlen);
}

/* Run results (iommusim run --json) as a table of points: the varied keys
 * are the effective_config keys whose values differ between them. */
static int plot_runs(char *const *files, size_t n, const char *series, const char *dir, int formats, FILE *log,
                     char *err, size_t errlen)
{
    json_t **root = xrealloc(NULL, n * sizeof *root);
    int rc = 0;
    size_t loaded = 0;
    for (; loaded < n && !rc; loaded++) {
        if (!(root[loaded] = load_json(files[loaded], err, errlen))) {
            rc = 2;
            break;
        }
        const json_t *r = root[loaded];
        if (!json_is_object(r) || !json_is_object(json_object_get(r, "effective_config")) ||
            !json_is_string(json_object_get(r, "trace")) || !json_is_object(json_object_get(r, "iotlb")))
            rc = seterr(err, errlen,
                        "%s: not a run result of this iommusim (iommusim run --json; needs trace,"
                        " effective_config, iotlb)",
                        files[loaded]);
    }
    struct table t = {0};
    if (!rc) {
        /* Keys whose values differ. */
        const char *key;
        json_t *v;
        char **keys = NULL;
        size_t nk = 0;
        json_object_foreach(json_object_get(root[0], "effective_config"), key, v)
        {
            for (size_t i = 1; i < n; i++) {
                const json_t *w = json_object_get(json_object_get(root[i], "effective_config"), key);
                if (!w || !json_equal(v, w)) {
                    keys = xrealloc(keys, (nk + 1) * sizeof *keys);
                    keys[nk++] = xstrdup(key);
                    break;
                }
            }
        }
        static const char *const fixed[] = {"point", "trace", "config"};
        static const char *const metrics[] = {"status",         "translations", "iotlb_entries", "walkers",
                                              "iotlb_hit_rate", "walks_per_1k", "json"};
        t.file = xstrdup("--runs");
        t.ncol = 3 + nk + 7;
        t.head = xrealloc(NULL, t.ncol * sizeof *t.head);
        for (size_t i = 0; i < 3; i++)
            t.head[i] = xstrdup(fixed[i]);
        for (size_t i = 0; i < nk; i++)
            t.head[3 + i] = keys[i];
        for (size_t i = 0; i < 7; i++)
            t.head[3 + nk + i] = xstrdup(metrics[i]);
        free(keys);
        t.first_key = 3;
        t.end_key = 3 + nk;
        t.series = series;
        t.nrow = n;
        t.cell = xrealloc(NULL, n * sizeof *t.cell);
        t.line = xrealloc(NULL, n * sizeof *t.line);
        for (size_t r = 0; r < n; r++) {
            const json_t *j = root[r], *ec = json_object_get(j, "effective_config");
            char **c = t.cell[r] = xrealloc(NULL, t.ncol * sizeof *c);
            t.line[r] = 0;
            char b[64];
            snprintf(b, sizeof b, "%zu", r);
            c[0] = xstrdup(b);
            /* Base names, as the sweep names traces and configurations. */
            const char *tr = json_string_value(json_object_get(j, "trace"));
            const char *sl = strrchr(tr, '/');
            char *base = xstrdup(sl ? sl + 1 : tr);
            static const char *const sufs[] = {".itr.zst", ".itr", ".txt", ".itt"};
            for (size_t s = 0; s < 4; s++) {
                const size_t bl = strlen(base), sl2 = strlen(sufs[s]);
                if (bl > sl2 && !strcmp(base + bl - sl2, sufs[s])) {
                    base[bl - sl2] = '\0';
                    break;
                }
            }
            c[1] = base;
            const json_t *cfg = json_object_get(j, "config");
            const char *cn = json_is_string(cfg) ? json_string_value(cfg) : "?";
            const char *cs = strrchr(cn, '/');
            char *cbase = xstrdup(cs ? cs + 1 : cn);
            const size_t cl = strlen(cbase);
            if (cl > 4 && !strcmp(cbase + cl - 4, ".cfg"))
                cbase[cl - 4] = '\0';
            c[2] = cbase;
            for (size_t i = 0; i < nk; i++) {
                const json_t *w = json_object_get(ec, t.head[3 + i]);
                c[3 + i] = xstrdup(json_is_string(w) ? json_string_value(w) : "");
            }
            const double tr_n = json_number_value(json_object_get(j, "translations"));
            const json_t *sets = json_object_get(ec, "iotlb.sets"), *ways = json_object_get(ec, "iotlb.ways");
            const json_t *wk = json_object_get(ec, "walker.count");
            const json_t *hr = json_object_get(json_object_get(j, "iotlb"), "hit_rate");
            const double walks = json_number_value(json_object_get(j, "walks"));
            c[3 + nk] = xstrdup("ok");
            snprintf(b, sizeof b, "%.17g", tr_n);
            c[4 + nk] = xstrdup(b);
            snprintf(b, sizeof b, "%.17g",
                     json_is_string(sets) && json_is_string(ways)
                         ? strtod(json_string_value(sets), NULL) * strtod(json_string_value(ways), NULL)
                         : NAN);
            c[5 + nk] = xstrdup(b);
            c[6 + nk] = xstrdup(json_is_string(wk) ? json_string_value(wk) : "nan");
            snprintf(b, sizeof b, "%.17g", json_number_value(hr));
            c[7 + nk] = xstrdup(b);
            snprintf(b, sizeof b, "%.17g", tr_n > 0 ? walks * 1000.0 / tr_n : 0.0);
            c[8 + nk] = xstrdup(b);
            c[9 + nk] = xstrdup(files[r]);
        }
        rc = plot_points(&t, NULL, dir, formats, log, err, errlen);
        table_free(&t);
    }
    for (size_t i = 0; i < loaded && i < n; i++)
        json_decref(root[i]);
    free(root);
    return rc;
}

/* ---- one run: latency histogram and CDF ---- */

int ims_plot_run_json(const char *json, const char *dir, int formats, FILE *log, char *err, size_t errlen)
{
    json_t *root = load_json(json, err, errlen);
    if (!root)
        return 2;
    const json_t *h = json_is_object(root) ? json_object_get(root, "latency_histogram") : NULL;
    int rc = 0;
    if (!json_is_array(h)) {
        rc = seterr(err, errlen, "%s: not a run result (no latency_histogram; iommusim run --json writes one)", json);
    } else {
        struct text dat = {0}, gp = {0};
        tprintf(&dat, "# lo hi translations: latency buckets in cycles [lo, hi]\n");
        size_t i;
        const json_t *b;
        json_array_foreach(h, i, b)
        {
            const json_t *lo = json_object_get(b, "lo"), *hi = json_object_get(b, "hi"),
                         *count = json_object_get(b, "count");
            if (!json_is_integer(lo) || !json_is_integer(hi) || !json_is_integer(count)) {
                rc = seterr(err, errlen, "%s: latency_histogram[%zu]: lo, hi and count must be integers", json, i);
                break;
            }
            tprintf(&dat, "%" JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT "\n",
                    json_integer_value(lo), json_integer_value(hi), json_integer_value(count));
        }
        if (!rc) {
            gp_head(&gp, "latency_hist", 900, 540);
            tprintf(&gp, "set xlabel 'translation latency (cycles, power-of-two buckets)'\n"
                         "set ylabel 'translations'\nset style fill solid 0.6\nset boxwidth 0.8\n"
                         "set xtics rotate by -45\nunset key\n"
                         "plot 'latency_hist.dat' using 0:3:xtic(sprintf('%%d-%%d', $1, $2)) with boxes\n");
            rc = emit(dir, "latency_hist", &dat, &gp, formats, log, err, errlen);
        }
        free(dat.p);
        free(gp.p);
    }
    json_decref(root);
    if (!rc) {
        char *files[] = {(char *)json}, *labels[] = {(char *)json};
        rc = plot_cdf(dir, "latency_cdf", files, labels, 1, formats, log, err, errlen);
    }
    return rc;
}

/* ---- the interval time series ---- */

int ims_plot_interval_csv(const char *csv, const char *dir, int formats, FILE *log, char *err, size_t errlen)
{
    struct table t;
    int rc = csv_read(csv, &t, err, errlen);
    if (rc)
        return rc;
    static const char *const need[] = {"start_cycle",      "iotlb_hit_rate",
                                       "ctx_hit_rate",     "psc_l2_hit_rate",
                                       "psc_l3_hit_rate",  "psc_l4_hit_rate",
                                       "latency_p50",      "latency_p90",
                                       "latency_p99",      "latency_max",
                                       "walker_occupancy", "inv_iotlb",
                                       "inv_context",      NULL};
    long idx[14];
    rc = need_cols(&t, need, idx, "an interval CSV (iommusim run --interval-csv)", err, errlen);
    if (!rc && !t.nrow) {
        note_skip("interval", "the interval CSV has no rows");
        table_free(&t);
        return 0;
    }
    struct text dat = {0}, gp = {0};
    tprintf(&dat, "#");
    for (size_t i = 0; need[i]; i++)
        tprintf(&dat, " %s", need[i]);
    tprintf(&dat, "\n");
    for (size_t r = 0; r < t.nrow && !rc; r++) {
        for (size_t i = 0; need[i] && !rc; i++) {
            double v;
            if ((rc = cell_num(&t, r, idx[i], i > 0, &v, err, errlen)))
                break;
            tprintf(&dat, "%s%s", i ? " " : "", isnan(v) ? "?" : t.cell[r][idx[i]]);
        }
        tprintf(&dat, "\n");
    }
    if (!rc) {
        gp_head(&gp, "interval", 1000, 1000);
        tprintf(&gp,
                "set multiplot layout 3,1 title 'per interval (x: the start cycle of each interval)'\n"
                "set xlabel 'cycle'\n"
                "set ylabel 'hit rate'\nset yrange [0:1.05]\n"
                "plot 'interval.dat' using 1:2 with lines title 'IOTLB', '' using 1:3 with lines title 'context cache',"
                " '' using 1:4 with lines title 'PSC L2', '' using 1:5 with lines title 'PSC L3',"
                " '' using 1:6 with lines title 'PSC L4'\n"
                "set ylabel 'latency (cycles)'\nset autoscale y\n"
                "plot 'interval.dat' using 1:7 with lines title 'p50', '' using 1:8 with lines title 'p90',"
                " '' using 1:9 with lines title 'p99', '' using 1:10 with lines title 'max'\n"
                "set ylabel 'walker occupancy'\nset y2label 'invalidations'\nset ytics nomirror\nset y2tics\n"
                "set yrange [0:*]\nset y2range [0:*]\n"
                "plot 'interval.dat' using 1:11 with lines title 'walker occupancy',"
                " '' using 1:12 axes x1y2 with impulses title 'IOTLB inv.',"
                " '' using 1:13 axes x1y2 with impulses title 'context inv.'\n"
                "unset multiplot\n");
        rc = emit(dir, "interval", &dat, &gp, formats, log, err, errlen);
    }
    free(dat.p);
    free(gp.p);
    table_free(&t);
    return rc;
}

/* ---- the command ---- */

int ims_cmd_plot(int argc, char **argv)
{
    const char *out = NULL, *run = NULL, *interval = NULL, *series = NULL;
    int formats = IMS_PLOT_PNG | IMS_PLOT_SVG;
    bool runs = false, seen_fmt = false;
    char **pos = xrealloc(NULL, (size_t)argc * sizeof *pos);
    size_t npos = 0;
    int rc = 0;
    char err[2048];
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        const bool has_value = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(plot_usage, stdout);
            free(pos);
            return 0;
        } else if (!strcmp(a, "--out") || !strcmp(a, "--format") || !strcmp(a, "--run") || !strcmp(a, "--interval") ||
                   !strcmp(a, "--series")) {
            if (!has_value) {
                rc = seterr(err, sizeof err, "%s needs a value", a);
                break;
            }
            const char *v = argv[++i];
            const char **dst = !strcmp(a, "--out")        ? &out
                               : !strcmp(a, "--run")      ? &run
                               : !strcmp(a, "--interval") ? &interval
                               : !strcmp(a, "--series")   ? &series
                                                          : NULL;
            if (dst) {
                if (*dst)
                    rc = seterr(err, sizeof err, "%s given twice", a);
                else if (!*v)
                    rc = seterr(err, sizeof err, "%s: empty name", a);
                *dst = v;
            } else if (seen_fmt) {
                rc = seterr(err, sizeof err, "--format given twice");
            } else if (seen_fmt = true, (formats = ims_plot_format(v)) < 0) {
                rc = seterr(err, sizeof err, "--format: '%s' is not png, svg or both", v);
            }
        } else if (!strcmp(a, "--runs")) {
            runs = true;
        } else if (a[0] == '-' && a[1]) {
            fputs(plot_usage, stderr);
            rc = seterr(err, sizeof err, "unknown argument '%s'", a);
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (!rc) {
        if (runs && (run || interval))
            rc = seterr(err, sizeof err, "--runs: not with --run or --interval (one kind of input per plot command)");
        else if (series && (run || interval))
            rc = seterr(err, sizeof err, "--series: only for a sweep directory or --runs");
        else if (runs && !npos)
            rc = seterr(err, sizeof err, "--runs: which run results? (RUN.json...)");
        else if (!runs && (run || interval) && npos)
            rc = seterr(err, sizeof err, "'%s': --run and --interval take no sweep directory", pos[0]);
        else if (!runs && !run && !interval && npos != 1) {
            fputs(plot_usage, stderr);
            rc = seterr(err, sizeof err,
                        npos ? "one sweep directory per plot command"
                             : "what to plot? (a sweep directory, --runs, --run or --interval)");
        } else if ((run || interval || runs) && !out)
            rc = seterr(err, sizeof err, "--out DIR: where should the plots go?");
    }
    char *def_out = NULL;
    if (!rc && !out)
        out = def_out = path_join(pos[0], "plots");
    if (!rc)
        rc = ims_plot_have_gnuplot(err, sizeof err);
    /* A sweep directory is checked before its plots directory is made in it. */
    if (!rc && !runs && !run && !interval) {
        struct stat st;
        char *res = path_join(pos[0], "results.csv");
        if (stat(pos[0], &st) != 0 || !S_ISDIR(st.st_mode) || stat(res, &st) != 0)
            rc = plot_sweep(pos[0], series, out, formats, stdout, err, sizeof err); /* (its message) */
        free(res);
    }
    if (!rc)
        rc = ims_plot_prepare_dir(out, err, sizeof err);
    if (!rc) {
        if (runs)
            rc = plot_runs(pos, npos, series, out, formats, stdout, err, sizeof err);
        else if (run || interval) {
            if (run)
                rc = ims_plot_run_json(run, out, formats, stdout, err, sizeof err);
            if (!rc && interval)
                rc = ims_plot_interval_csv(interval, out, formats, stdout, err, sizeof err);
        } else {
            rc = plot_sweep(pos[0], series, out, formats, stdout, err, sizeof err);
        }
    }
    if (rc)
        fprintf(stderr, "iommusim plot: %s\n", err);
    free(def_out);
    free(pos);
    return rc;
}
