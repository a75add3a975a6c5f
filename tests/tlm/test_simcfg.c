/* Configuration: defaults, parsing, errors naming the key and line, shipped
 * design points, and docs/config.md documenting every key. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    "walker.count=0",      "walker.count=-1",       "mem.latency=abc",     "iotlb.repl=mru",
    "caps.sagaw=40",       "caps.superpages=4k",    "player.mode=fast",    "mem.ptw_cache_hit=1.5",
    "caps.haw=60",         "iotlb.ways=65",         "iotlb.ways",          "inv.policy=later",
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

/* docs/config.md names every key (so the reference cannot drift). */
START_TEST(docs_list_every_key)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/config.md", IMS_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = 0;
    fclose(f);
    for (size_t i = 0; i < ims_sim_cfg_keys(); i++) {
        char want[80];
        snprintf(want, sizeof want, "`%s`", ims_sim_cfg_key(i));
        ck_assert_msg(strstr(doc, want) != NULL, "docs/config.md does not document %s", want);
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
    tcase_add_loop_test(tc, shipped_configs_load, 0, (int)(sizeof configs / sizeof configs[0]));
    tcase_add_test(tc, gem5_point_geometry);
    tcase_add_test(tc, docs_list_every_key);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
