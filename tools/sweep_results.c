/* `iommusim sweep`: DIR/results.csv and DIR/results.json, rebuilt from the
 * plan and the point JSONs (read with Jansson) after every sweep and by
 * `sweep --gather`. A point whose JSON is missing or is not its result
 * (sw_point_done) is a failed row with empty metrics. Numbers are printed
 * as the run's JSON prints them (report.cpp: rates and fractions with 6
 * decimals, means and ns with 3; a test compares cells with the JSON's
 * text); both files are written whole or not at all (iommusim/outfile.h). */
#define _GNU_SOURCE

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/outfile.h"
#include "sweep.h"

enum col_kind {
    COL_INT,  /* a JSON integer */
    COL_REAL, /* a JSON real, printed with `dec` decimals */
    COL_CFG,  /* an effective_config value (a string holding an integer) */
    COL_ENTRIES,
    COL_PER_1K,
};

struct col {
    const char *name, *path;
    enum col_kind kind;
    int dec;
};

/* The metric columns of the contract (docs/tools.md, "Output"), in order. */
static const struct col metric_cols[] = {
    {"translations", "translations", COL_INT, 0},
    {"cycles", "cycles", COL_INT, 0},
    {"iotlb_entries", NULL, COL_ENTRIES, 0},
    {"walkers", "walker.count", COL_CFG, 0},
    {"iotlb_hit_rate", "iotlb.hit_rate", COL_REAL, 6},
    {"ctx_cache_hit_rate", "context_cache.hit_rate", COL_REAL, 6},
    {"psc_l2_hit_rate", "psc.l2.hit_rate", COL_REAL, 6},
    {"psc_l3_hit_rate", "psc.l3.hit_rate", COL_REAL, 6},
    {"psc_l4_hit_rate", "psc.l4.hit_rate", COL_REAL, 6},
    {"walks", "walks", COL_INT, 0},
    {"walks_per_1k", NULL, COL_PER_1K, 3},
    {"ptw_reads_per_walk", "ptw_reads_per_walk", COL_REAL, 6},
    {"latency_mean", "latency_cycles.mean", COL_REAL, 3},
    {"latency_p50", "latency_cycles.p50", COL_INT, 0},
    {"latency_p90", "latency_cycles.p90", COL_INT, 0},
    {"latency_p99", "latency_cycles.p99", COL_INT, 0},
    {"latency_max", "latency_cycles.max", COL_INT, 0},
    {"latency_mean_ns", "latency_ns.mean", COL_REAL, 3},
    {"latency_p99_ns", "latency_ns.p99", COL_REAL, 3},
    {"walker_occupancy", "walker.occupancy", COL_REAL, 6},
    {"translations_per_us", "throughput.translations_per_us", COL_REAL, 6},
    {"faults", "faults", COL_INT, 0},
    {"mismatches", "mismatches", COL_INT, 0},
};
#define SW_NMETRIC (sizeof metric_cols / sizeof metric_cols[0])

/* a.b.c in root; NULL if any step is missing. */
static json_t *at(json_t *root, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return v;
}

/* effective_config.<key> as an unsigned number; false if absent or not one. */
static json_t *cfg_value(json_t *root, const char *key)
{
    return json_object_get(json_object_get(root, "effective_config"), key);
}

static bool cfg_num(json_t *root, const char *key, unsigned long long *out)
{
    json_t *v = cfg_value(root, key);
    if (!json_is_string(v))
        return false;
    char *end;
    const char *s = json_string_value(v);
    *out = strtoull(s, &end, 0);
    return *s && !*end;
}

/* One metric cell's text ("" when it has no value). */
static void cell(json_t *root, const struct col *c, char *buf, size_t len)
{
    buf[0] = '\0';
    json_t *v = c->path && c->kind != COL_CFG ? at(root, c->path) : NULL;
    unsigned long long a, b;
    switch (c->kind) {
    case COL_INT:
        if (json_is_integer(v))
            snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case COL_REAL:
        if (json_is_number(v))
            snprintf(buf, len, "%.*f", c->dec, json_number_value(v));
        break;
    case COL_CFG:
        if (cfg_num(root, c->path, &a))
            snprintf(buf, len, "%llu", a);
        break;
    case COL_ENTRIES:
        if (cfg_num(root, "iotlb.sets", &a) && cfg_num(root, "iotlb.ways", &b))
            snprintf(buf, len, "%llu", a * b);
        else if (json_is_string(cfg_value(root, "iotlb.ways")) &&
                 !strcmp(json_string_value(cfg_value(root, "iotlb.ways")), "full") && cfg_num(root, "iotlb.entries", &a))
            snprintf(buf, len, "%llu", a); /* one set of iotlb.entries ways */
        break;
    case COL_PER_1K: {
        json_t *w = json_object_get(root, "walks"), *t = json_object_get(root, "translations");
        if (json_is_integer(w) && json_is_integer(t) && json_integer_value(t) > 0)
            snprintf(buf, len, "%.*f", c->dec, (double)json_integer_value(w) * 1000.0 / (double)json_integer_value(t));
        break;
    }
    }
}

static void csv_field(struct sw_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        sw_buf_put(b, s);
        return;
    }
    sw_buf_put(b, "\"");
    for (const char *c = s; *c; c++)
        sw_buf_put(b, *c == '"' ? "\"\"" : (char[2]){*c, 0});
    sw_buf_put(b, "\"");
}

/* A cell as a JSON value: a number if it reads as one, "" as null, else a string. */
static void json_cell(struct sw_buf *b, const char *s)
{
    if (!*s) {
        sw_buf_put(b, "null");
        return;
    }
    const char *c = s + (*s == '-');
    bool digits = false, ok = true;
    while (*c >= '0' && *c <= '9')
        c++, digits = true;
    if (*c == '.') {
        c++;
        bool frac = false;
        while (*c >= '0' && *c <= '9')
            c++, frac = true;
        ok = frac;
    }
    if (digits && ok && !*c && !(s[*s == '-'] == '0' && s[(*s == '-') + 1] >= '0' && s[(*s == '-') + 1] <= '9'))
        sw_buf_put(b, s);
    else
        sw_buf_json_str(b, s);
}

/* The trace's name: its base name without .itr, .itr.zst, .itt or .txt. */
static void trace_name(const char *path, char *buf, size_t len)
{
    const char *base = strrchr(path, '/');
    snprintf(buf, len, "%s", base ? base + 1 : path);
    static const char *const sfx[] = {".itr.zst", ".itr", ".itt", ".txt"};
    const size_t l = strlen(buf);
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        const size_t s = strlen(sfx[i]);
        if (l > s && !strcmp(buf + l - s, sfx[i])) {
            buf[l - s] = '\0';
            return;
        }
    }
}

static void config_name(const char *arg, char *buf, size_t len)
{
    const char *base = strrchr(arg, '/');
    snprintf(buf, len, "%s", base ? base + 1 : arg);
    const size_t l = strlen(buf);
    if (l > 4 && !strcmp(buf + l - 4, ".cfg"))
        buf[l - 4] = '\0';
}

int sw_gather(const struct sw_plan *p, const char *dir, size_t *failed, size_t *mismatched)
{
    *failed = *mismatched = 0;
    const size_t ncols = 3 + p->nvary + 1 + SW_NMETRIC + 2;
    const char **names = sw_xmalloc(ncols * sizeof *names);
    size_t c = 0;
    names[c++] = "point";
    names[c++] = "trace";
    names[c++] = "config";
    for (size_t k = 0; k < p->nvary; k++)
        names[c++] = p->vary[k].key;
    names[c++] = "status";
    for (size_t m = 0; m < SW_NMETRIC; m++)
        names[c++] = metric_cols[m].name;
    names[c++] = "json";
    names[c++] = "wall_seconds";

    struct sw_buf csv = {0}, js = {0};
    for (size_t k = 0; k < ncols; k++) {
        sw_buf_put(&csv, k ? "," : "");
        csv_field(&csv, names[k]);
    }
    sw_buf_put(&csv, "\n");
    sw_buf_put(&js, "{\n  \"schema\": \"iommusim-sweep-results/1\",\n  \"plan\": \"sweep.json\",\n");
    {
        /* The plan's header fields: everything but its point list. */
        struct sw_buf plan = {0};
        sw_plan_json(p, &plan);
        char *start = strstr(plan.s, "  \"directory\""), *end = strstr(plan.s, "  \"points\": [");
        if (start && end) {
            *end = '\0';
            sw_buf_put(&js, start);
        }
        sw_buf_free(&plan);
    }
    sw_buf_put(&js, "  \"columns\": [");
    for (size_t k = 0; k < ncols; k++) {
        sw_buf_put(&js, k ? ", " : "");
        sw_buf_json_str(&js, names[k]);
    }
    sw_buf_put(&js, "],\n  \"rows\": [");

    char **cells = sw_xmalloc(ncols * sizeof *cells);
    for (size_t i = 0; i < p->npts; i++) {
        const struct sw_point *pt = &p->pts[i];
        json_t *root = NULL;
        if (sw_point_done(p, dir, i)) {
            char rel[64], *path = NULL;
            sw_point_json_rel(p, i, rel, sizeof rel);
            if (asprintf(&path, "%s/%s", dir, rel) < 0)
                abort();
            root = json_load_file(path, 0, NULL);
            free(path);
        }
        char buf[512];
        c = 0;
        sw_point_id(p, i, buf, sizeof buf);
        cells[c++] = sw_xstrdup(buf);
        trace_name(p->traces[pt->trace], buf, sizeof buf);
        cells[c++] = sw_xstrdup(buf);
        config_name(p->configs[pt->config], buf, sizeof buf);
        cells[c++] = sw_xstrdup(buf);
        for (size_t k = 0; k < p->nvary; k++) {
            /* The point's effective value of the key; a key the table cannot
             * print back (a derived key) shows the value the point sets. */
            const char *key = p->vary[k].key;
            if (ims_sim_cfg_get(&p->expect[i], key, buf, sizeof buf) != 0) {
                buf[0] = '\0';
                for (size_t j = 0; j < pt->nkv; j++)
                    if (!strncmp(pt->kv[j], key, strlen(key)) && pt->kv[j][strlen(key)] == '=')
                        snprintf(buf, sizeof buf, "%s", pt->kv[j] + strlen(key) + 1);
            }
            cells[c++] = sw_xstrdup(buf);
        }
        cells[c++] = sw_xstrdup(root ? "ok" : "failed");
        for (size_t m = 0; m < SW_NMETRIC; m++) {
            if (root)
                cell(root, &metric_cols[m], buf, sizeof buf);
            else
                buf[0] = '\0';
            cells[c++] = sw_xstrdup(buf);
        }
        sw_point_json_rel(p, i, buf, sizeof buf);
        cells[c++] = sw_xstrdup(root ? buf : "");
        const struct col wall = {"wall_seconds", "provenance.wall_seconds", COL_REAL, 3};
        if (root)
            cell(root, &wall, buf, sizeof buf);
        else
            buf[0] = '\0';
        cells[c++] = sw_xstrdup(buf);
        if (!root)
            ++*failed;
        else if (json_integer_value(json_object_get(root, "mismatches")) > 0)
            ++*mismatched;
        json_decref(root);

        sw_buf_put(&js, i ? ",\n    {" : "\n    {");
        for (size_t k = 0; k < ncols; k++) {
            sw_buf_put(&csv, k ? "," : "");
            csv_field(&csv, cells[k]);
            sw_buf_put(&js, k ? ", " : "");
            sw_buf_json_str(&js, names[k]);
            sw_buf_put(&js, ": ");
            /* Identifiers and names stay strings even when they look like numbers. */
            if (k < 3 || k == 3 + p->nvary)
                sw_buf_json_str(&js, cells[k]);
            else
                json_cell(&js, cells[k]);
            free(cells[k]);
        }
        sw_buf_put(&csv, "\n");
        sw_buf_put(&js, "}");
    }
    sw_buf_put(&js, p->npts ? "\n  ]\n}\n" : "]\n}\n");
    free(cells);
    free(names);

    int rc = 0;
    char err[1024], *path = NULL;
    if (asprintf(&path, "%s/results.csv", dir) < 0)
        abort();
    if (ims_outfile_write_all(path, csv.s, csv.n, err, sizeof err)) {
        fprintf(stderr, "iommusim sweep: %s\n", err);
        rc = -1;
    }
    free(path);
    if (asprintf(&path, "%s/results.json", dir) < 0)
        abort();
    if (rc == 0 && ims_outfile_write_all(path, js.s, js.n, err, sizeof err)) {
        fprintf(stderr, "iommusim sweep: %s\n", err);
        rc = -1;
    }
    free(path);
    sw_buf_free(&csv);
    sw_buf_free(&js);
    return rc;
}
