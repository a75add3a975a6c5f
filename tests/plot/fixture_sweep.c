/* Test fixture: turns DIR/points/NNNN.json (iommusim run --json outputs)
 * into a sweep directory as the sweep output contract describes it
 * (DIR/sweep.json and DIR/results.csv), so that `iommusim plot` is tested
 * against the contract, not against the sweep command's code.
 * Usage: fixture_sweep DIR NPOINTS [--failed ID]... KEY...
 * Point i is DIR/points/%04d.json; a --failed point has no JSON, status
 * failed and empty metric cells. KEYs are the varied keys (their values come
 * from each point's effective_config). */
#define _POSIX_C_SOURCE 200809L /* strtok_r */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const json_t *get(const json_t *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        o = json_object_get(o, k);
    return o;
}

static void num(FILE *f, const json_t *v)
{
    if (json_is_integer(v))
        fprintf(f, ",%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        fprintf(f, ",%.6f", json_real_value(v));
    else
        fprintf(f, ",");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fixture_sweep DIR NPOINTS [--failed ID]... KEY...\n");
        return 2;
    }
    const char *dir = argv[1];
    const int n = atoi(argv[2]);
    int failed[64], nf = 0;
    const char *keys[32];
    int nk = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--failed") && i + 1 < argc && nf < 64)
            failed[nf++] = atoi(argv[++i]);
        else if (nk < 32)
            keys[nk++] = argv[i];
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    FILE *csv = fopen(path, "w");
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    FILE *plan = fopen(path, "w");
    if (!csv || !plan) {
        perror(dir);
        return 2;
    }
    fprintf(csv, "point,trace,config");
    for (int k = 0; k < nk; k++)
        fprintf(csv, ",%s", keys[k]);
    fprintf(csv, ",status,translations,cycles,iotlb_entries,walkers,iotlb_hit_rate,ctx_cache_hit_rate,"
                 "psc_l2_hit_rate,psc_l3_hit_rate,psc_l4_hit_rate,walks,walks_per_1k,ptw_reads_per_walk,"
                 "latency_mean,latency_p50,latency_p90,latency_p99,latency_max,latency_mean_ns,latency_p99_ns,"
                 "walker_occupancy,translations_per_us,faults,mismatches,json,wall_seconds\n");
    fprintf(plan, "{\"schema\": \"iommusim-sweep/1\", \"points\": [");
    for (int i = 0; i < n; i++) {
        bool bad = false;
        for (int k = 0; k < nf; k++)
            bad |= failed[k] == i;
        char rel[64];
        snprintf(rel, sizeof rel, "points/%04d.json", i);
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        json_error_t e;
        json_t *r = bad ? NULL : json_load_file(path, 0, &e);
        if (!bad && !r) {
            fprintf(stderr, "fixture_sweep: %s: %s\n", path, e.text);
            return 2;
        }
        fprintf(plan, "%s{\"id\": \"%04d\"}", i ? ", " : "", i);
        /* Trace and config as the contract names them (base names). */
        const char *tr = r ? json_string_value(get(r, "trace")) : "failed-trace.itr.zst";
        const char *sl = strrchr(tr, '/');
        char base[256];
        snprintf(base, sizeof base, "%s", sl ? sl + 1 : tr);
        char *dot = strstr(base, ".itr");
        if (dot)
            *dot = '\0';
        fprintf(csv, "%04d,%s,%s", i, base, r ? json_string_value(get(r, "config")) : "default");
        for (int k = 0; k < nk; k++) {
            const json_t *v = r ? json_object_get(get(r, "effective_config"), keys[k]) : NULL;
            fprintf(csv, ",%s", v ? json_string_value(v) : "1");
        }
        if (!r) {
            fprintf(csv, ",failed,,,,,,,,,,,,,,,,,,,,,,,,%s,0.1\n", rel);
            continue;
        }
        const json_t *ec = get(r, "effective_config");
        const long sets = strtol(json_string_value(json_object_get(ec, "iotlb.sets")), NULL, 10);
        const long ways = strtol(json_string_value(json_object_get(ec, "iotlb.ways")), NULL, 10);
        const double tn = (double)json_integer_value(get(r, "translations"));
        const double walks = (double)json_integer_value(get(r, "walks"));
        fprintf(csv, ",ok");
        num(csv, get(r, "translations"));
        num(csv, get(r, "cycles"));
        fprintf(csv, ",%ld,%s", sets * ways, json_string_value(json_object_get(ec, "walker.count")));
        num(csv, get(r, "iotlb.hit_rate"));
        num(csv, get(r, "context_cache.hit_rate"));
        num(csv, get(r, "psc.l2.hit_rate"));
        num(csv, get(r, "psc.l3.hit_rate"));
        num(csv, get(r, "psc.l4.hit_rate"));
        num(csv, get(r, "walks"));
        fprintf(csv, ",%.6f", tn > 0 ? walks * 1000.0 / tn : 0.0);
        num(csv, get(r, "ptw_reads_per_walk"));
        static const char *const lat[] = {"mean", "p50", "p90", "p99", "max"};
        for (int k = 0; k < 5; k++) {
            char p[64];
            snprintf(p, sizeof p, "latency_cycles.%s", lat[k]);
            num(csv, get(r, p));
        }
        num(csv, get(r, "latency_ns.mean"));
        num(csv, get(r, "latency_ns.p99"));
        num(csv, get(r, "walker.occupancy"));
        num(csv, get(r, "throughput.translations_per_us"));
        num(csv, get(r, "faults"));
        num(csv, get(r, "mismatches"));
        fprintf(csv, ",%s,0.25\n", rel);
        json_decref(r);
    }
    fprintf(plan, "]}\n");
    return fclose(csv) || fclose(plan) ? 2 : 0;
}
