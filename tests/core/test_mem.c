/* Sparse memory: zero until written, little-endian, page-crossing copies,
 * frames freed by zero_page, hash table growth and deletion. */
#include <check.h>
#include "ims_check.h"
#include <stdint.h>
#include <string.h>

#include "iommusim/mem.h"

/* Never-written memory reads as zero and allocates nothing. */
START_TEST(untouched_reads_zero)
{
    struct ims_mem *m = ims_mem_create();
    ck_assert_uint_eq(ims_mem_read64(m, 0x123456789000ull), 0);
    ck_assert_uint_eq(ims_mem_pages(m), 0);
    ims_mem_destroy(m);
}
END_TEST

/* A 64-bit write reads back; bytes are little-endian; one frame backed. */
START_TEST(write_read_le)
{
    struct ims_mem *m = ims_mem_create();
    ims_mem_write64(m, 0x5008, 0x1122334455667788ull);
    ck_assert_uint_eq(ims_mem_read64(m, 0x5008), 0x1122334455667788ull);
    uint8_t b[2];
    ims_mem_read(m, 0x5008, b, 2);
    ck_assert_uint_eq(b[0], 0x88);
    ck_assert_uint_eq(b[1], 0x77);
    ck_assert_uint_eq(ims_mem_pages(m), 1);
    ims_mem_destroy(m);
}
END_TEST

/* A copy across a page boundary lands in both frames. */
START_TEST(cross_page_copy)
{
    struct ims_mem *m = ims_mem_create();
    uint8_t in[16], out[16];
    for (int i = 0; i < 16; i++)
        in[i] = (uint8_t)(i + 1);
    ims_mem_write(m, 0x1ff8, in, 16);
    ims_mem_read(m, 0x1ff8, out, 16);
    ck_assert_mem_eq(in, out, 16);
    ck_assert_uint_eq(ims_mem_pages(m), 2);
    ck_assert_uint_eq(ims_mem_read64(m, 0x2000), 0x100f0e0d0c0b0a09ull);
    ims_mem_destroy(m);
}
END_TEST

/* Many frames force growth; freeing every other one keeps the rest intact
 * (deletion must not break probe chains) and the freed ones read zero. */
START_TEST(grow_and_delete)
{
    struct ims_mem *m = ims_mem_create();
    const uint64_t n = 5000;
    for (uint64_t i = 0; i < n; i++)
        ims_mem_write64(m, (i * 7919) << 12, i + 1);
    ck_assert_uint_eq(ims_mem_pages(m), n);
    for (uint64_t i = 0; i < n; i += 2)
        ims_mem_zero_page(m, (i * 7919) << 12);
    ck_assert_uint_eq(ims_mem_pages(m), n / 2);
    for (uint64_t i = 0; i < n; i++)
        ck_assert_uint_eq(ims_mem_read64(m, (i * 7919) << 12), (i & 1) ? i + 1 : 0);
    ims_mem_zero_page(m, 0x777777000ull); /* never backed: no effect */
    ck_assert_uint_eq(ims_mem_pages(m), n / 2);
    ims_mem_destroy(m);
}
END_TEST

/* The direct ops read and write the same memory. */
START_TEST(direct_ops)
{
    struct ims_mem *m = ims_mem_create();
    ims_mem_direct_ops.write64(m, 0xabc000, 42, IMS_MEM_FAULT);
    ck_assert_uint_eq(ims_mem_read64(m, 0xabc000), 42);
    ck_assert_uint_eq(ims_mem_direct_ops.read64(m, 0xabc000, IMS_MEM_PTE), 42);
    ims_mem_destroy(m);
}
END_TEST

/* A frame's pointer sees later writes; the free hook fires once, with the
 * frame's address, when zero_page frees a backed frame (not for an unbacked
 * one), and not at all once removed. */
struct hook_log {
    int calls;
    uint64_t pa;
};
static void log_free(void *ctx, uint64_t pa)
{
    struct hook_log *h = ctx;
    h->calls++;
    h->pa = pa;
}

START_TEST(frame_pointer_and_free_hook)
{
    struct ims_mem *m = ims_mem_create();
    struct hook_log h = {0, 0};
    ims_mem_set_free_hook(m, log_free, &h);
    ck_assert_ptr_null(ims_mem_frame(m, 0x7000));
    ims_mem_write64(m, 0x7010, 5);
    const uint64_t *f = ims_mem_frame(m, 0x7ff8);
    ck_assert_ptr_nonnull(f);
    for (uint64_t i = 0; i < 3000; i++) /* growth moves the index, not the frames */
        ims_mem_write64(m, (i + 100) << 12, i);
    ims_mem_write64(m, 0x7018, 6);
    ck_assert_ptr_eq(ims_mem_frame(m, 0x7000), f);
    ck_assert_uint_eq(f[2], 5);
    ck_assert_uint_eq(f[3], 6);
    ims_mem_zero_page(m, 0x9999000); /* never backed */
    ck_assert_int_eq(h.calls, 0);
    ims_mem_zero_page(m, 0x7000);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(h.pa, 0x7000);
    ims_mem_set_free_hook(m, NULL, NULL);
    ims_mem_zero_page(m, 100 << 12);
    ck_assert_int_eq(h.calls, 1);
    ims_mem_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mem");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, untouched_reads_zero);
    tcase_add_test(tc, write_read_le);
    tcase_add_test(tc, cross_page_copy);
    tcase_add_test(tc, grow_and_delete);
    tcase_add_test(tc, direct_ops);
    tcase_add_test(tc, frame_pointer_and_free_hook);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
