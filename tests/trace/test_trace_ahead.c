/* The zstd read-ahead (ims_trace_read_ahead): decompression on a thread of
 * its own must not change what a reader returns. Each case reads the same
 * file twice, once decompressing on the caller's thread and once with the
 * read-ahead thread, and compares everything: the records, how many came
 * before an error, the error's text and the index it names. The large case
 * decompresses to 8 MB, four times round the thread's ring of chunks
 * (trace_io.c: 4 chunks of 512 KiB). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "ims_check.h"
#include "util.h"

static char err[512];

/* Writes n records (binary version 2: 40 bytes each) to the scratch file name. */
static const char *write_big(const char *name, uint64_t n)
{
    const char *p = tu_path(name);
    struct ims_trace_hdr h;
    memset(&h, 0, sizeof h);
    snprintf(h.creator, sizeof h.creator, "test_trace_ahead");
    struct ims_trace_writer *w = ims_trace_create_version(p, &h, 2, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    struct ims_rec r;
    for (uint64_t i = 0; i < n; i++) {
        tu_varied_rec(i, &r);
        ck_assert_msg(ims_trace_write(w, &r) == 0, "%s", ims_trace_writer_error(w));
    }
    ck_assert_msg(ims_trace_commit(w, err, sizeof err) == 0, "%s", err);
    return p;
}

/* What one read of a file gave. */
struct outcome {
    struct ims_rec *recs;
    size_t n;
    char error[768]; /* "" if it ended cleanly */
    uint64_t index;  /* ims_trace_index at the end or error */
    int ahead;       /* ims_trace_read_ahead's answer */
};

/* Reads path whole in batches of 97 records (odd, so batches straddle
 * chunk and buffer ends), with or without the read-ahead thread. */
static void read_whole(const char *path, bool ahead, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    if (ahead)
        o->ahead = ims_trace_read_ahead(r);
    size_t cap = 1024;
    o->recs = malloc(cap * sizeof *o->recs);
    ck_assert_ptr_nonnull(o->recs);
    for (;;) {
        if (o->n + 97 > cap) {
            cap *= 2;
            o->recs = realloc(o->recs, cap * sizeof *o->recs);
            ck_assert_ptr_nonnull(o->recs);
        }
        long got = ims_trace_read(r, o->recs + o->n, 97);
        if (got < 0) {
            snprintf(o->error, sizeof o->error, "%s", ims_trace_error(r));
            break;
        }
        if (got == 0)
            break;
        o->n += (size_t)got;
    }
    o->index = ims_trace_index(r);
    ims_trace_close(r);
}

static void expect_same(const struct outcome *here, const struct outcome *there, const char *what)
{
    ck_assert_msg(there->n == here->n, "%s: %zu records with the read-ahead, %zu without (%s | %s)", what, there->n, here->n,
                  there->error, here->error);
    for (size_t i = 0; i < here->n; i++)
        ck_assert_msg(tu_rec_equal(&here->recs[i], &there->recs[i]), "record %zu differs", i);
    ck_assert_str_eq(there->error, here->error);
    ck_assert_uint_eq(there->index, here->index);
}

/* A clean 8 MB stream: every record, in order, with the thread running. */
START_TEST(same_records)
{
    const uint64_t n = 200000;
    const char *p = write_big("big.itr.zst", n);
    struct outcome here, there;
    read_whole(p, false, &here);
    read_whole(p, true, &there);
    ck_assert_int_eq(there.ahead, 1);
    ck_assert_uint_eq(here.n, n);
    ck_assert_str_eq(here.error, "");
    expect_same(&here, &there, "clean");
    struct ims_rec want;
    tu_varied_rec(n - 1, &want);
    ck_assert(tu_rec_equal(&there.recs[n - 1], &want));
    free(here.recs);
    free(there.recs);
}
END_TEST

/* Cuts the compressed file at `keep` of its bytes, or flips a bit there. */
static void damage(const char *path, double at, bool flip)
{
    size_t len;
    char *data = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    size_t off = (size_t)((double)len * at);
    if (flip)
        data[off] ^= 0x10;
    ck_assert_int_eq(tu_write_file(path, data, flip ? len : off), 0);
    free(data);
}

/* A stream cut short or corrupted: the same records before the error, the
 * same error text and record index, at several places in the stream. */
START_TEST(same_errors)
{
    static const double at[] = {0.3, 0.6, 0.97};
    for (int flip = 0; flip < 2; flip++)
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
            const char *p = write_big("bad.itr.zst", 100000);
            damage(p, at[k], flip);
            struct outcome here, there;
            read_whole(p, false, &here);
            read_whole(p, true, &there);
            ck_assert_msg(here.error[0] != '\0', "%s at %.2f: no error", flip ? "flip" : "cut", at[k]);
            ck_assert_int_eq(there.ahead, 1);
            char what[32];
            snprintf(what, sizeof what, "%s at %.2f", flip ? "flip" : "cut", at[k]);
            expect_same(&here, &there, what);
            free(here.recs);
            free(there.recs);
        }
}
END_TEST

/* Closing a reader whose thread is still filling chunks (or has not read
 * a byte yet) ends the thread: no hang, nothing leaked (the sanitizer build
 * checks that). */
START_TEST(close_mid_stream)
{
    const char *p = write_big("mid.itr.zst", 100000);
    struct ims_trace_reader *r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(ims_trace_read_ahead(r), 1);
    ims_trace_close(r);
    r = ims_trace_open(p, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(ims_trace_read_ahead(r), 1);
    struct ims_rec got[10], want;
    ck_assert_int_eq(ims_trace_read(r, got, 10), 10);
    tu_varied_rec(9, &want);
    ck_assert(tu_rec_equal(&got[9], &want));
    ims_trace_close(r);
}
END_TEST

/* Only zstd readers get a thread; a second call keeps the first thread;
 * a stream already decompressed to its end stays on the caller's thread. */
START_TEST(which_readers)
{
    const char *plain = write_big("s.itr", 1000);
    struct ims_trace_reader *r = ims_trace_open(plain, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(ims_trace_read_ahead(r), 0);
    struct ims_rec got[1000];
    ck_assert_int_eq(ims_trace_read(r, got, 1000), 1000);
    ims_trace_close(r);

    const char *text = tu_path("s.itt");
    static const char line[] = "version 1\ndma t=1 rid=00:03.0 iova=0x1000 size=4 r\n";
    ck_assert_int_eq(tu_write_file(text, line, sizeof line - 1), 0);
    r = ims_trace_open(text, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(ims_trace_read_ahead(r), 0);
    ck_assert_int_eq(ims_trace_read(r, got, 10), 1);
    ims_trace_close(r);

    const char *z = write_big("m.itr.zst", 20000); /* 800 KB: more than the chunk opening reads */
    r = ims_trace_open(z, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(ims_trace_read_ahead(r), 1);
    ck_assert_int_eq(ims_trace_read_ahead(r), 1);
    uint64_t n = 0;
    for (long k; (k = ims_trace_read(r, got, 1000)) > 0;)
        n += (uint64_t)k;
    ck_assert_uint_eq(n, 20000);
    ck_assert_int_eq(ims_trace_read_ahead(r), 1);
    ims_trace_close(r);

    /* 40 KB: opening decompressed all of it (one chunk), nothing is left to read ahead */
    z = write_big("s.itr.zst", 1000);
    r = ims_trace_open(z, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(ims_trace_read_ahead(r), 0);
    ck_assert_int_eq(ims_trace_read(r, got, 1000), 1000);
    ck_assert_int_eq(ims_trace_read(r, got, 1), 0);
    ims_trace_close(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_ahead");
    TCase *tc = tcase_create("ahead");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, same_records);
    tcase_add_test(tc, same_errors);
    tcase_add_test(tc, close_mid_stream);
    tcase_add_test(tc, which_readers);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
