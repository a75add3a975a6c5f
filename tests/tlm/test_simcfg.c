/* Configuration: defaults (one source: an empty file, configs/default.cfg
 * and docs/config.md all agree with them), parsing, errors naming the key and
 * line, shipped design points, the fault queue following caps.nfr. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iommusim/mem.h"
#include "iommusim/simcfg.h"

static char err[512];

static const char *write_tmp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/ims_cfgXXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* A file sets keys; comments and blank lines are ignored. */
START_TEST(load_sets_keys)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    const char *p = write_tmp("# comment\n\niotlb.ways = 16   # trailing\nmem.latency=250\niotlb.repl = fifo\n"
                              "caps.superpages = 2m\nplayer.mode = closed\nmem.ptw_cache_hit = 0.25\n");
    ck_assert_int_eq(ims_sim_cfg_load(&c, p, err, sizeof err), 0);
    ck_assert_uint_eq(c.iommu.iotlb.ways, 16);
    ck_assert_uint_eq(c.mem_latency, 250);
    ck_assert_uint_eq(c.iommu.iotlb.repl, IMS_REPL_FIFO);
    ck_assert_uint_eq(c.iommu.caps.sllps, IMS_SLLPS_2M);
    ck_assert_uint_eq(c.player_mode, IMS_PLAYER_CLOSED);
    ck_assert(c.ptw_cache_hit == 0.25);
    unlink(p);
}
END_TEST

/* An unknown key is an error naming the file, line and key. */
START_TEST(unknown_key_names_line)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    const char *p = write_tmp("iotlb.ways = 4\niotlb.size = 9\n");
    ck_assert_int_eq(ims_sim_cfg_load(&c, p, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:2: unknown key 'iotlb.size'", p);
    ck_assert_msg(strstr(err, want) != NULL, "got: %s", err);
    unlink(p);
}
END_TEST

/* Values out of range or of the wrong form are errors naming the key. */
static const char *bad[] = {
    "walker.count=0", "walker.count=-1",    "mem.latency=abc",  "iotlb.repl=bogus",
    "caps.sagaw=40",  "caps.superpages=4k", "player.mode=fast", "mem.ptw_cache_hit=1.5",
    "caps.haw=60",    "iotlb.ways=65537",   "iotlb.ways",       "inv.policy=later",
};
START_TEST(bad_values_rejected)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, bad[_i], "--set", err, sizeof err), -1);
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)strcspn(bad[_i], "="), bad[_i]);
    ck_assert_msg(strstr(err, key) != NULL || strstr(err, "key=value") != NULL, "'%s' -> %s", bad[_i], err);
}
END_TEST

/* Cross-key checks: cache geometry must be valid. */
START_TEST(check_catches_geometry)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    ck_assert_int_eq(ims_sim_cfg_check(&c, err, sizeof err), 0);
    c.iommu.iotlb.sets = 48; /* not a power of two */
    ck_assert_int_eq(ims_sim_cfg_check(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "iotlb") != NULL, "got: %s", err);
}
END_TEST

/* Every shipped design point loads and passes the checks. */
static const char *configs[] = {"default", "small", "server", "gem5-smmuv3-like"};
START_TEST(shipped_configs_load)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    char path[512];
    snprintf(path, sizeof path, "%s/configs/%s.cfg", IMS_SOURCE_DIR, configs[_i]);
    ck_assert_msg(ims_sim_cfg_load(&c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(ims_sim_cfg_check(&c, err, sizeof err) == 0, "%s: %s", path, err);
}
END_TEST

/* The gem5-like point has gem5's geometry: 2048-entry 4-way TLB, 64-entry
 * config cache, 16 walkers. */
START_TEST(gem5_point_geometry)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    char path[512];
    snprintf(path, sizeof path, "%s/configs/gem5-smmuv3-like.cfg", IMS_SOURCE_DIR);
    ck_assert_int_eq(ims_sim_cfg_load(&c, path, err, sizeof err), 0);
    ck_assert_uint_eq(c.iommu.iotlb.sets * c.iommu.iotlb.ways, 2048);
    ck_assert_uint_eq(c.iommu.iotlb.ways, 4);
    ck_assert_uint_eq(c.iommu.ctx_cache.sets * c.iommu.ctx_cache.ways, 64);
    ck_assert_uint_eq(c.walkers, 16);
}
END_TEST

/* Built-in defaults, as ims_sim_cfg_default() gives them. */
static struct ims_sim_cfg defaults(void)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    return c;
}

/* Fails naming the first key whose value differs between got and want. */
static void assert_same_cfg(const struct ims_sim_cfg *got, const struct ims_sim_cfg *want, const char *what)
{
    for (size_t i = 0; i < ims_sim_cfg_keys(); i++) {
        char g[64], w[64];
        ck_assert_int_eq(ims_sim_cfg_get(got, ims_sim_cfg_key(i), g, sizeof g), 0);
        ck_assert_int_eq(ims_sim_cfg_get(want, ims_sim_cfg_key(i), w, sizeof w), 0);
        ck_assert_msg(!strcmp(g, w), "%s: %s = %s, built-in default %s", what, ims_sim_cfg_key(i), g, w);
    }
    /* Also the fields no key sets (cache seeds, tb.caps, padding). */
    ck_assert_msg(!memcmp(got, want, sizeof *got), "%s: struct ims_sim_cfg differs outside the keys", what);
}

/* Expected: a file that sets nothing (empty, or only comments) leaves
 * exactly the built-in defaults. */
START_TEST(empty_file_gives_defaults)
{
    static const char *texts[] = {"", "# nothing\n\n   # set here\n"};
    for (size_t t = 0; t < 2; t++) {
        struct ims_sim_cfg c = defaults(), want = defaults();
        const char *p = write_tmp(texts[t]);
        ck_assert_int_eq(ims_sim_cfg_load(&c, p, err, sizeof err), 0);
        unlink(p);
        assert_same_cfg(&c, &want, "empty file");
    }
}
END_TEST

/* Expected: configs/default.cfg states only built-in defaults, so
 * `--config default` and an empty file run the same design point. */
START_TEST(default_cfg_is_defaults)
{
    struct ims_sim_cfg c = defaults(), want = defaults();
    char path[512];
    snprintf(path, sizeof path, "%s/configs/default.cfg", IMS_SOURCE_DIR);
    ck_assert_msg(ims_sim_cfg_load(&c, path, err, sizeof err) == 0, "%s", err);
    assert_same_cfg(&c, &want, "configs/default.cfg");
}
END_TEST

/* Expected: the defaults are the design point configs/default.cfg has
 * always had (so --config default results did not change), among them the
 * per-level paging-structure caches that once differed from the core's. */
START_TEST(default_values)
{
    struct ims_sim_cfg c = defaults();
    ck_assert_uint_eq(c.iommu.iotlb.sets, 64);
    ck_assert_uint_eq(c.iommu.iotlb.ways, 8);
    ck_assert_uint_eq(c.iommu.psc[2].sets, 8);
    ck_assert_uint_eq(c.iommu.psc[3].sets, 2);
    ck_assert_uint_eq(c.iommu.psc[4].sets, 1);
    ck_assert_uint_eq(c.iommu.psc[5].sets, 1);
    ck_assert_uint_eq(c.iommu.psc[5].ways, 2);
    ck_assert_uint_eq(c.walkers, 4);
    ck_assert_uint_eq(c.mem_latency, 100);
    /* The core's own default is the same (functional replay uses it). */
    struct ims_iommu_cfg core;
    ims_iommu_cfg_default(&core);
    ck_assert(!memcmp(&core, &c.iommu, sizeof core));
    char v[64];
    ck_assert_int_eq(ims_sim_cfg_get(&c, "iotlb.size", v, sizeof v), -1);
}
END_TEST

/* Expected: --print-config writes a file that loads back to the same
 * configuration, also when values differ from the defaults (their comments
 * then name the default). */
START_TEST(print_config_round_trips)
{
    struct ims_sim_cfg c = defaults();
    char path[512];
    snprintf(path, sizeof path, "%s/configs/small.cfg", IMS_SOURCE_DIR);
    ck_assert_int_eq(ims_sim_cfg_load(&c, path, err, sizeof err), 0);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, "caps.sagaw=39,57", "--set", err, sizeof err), 0);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, "inv.policy=discard", "--set", err, sizeof err), 0);
    char tmp[] = "/tmp/ims_cfgXXXXXX";
    int fd = mkstemp(tmp);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w+");
    ims_sim_cfg_print(&c, f);
    rewind(f);
    static char text[1 << 15];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    ck_assert_msg(strstr(text, "= 16  # IOTLB sets") && strstr(text, "[default 64]"), "%s", text);
    struct ims_sim_cfg back = defaults();
    ck_assert_msg(ims_sim_cfg_load(&back, tmp, err, sizeof err) == 0, "%s", err);
    unlink(tmp);
    assert_same_cfg(&back, &c, "printed small.cfg");
}
END_TEST

/* Fault-queue records after applying `sets` (--set style) to the defaults,
 * as the core sizes the queue it creates from that configuration. */
static uint32_t fq_records_after(const char *const *sets, size_t n)
{
    struct ims_sim_cfg c = defaults();
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ims_sim_cfg_set_kv(&c, sets[i], "--set", err, sizeof err) == 0, "%s", err);
    ck_assert_msg(ims_sim_cfg_check(&c, err, sizeof err) == 0, "%s", err);
    struct ims_mem *mem = ims_mem_create();
    struct ims_iommu *mmu = ims_iommu_create(&c.iommu, &ims_mem_direct_ops, mem, err, sizeof err);
    ck_assert_msg(mmu != NULL, "%s", err);
    struct ims_fq_state st;
    ims_fq_get(mmu, &st);
    ims_iommu_destroy(mmu);
    ims_mem_destroy(mem);
    return st.records;
}

/* Expected: the fault queue has caps.nfr records (256 by default, 16 after
 * --set caps.nfr=16) unless fault.queue_records is set, which then wins
 * whatever the order of the settings. */
START_TEST(fault_queue_follows_nfr)
{
    ck_assert_uint_eq(fq_records_after(NULL, 0), 256);
    const char *nfr16[] = {"caps.nfr=16"};
    ck_assert_uint_eq(fq_records_after(nfr16, 1), 16);
    const char *both[] = {"fault.queue_records=64", "caps.nfr=16"};
    ck_assert_uint_eq(fq_records_after(both, 2), 64);
    const char *both_rev[] = {"caps.nfr=16", "fault.queue_records=64"};
    ck_assert_uint_eq(fq_records_after(both_rev, 2), 64);
    const char *back[] = {"fault.queue_records=64", "fault.queue_records=0", "caps.nfr=16"};
    ck_assert_uint_eq(fq_records_after(back, 3), 16);
}
END_TEST

/* Expected: a queue of one record (set, or following caps.nfr=1) is
 * rejected by the checks, naming fault.queue_records. */
START_TEST(fault_queue_too_small)
{
    static const char *sets[] = {"fault.queue_records=1", "caps.nfr=1"};
    for (size_t i = 0; i < 2; i++) {
        struct ims_sim_cfg c = defaults();
        ck_assert_int_eq(ims_sim_cfg_set_kv(&c, sets[i], "--set", err, sizeof err), 0);
        ck_assert_int_eq(ims_sim_cfg_check(&c, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "fault.queue_records") != NULL, "%s -> %s", sets[i], err);
    }
    struct ims_sim_cfg c = defaults();
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, "caps.nfr=1", "--set", err, sizeof err), 0);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, "fault.queue_records=2", "--set", err, sizeof err), 0);
    ck_assert_int_eq(ims_sim_cfg_check(&c, err, sizeof err), 0);
}
END_TEST

/* Expected: docs/config.md's key table has one row per key, no row for a key
 * the parser does not know, and each row's default column is the built-in
 * default exactly as --print-config writes it (so the page cannot drift). */
START_TEST(docs_table_matches_keys)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/config.md", IMS_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    const struct ims_sim_cfg def = defaults();
    const size_t nkeys = ims_sim_cfg_keys();
    unsigned *rows = calloc(nkeys, sizeof *rows);
    char line[1024];
    unsigned lineno = 0;
    bool in_keys = false; /* within "## Keys", not another section's table */
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strncmp(line, "## ", 3))
            in_keys = !strcmp(line, "## Keys\n");
        /* A key row: | `key` | default | unit | meaning | */
        if (!in_keys || strncmp(line, "| `", 3))
            continue;
        char *key = line + 3, *end = strchr(key, '`');
        ck_assert_msg(end && !strncmp(end, "` | ", 4), "docs/config.md:%u: malformed key row", lineno);
        *end = 0;
        char *dv = end + 4, *dend = strstr(dv, " |");
        ck_assert_msg(dend != NULL, "docs/config.md:%u: no default column", lineno);
        *dend = 0;
        size_t i = 0;
        while (i < nkeys && strcmp(ims_sim_cfg_key(i), key))
            i++;
        ck_assert_msg(i < nkeys, "docs/config.md:%u: `%s` is not a configuration key", lineno, key);
        rows[i]++;
        char want[64];
        ck_assert_int_eq(ims_sim_cfg_get(&def, key, want, sizeof want), 0);
        ck_assert_msg(!strcmp(dv, want), "docs/config.md:%u: %s default '%s', the code has '%s'", lineno, key, dv,
                      want);
    }
    fclose(f);
    for (size_t i = 0; i < nkeys; i++)
        ck_assert_msg(rows[i] == 1, "docs/config.md has %u rows for `%s` (want 1)", rows[i], ims_sim_cfg_key(i));
    free(rows);
}
END_TEST

/* Expected: every registered replacement policy is accepted by name for
 * every cache key and prints back under that name; an unknown name is an
 * error listing the known ones; docs/config.md mentions each. */
START_TEST(policies_by_name)
{
    static const char *const caches[] = {"ctx_cache", "iotlb", "psc.l2", "psc.l3", "psc.l4", "psc.l5"};
    for (int r = 0; r < IMS_REPL_COUNT; r++) {
        const char *name = ims_repl_name((enum ims_repl)r);
        for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
            struct ims_sim_cfg c = defaults();
            char kv[64], key[32], got[64];
            snprintf(key, sizeof key, "%s.repl", caches[i]);
            snprintf(kv, sizeof kv, "%s=%s", key, name);
            ck_assert_msg(ims_sim_cfg_set_kv(&c, kv, "--set", err, sizeof err) == 0, "%s", err);
            ck_assert_msg(ims_sim_cfg_check(&c, err, sizeof err) == 0, "%s: %s", kv, err);
            ck_assert_int_eq(ims_sim_cfg_get(&c, key, got, sizeof got), 0);
            ck_assert_str_eq(got, name);
        }
    }
    struct ims_sim_cfg c = defaults();
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, "iotlb.repl=bogus", "--set", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "'bogus'") && strstr(err, ims_repl_known()), "%s", err);

    char path[512];
    snprintf(path, sizeof path, "%s/docs/config.md", IMS_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = 0;
    fclose(f);
    for (int r = 0; r < IMS_REPL_COUNT; r++) {
        char want[32];
        snprintf(want, sizeof want, "`%s`", ims_repl_name((enum ims_repl)r));
        ck_assert_msg(strstr(doc, want) != NULL, "docs/config.md does not describe policy %s", want);
    }
}
END_TEST

/* Writes n bytes (NULs included) to a temporary file. */
static const char *write_tmp_bytes(const char *bytes, size_t n)
{
    static char path[64];
    strcpy(path, "/tmp/ims_cfgXXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
    close(fd);
    return path;
}

/* A leading UTF-8 byte order mark is not part of the first key; one later
 * in the file is (an unknown key on its line). */
START_TEST(bom_accepted_at_start_only)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    const char *p = write_tmp("\xef\xbb\xbf"
                              "clock.mhz = 500\nseed = 7\n");
    ck_assert_msg(ims_sim_cfg_load(&c, p, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.clock_mhz, 500);
    ck_assert_uint_eq(c.seed, 7);
    unlink(p);
    p = write_tmp("clock.mhz = 500\n\xef\xbb\xbf"
                  "seed = 7\n");
    ck_assert_int_eq(ims_sim_cfg_load(&c, p, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:2: unknown key", p);
    ck_assert_msg(strstr(err, want) != NULL, "got: %s", err);
    unlink(p);
}
END_TEST

/* A directory is not an empty configuration. */
START_TEST(directory_refused)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    ck_assert_int_eq(ims_sim_cfg_load(&c, "/tmp", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/tmp: is a directory") != NULL, "got: %s", err);
}
END_TEST

/* A NUL byte inside a line is an error on that line, not a cut line. */
START_TEST(nul_byte_refused)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    static const char text[] = "seed = 3\nclock.mhz = 1\0"
                               "00\n";
    const char *p = write_tmp_bytes(text, sizeof text - 1);
    ck_assert_int_eq(ims_sim_cfg_load(&c, p, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:2: NUL byte", p);
    ck_assert_msg(strstr(err, want) != NULL, "got: %s", err);
    unlink(p);
}
END_TEST

/* A line over the limit is refused with its length, not split. */
START_TEST(long_line_refused)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    char text[700];
    snprintf(text, sizeof text, "clock.mhz = 1%*s\n", 600, "");
    const char *p = write_tmp(text);
    ck_assert_int_eq(ims_sim_cfg_load(&c, p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":1: line too long (614 bytes; at most 511)") != NULL, "got: %s", err);
    unlink(p);
}
END_TEST

/* Integers are decimal or 0x hex; a leading zero (octal to strtoull's base
 * 0) is refused, but 0 itself is fine. */
START_TEST(leading_zero_refused)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, "clock.mhz=0100", "--set", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "--set: clock.mhz: '0100' has a leading zero") != NULL, "got: %s", err);
    ck_assert_uint_eq(c.clock_mhz, 1000);
    ck_assert_msg(ims_sim_cfg_set_kv(&c, "walker.queue=0", "--set", err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.walk_queue, 0);
    ck_assert_msg(ims_sim_cfg_set_kv(&c, "clock.mhz=0x64", "--set", err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.clock_mhz, 100);
}
END_TEST

/* 64-bit keys: 2^64-1 is in range, 2^64 is out of range with the true bound. */
START_TEST(u64_bound)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    ck_assert_msg(ims_sim_cfg_set_kv(&c, "seed=18446744073709551615", "--set", err, sizeof err) == 0, "%s", err);
    ck_assert(c.seed == UINT64_MAX);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, "seed=18446744073709551616", "--set", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "seed: 18446744073709551616 is out of range [0, 18446744073709551615]") != NULL,
                  "got: %s", err);
}
END_TEST

/* "= 4" has no key: a syntax error, not an unknown key ''. */
START_TEST(empty_key_refused)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, " = 4", "x.cfg:3", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "x.cfg:3: expected key=value, got no key before '='") != NULL, "got: %s", err);
}
END_TEST

/* iotlb.entries derives the IOTLB's sets from its ways; iotlb.ways=full
 * makes it one set. Every order of the same settings gives the same
 * geometry (they are resolved from what was set, not in turn). */
static const char *entries_orders[][3] = {
    {"iotlb.entries=4096", "iotlb.ways=16", "iotlb.sets=64"},
    {"iotlb.ways=16", "iotlb.sets=64", "iotlb.entries=4096"},
    {"iotlb.sets=64", "iotlb.entries=4096", "iotlb.ways=16"},
};
START_TEST(entries_any_order)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(ims_sim_cfg_set_kv(&c, entries_orders[_i][i], "--set", err, sizeof err) == 0, "%s", err);
    ck_assert_msg(ims_sim_cfg_check(&c, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.iommu.iotlb.sets, 256); /* entries win over an explicit iotlb.sets */
    ck_assert_uint_eq(c.iommu.iotlb.ways, 16);
    ims_sim_cfg_default(&c);
    const char *full[2] = {"iotlb.ways=full", "iotlb.entries=4096"};
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(ims_sim_cfg_set_kv(&c, full[(k + _i) % 2], "--set", err, sizeof err), 0);
    ck_assert_msg(ims_sim_cfg_check(&c, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.iommu.iotlb.sets, 1);
    ck_assert_uint_eq(c.iommu.iotlb.ways, 4096);
    char v[64];
    ck_assert_int_eq(ims_sim_cfg_get(&c, "iotlb.ways", v, sizeof v), 0);
    ck_assert_str_eq(v, "full");
}
END_TEST

/* A derived geometry that cannot be built is an error naming the keys and
 * their values. */
static const char *entries_bad[][3] = {
    {"iotlb.entries=1000", "iotlb.ways=16", "iotlb.entries: 1000 is not a multiple of iotlb.ways (16)"},
    {"iotlb.entries=768", "iotlb.ways=8", "iotlb.entries: 768 / iotlb.ways (8) is 96 sets, not a power of two"},
    {"iotlb.ways=full", "iotlb.sets=64", "iotlb.ways: full needs iotlb.entries"},
    {"iotlb.entries=100000", "iotlb.ways=full", "iotlb.entries: 100000 with iotlb.ways=full is more than 65536 ways"},
    {"iotlb.entries=64", "iotlb.ways=0", "iotlb.entries: 64 is not a multiple of iotlb.ways (0)"},
};
START_TEST(entries_errors)
{
    struct ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, entries_bad[_i][0], "--set", err, sizeof err), 0);
    ck_assert_int_eq(ims_sim_cfg_set_kv(&c, entries_bad[_i][1], "--set", err, sizeof err), 0);
    ck_assert_int_eq(ims_sim_cfg_check(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, entries_bad[_i][2]) != NULL, "got: %s", err);
}
END_TEST

/* A run's effective_config (every key's ims_sim_cfg_get value) set back
 * into a fresh configuration, key by key as run --config-from does, gives
 * the same configuration: with a derived, a fully associative and no
 * iotlb.entries. */
START_TEST(entries_rerun_exact)
{
    static const char *points[][2] = {{"iotlb.entries=4096", "iotlb.ways=16"},
                                      {"iotlb.ways=full", "iotlb.entries=2048"},
                                      {"iotlb.sets=128", "iotlb.ways=2"}};
    for (int p = 0; p < 3; p++) {
        struct ims_sim_cfg a, b;
        ims_sim_cfg_default(&a);
        ims_sim_cfg_default(&b);
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(ims_sim_cfg_set_kv(&a, points[p][i], "--set", err, sizeof err), 0);
        ck_assert_msg(ims_sim_cfg_check(&a, err, sizeof err) == 0, "%s", err);
        for (size_t i = 0; i < ims_sim_cfg_keys(); i++) {
            char v[128];
            ck_assert_int_eq(ims_sim_cfg_get(&a, ims_sim_cfg_key(i), v, sizeof v), 0);
            ck_assert_msg(ims_sim_cfg_set(&b, ims_sim_cfg_key(i), v, err, sizeof err) == 0, "%s", err);
        }
        ck_assert_msg(ims_sim_cfg_check(&b, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(b.iommu.iotlb.sets, a.iommu.iotlb.sets);
        ck_assert_uint_eq(b.iommu.iotlb.ways, a.iommu.iotlb.ways);
        /* Only the iotlb.sets the derivation overrode is not recorded (the
         * record has the sets it gave): nothing else may differ. */
        b.iotlb_sets_key = a.iotlb_sets_key;
        ck_assert_msg(!memcmp(&a, &b, sizeof a), "point %d: the rerun's configuration differs", p);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("simcfg");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, load_sets_keys);
    tcase_add_test(tc, unknown_key_names_line);
    tcase_add_loop_test(tc, bad_values_rejected, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, check_catches_geometry);
    tcase_add_loop_test(tc, entries_any_order, 0, 3);
    tcase_add_loop_test(tc, entries_errors, 0, (int)(sizeof entries_bad / sizeof entries_bad[0]));
    tcase_add_test(tc, entries_rerun_exact);
    tcase_add_loop_test(tc, shipped_configs_load, 0, (int)(sizeof configs / sizeof configs[0]));
    tcase_add_test(tc, gem5_point_geometry);
    tcase_add_test(tc, empty_file_gives_defaults);
    tcase_add_test(tc, default_cfg_is_defaults);
    tcase_add_test(tc, default_values);
    tcase_add_test(tc, print_config_round_trips);
    tcase_add_test(tc, fault_queue_follows_nfr);
    tcase_add_test(tc, fault_queue_too_small);
    tcase_add_test(tc, docs_table_matches_keys);
    tcase_add_test(tc, policies_by_name);
    tcase_add_test(tc, bom_accepted_at_start_only);
    tcase_add_test(tc, directory_refused);
    tcase_add_test(tc, nul_byte_refused);
    tcase_add_test(tc, long_line_refused);
    tcase_add_test(tc, leading_zero_refused);
    tcase_add_test(tc, u64_bound);
    tcase_add_test(tc, empty_key_refused);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
