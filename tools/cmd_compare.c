/* `iommusim compare A.json B.json`: the differences between two run results
 * (`iommusim run --json`): first the configuration (the inputs: trace,
 * config, overrides, seed, trace_info, effective_config), then every metric
 * leaf that differs. provenance (version, command line, wall time) is never
 * compared: it differs between any two runs. Exit 0 equal, 1 different,
 * 2 bad input, like diff(1). docs/tools.md describes the output. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"

static const char usage_text[] = "usage: iommusim compare A.json B.json [--all] [--tolerance PCT]\n"
                                 "\n"
                                 "Compares two run results (iommusim run --json): prints the configuration\n"
                                 "keys that differ (trace, config, overrides, seed, trace_info, effective_config)\n"
                                 "with both values, then every metric that differs with A, B, delta and delta %\n"
                                 "(B - A, relative to A). provenance (version, command line, wall time) is not\n"
                                 "compared. Arrays are compared element by element (devices[0].faults).\n"
                                 "\n"
                                 "  --all            list every value, equal ones too\n"
                                 "  --tolerance PCT  a numeric metric within PCT percent of A counts as equal\n"
                                 "                   (configuration must match exactly)\n"
                                 "\n"
                                 "Exit status: 0 equal; 1 they differ; 2 bad arguments, or a file that cannot\n"
                                 "be read or is not an iommusim run result.\n";

/* Top-level keys that describe the inputs, not the results. */
static bool config_key(const char *k)
{
    static const char *const keys[] = {"schema", "trace",      "config",    "overrides",
                                       "seed",   "trace_info", "clock_mhz", "effective_config"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(k, keys[i]))
            return true;
    return false;
}

enum { CMP_COL_KEY, CMP_COL_A, CMP_COL_B, CMP_COL_DELTA, CMP_COL_PCT, CMP_NCOLS };
#define CMP_COL_MAX 48 /* widest column, characters */

struct table {
    char *(*row)[CMP_NCOLS];
    size_t n, cap;
    size_t values, differ; /* leaves seen; leaves that differ (beyond the tolerance) */
};

struct cmp {
    struct table cfg, met;
    bool all;
    double tol; /* percent */
    /* The runs' effective configurations: a metric leaf whose path is one
     * of their keys (walker.count) echoes the configuration, which the
     * configuration section already compares, so it is not a metric. */
    const json_t *eca, *ecb;
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fputs("iommusim compare: out of memory\n", stderr);
        abort();
    }
    return d;
}

static void add_row(struct table *t, const char *key, const char *a, const char *b, const char *delta, const char *pct)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->row = realloc(t->row, t->cap * sizeof *t->row);
        if (!t->row) {
            fputs("iommusim compare: out of memory\n", stderr);
            abort();
        }
    }
    const char *v[CMP_NCOLS] = {key, a, b, delta, pct};
    for (int c = 0; c < CMP_NCOLS; c++)
        t->row[t->n][c] = xstrdup(v[c]);
    t->n++;
}

static void value_text(const json_t *j, char *buf, size_t len)
{
    if (!j)
        snprintf(buf, len, "(absent)");
    else if (json_is_string(j))
        snprintf(buf, len, "%s", json_string_value(j));
    else if (json_is_integer(j))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    else if (json_is_real(j))
        snprintf(buf, len, "%.10g", json_real_value(j));
    else if (json_is_true(j))
        snprintf(buf, len, "true");
    else if (json_is_false(j))
        snprintf(buf, len, "false");
    else if (json_is_null(j))
        snprintf(buf, len, "null");
    else if (json_is_object(j))
        snprintf(buf, len, "{...}");
    else
        snprintf(buf, len, "[...]");
}

/* One leaf pair (either may be absent). */
static void leaf(struct cmp *c, struct table *t, bool metric, const char *path, const json_t *a, const json_t *b)
{
    if (metric && ((c->eca && json_object_get(c->eca, path)) || (c->ecb && json_object_get(c->ecb, path))))
        return; /* a configuration echo (struct cmp) */
    char va[512], vb[512], delta[64] = "", pct[64] = "";
    value_text(a, va, sizeof va);
    value_text(b, vb, sizeof vb);
    bool equal;
    t->values++;
    if (a && b && json_is_number(a) && json_is_number(b)) {
        const double x = json_number_value(a), y = json_number_value(b);
        if (json_is_integer(a) && json_is_integer(b)) {
            const json_int_t d = json_integer_value(b) - json_integer_value(a);
            equal = d == 0;
            snprintf(delta, sizeof delta, "%+" JSON_INTEGER_FORMAT, d);
        } else {
            equal = x == y;
            snprintf(delta, sizeof delta, "%+.6g", y - x);
        }
        if (x != 0)
            snprintf(pct, sizeof pct, "%+.2f%%", 100.0 * (y - x) / fabs(x));
        else
            snprintf(pct, sizeof pct, "%s", y == 0 ? "+0.00%" : "inf");
        if (!equal && metric && c->tol > 0 && x != 0 && 100.0 * fabs(y - x) / fabs(x) <= c->tol)
            equal = true; /* within the tolerance */
    } else {
        equal = a && b && json_equal((json_t *)a, (json_t *)b);
        if (metric) {
            snprintf(delta, sizeof delta, "-");
            snprintf(pct, sizeof pct, "-");
        }
    }
    if (!equal)
        t->differ++;
    if (!equal || c->all)
        add_row(t, path, va, vb, delta, pct);
}

/* Walks a and b in step (either may be absent); containers are entered. */
static void walk(struct cmp *c, struct table *t, bool metric, const char *path, const json_t *a, const json_t *b)
{
    const bool ao = json_is_object(a), bo = json_is_object(b), aa = json_is_array(a), ba = json_is_array(b);
    if ((ao || aa || bo || ba) && !((ao || !a) && (bo || !b)) && !((aa || !a) && (ba || !b))) {
        walk(c, t, metric, path, a, NULL); /* a container against a leaf: each on its own */
        walk(c, t, metric, path, NULL, b);
        return;
    }
    char *sub = NULL;
    size_t sublen = strlen(path) + 64;
    if (ao || bo) {
        const char *k;
        json_t *v;
        if (ao)
            json_object_foreach((json_t *)a, k, v)
            {
                sublen = strlen(path) + strlen(k) + 2;
                sub = realloc(sub, sublen);
                snprintf(sub, sublen, "%s%s%s", path, *path ? "." : "", k);
                walk(c, t, metric, sub, v, b ? json_object_get(b, k) : NULL);
            }
        if (bo)
            json_object_foreach((json_t *)b, k, v)
            {
                if (a && json_object_get(a, k))
                    continue;
                sublen = strlen(path) + strlen(k) + 2;
                sub = realloc(sub, sublen);
                snprintf(sub, sublen, "%s%s%s", path, *path ? "." : "", k);
                walk(c, t, metric, sub, NULL, v);
            }
    } else if (aa || ba) {
        const size_t na = a ? json_array_size(a) : 0, nb = b ? json_array_size(b) : 0;
        sub = malloc(sublen);
        for (size_t i = 0; i < (na > nb ? na : nb); i++) {
            snprintf(sub, sublen, "%s[%zu]", path, i);
            walk(c, t, metric, sub, i < na ? json_array_get(a, i) : NULL, i < nb ? json_array_get(b, i) : NULL);
        }
        if (!na && !nb) /* two empty arrays are one (equal) value */
            leaf(c, t, metric, path, a, b);
    } else {
        leaf(c, t, metric, path, a, b);
    }
    free(sub);
}

static void print_table(const struct table *t, bool metric)
{
    static const char *const head[CMP_NCOLS] = {"key", "A", "B", "delta", "delta %"};
    const int ncols = metric ? CMP_NCOLS : CMP_COL_DELTA;
    size_t w[CMP_NCOLS];
    for (int k = 0; k < ncols; k++) {
        w[k] = strlen(head[k]);
        /* A long text (a trace's source) runs past its column rather than widening it. */
        for (size_t i = 0; i < t->n; i++)
            if (strlen(t->row[i][k]) > w[k] && strlen(t->row[i][k]) <= CMP_COL_MAX)
                w[k] = strlen(t->row[i][k]);
    }
    for (size_t i = 0; i <= t->n; i++) {
        const char *const *r = i ? (const char *const *)t->row[i - 1] : head;
        printf(" ");
        for (int k = 0; k < ncols; k++) {
            /* Keys and texts to the left, numbers (the metrics' columns) to the right. */
            const bool right = metric && k > CMP_COL_KEY;
            if (k + 1 == ncols && !right)
                printf(" %s", r[k]);
            else
                printf(right ? " %*s" : " %-*s", (int)w[k], r[k]);
        }
        printf("\n");
    }
}

static void free_table(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < CMP_NCOLS; k++)
            free(t->row[i][k]);
    free(t->row);
}

/* Reads path as a run result; NULL with a message naming the file. */
static json_t *load(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "iommusim compare: %s: is a directory, not a run result\n", path);
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "iommusim compare: %s: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
    fclose(f);
    if (!j) {
        fprintf(stderr, "iommusim compare: %s: not JSON: line %d column %d: %s\n", path, e.line, e.column, e.text);
        return NULL;
    }
    /* A run result names its schema; one written before the schema existed
     * is recognised by its first keys. */
    const json_t *s = json_object_get(j, "schema");
    const bool run =
        json_is_object(j) && (s ? json_is_string(s) && !strncmp(json_string_value(s), "iommusim-run/", 13)
                                : json_is_string(json_object_get(j, "trace")) && json_object_get(j, "translations") &&
                                      json_is_object(json_object_get(j, "latency_cycles")));
    if (!run) {
        fprintf(stderr, "iommusim compare: %s: not an iommusim run result (no \"schema\": \"iommusim-run/N\")\n", path);
        json_decref(j);
        return NULL;
    }
    return j;
}

int ims_cmd_compare(int argc, char **argv)
{
    const char *files[2] = {NULL, NULL};
    int nfiles = 0;
    struct cmp c = {.all = false, .tol = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--all")) {
            c.all = true;
        } else if (!strcmp(a, "--tolerance")) {
            char *end;
            if (i + 1 >= argc) {
                fputs("iommusim compare: --tolerance needs a percentage\n", stderr);
                return 2;
            }
            errno = 0;
            c.tol = strtod(argv[++i], &end);
            if (errno || *end || end == argv[i] || !isfinite(c.tol) || c.tol < 0) {
                fprintf(stderr, "iommusim compare: --tolerance: '%s' is not a percentage >= 0\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "iommusim compare: unknown option '%s'\n", a);
            fputs(usage_text, stderr);
            return 2;
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            fprintf(stderr, "iommusim compare: a third file '%s' (compare takes two)\n", a);
            return 2;
        }
    }
    if (nfiles != 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    json_t *ja = load(files[0]);
    json_t *jb = ja ? load(files[1]) : NULL;
    if (!ja || !jb) {
        json_decref(ja);
        return 2;
    }
    c.eca = json_object_get(ja, "effective_config");
    c.ecb = json_object_get(jb, "effective_config");
    /* Top level by hand: each key goes to its section; provenance to none. */
    const char *k;
    json_t *v;
    json_object_foreach(ja, k, v)
    {
        if (strcmp(k, "provenance"))
            walk(&c, config_key(k) ? &c.cfg : &c.met, !config_key(k), k, v, json_object_get(jb, k));
    }
    json_object_foreach(jb, k, v)
    {
        if (strcmp(k, "provenance") && !json_object_get(ja, k))
            walk(&c, config_key(k) ? &c.cfg : &c.met, !config_key(k), k, NULL, v);
    }
    printf("A: %s\nB: %s\n", files[0], files[1]);
    if (c.cfg.differ)
        printf("configuration: %zu of %zu values differ\n", c.cfg.differ, c.cfg.values);
    else
        printf("configuration: equal (%zu values)\n", c.cfg.values);
    if (c.cfg.n)
        print_table(&c.cfg, false);
    char tol[64] = "";
    if (c.tol > 0)
        snprintf(tol, sizeof tol, ", tolerance %g%%", c.tol);
    if (c.met.differ)
        printf("metrics: %zu of %zu values differ%s\n", c.met.differ, c.met.values, tol);
    else
        printf("metrics: equal (%zu values%s)\n", c.met.values, tol);
    if (c.met.n)
        print_table(&c.met, true);
    const int rc = c.cfg.differ || c.met.differ ? 1 : 0;
    free_table(&c.cfg);
    free_table(&c.met);
    json_decref(ja);
    json_decref(jb);
    return rc;
}
