/* The replayer's IOVA remap filter (model/trace/iova_remap.c): the IOVA
 * sequence each strategy gives on a hand-made trace, and that DMA, UNMAP
 * and page-selective invalidations follow the remapped MAPs. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "../../model/trace/iova_remap.h"
#include "iommusim/iommu.h"
#include "ims_check.h"

static struct ims_rec rec(uint8_t kind, uint16_t did, uint64_t iova, uint64_t size)
{
    struct ims_rec r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.did = did;
    r.rid = 0x10;
    r.iova = iova;
    r.size = size;
    return r;
}

/* Three 4 KiB buffers mapped, DMAed, unmapped and invalidated (strict),
 * then three more: the new IOVAs of the six MAPs in *out. */
static void run6(const char *name, uint64_t out[6])
{
    char err[256];
    int s = ims_remap_strategy(name);
    ck_assert_int_ge(s, 0);
    struct ims_remap *m = ims_remap_new(s, err, sizeof err);
    ck_assert_ptr_nonnull(m);
    struct ims_rec a = rec(IMS_REC_ATTACH, 1, 0, 0);
    ck_assert_int_eq(ims_remap_apply(m, &a, 1, err, sizeof err), 0);
    for (int i = 0; i < 6; i++) {
        uint64_t iova = UINT64_C(0xfff00000) - (uint64_t)(i % 3) * 0x1000;
        struct ims_rec r[4] = {rec(IMS_REC_MAP, 1, iova, 4096), rec(IMS_REC_DMA, 0, iova + 0x123, 64),
                               rec(IMS_REC_UNMAP, 1, iova, 4096), rec(IMS_REC_INV_IOTLB, 1, iova, 0)};
        r[3].gran = IMS_INV_PAGE;
        /* MAPs 0..2 live together, unmaps after the third */
        if (i % 3 != 2) {
            ck_assert_int_eq(ims_remap_apply(m, r, 2, err, sizeof err), 0);
            out[i] = r[0].iova;
            ck_assert_uint_eq(r[1].iova, r[0].iova + 0x123);
            continue;
        }
        ck_assert_int_eq(ims_remap_apply(m, r, 2, err, sizeof err), 0);
        out[i] = r[0].iova;
        ck_assert_uint_eq(r[1].iova, r[0].iova + 0x123);
        for (int j = 0; j < 3; j++) {
            uint64_t rj = UINT64_C(0xfff00000) - (uint64_t)j * 0x1000;
            struct ims_rec u[2] = {rec(IMS_REC_UNMAP, 1, rj, 4096), rec(IMS_REC_INV_IOTLB, 1, rj, 0)};
            u[1].gran = IMS_INV_PAGE;
            ck_assert_int_eq(ims_remap_apply(m, u, 2, err, sizeof err), 0);
            ck_assert_uint_eq(u[0].iova, out[i - 2 + j]);
            ck_assert_uint_eq(u[1].iova, out[i - 2 + j]);
            ck_assert_uint_eq(u[1].am, 0);
        }
    }
    ims_remap_free(m);
}

#define TOP ((UINT64_C(1) << 34) + (UINT64_C(1) << 32) - 0x1000) /* order-0 range: 2^20 units from 16 GiB */

START_TEST(sequence_topdown)
{
    uint64_t o[6];
    run6("top-down", o);
    uint64_t want[6] = {TOP, TOP - 0x1000, TOP - 0x2000, TOP - 0x3000, TOP - 0x4000, TOP - 0x5000};
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(o[i], want[i]);
}
END_TEST

START_TEST(sequence_lifo)
{
    uint64_t o[6];
    run6("lifo", o);
    /* freed in order 0, 1, 2: handed out again last freed first */
    uint64_t want[6] = {TOP, TOP - 0x1000, TOP - 0x2000, TOP - 0x2000, TOP - 0x1000, TOP};
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(o[i], want[i]);
}
END_TEST

START_TEST(sequence_pool)
{
    uint64_t o[6];
    run6("pool", o);
    /* freed in order 0, 1, 2: handed out again oldest first */
    uint64_t want[6] = {TOP, TOP - 0x1000, TOP - 0x2000, TOP, TOP - 0x1000, TOP - 0x2000};
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(o[i], want[i]);
}
END_TEST

START_TEST(sequence_ring)
{
    uint64_t o[6];
    run6("ring", o);
    /* one recorded buffer, one place: the slot is the recorded unit index */
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(o[i], o[i + 3]);
    ck_assert_uint_ne(o[0], o[1]);
}
END_TEST

/* An UNMAP's unit is not reused before an invalidation covers it. */
START_TEST(no_reuse_before_inv)
{
    char err[256];
    struct ims_remap *m = ims_remap_new(ims_remap_strategy("lifo"), err, sizeof err);
    ck_assert_ptr_nonnull(m);
    struct ims_rec r[3] = {rec(IMS_REC_MAP, 1, 0x5000, 4096), rec(IMS_REC_UNMAP, 1, 0x5000, 4096),
                           rec(IMS_REC_MAP, 1, 0x6000, 4096)};
    ck_assert_int_eq(ims_remap_apply(m, r, 3, err, sizeof err), 0);
    ck_assert_uint_ne(r[0].iova, r[2].iova);
    ims_remap_free(m);
}
END_TEST

/* A 2 MiB MAP stays 2 MiB aligned; a DMA into it keeps its offset. */
START_TEST(superpage_aligned)
{
    char err[256];
    struct ims_remap *m = ims_remap_new(ims_remap_strategy("top-down"), err, sizeof err);
    ck_assert_ptr_nonnull(m);
    struct ims_rec r[3] = {rec(IMS_REC_ATTACH, 1, 0, 0), rec(IMS_REC_MAP, 1, 0x40000000, 0x200000),
                           rec(IMS_REC_DMA, 0, 0x40123456, 8)};
    ck_assert_int_eq(ims_remap_apply(m, r, 3, err, sizeof err), 0);
    ck_assert_uint_eq(r[1].iova & 0x1fffff, 0);
    ck_assert_uint_eq(r[2].iova, r[1].iova + 0x123456);
    ims_remap_free(m);
}
END_TEST

/* A recorded page-selective invalidation that also covered a live
 * neighbour (Linux invalidates the unmapped range rounded up to a power of
 * two) is moved to the unmapped unit alone: the neighbour's new page lies
 * elsewhere and keeps its IOTLB entry. With nothing unmapped in range (a
 * caching-mode invalidation after a map) it covers the mapped pages. */
START_TEST(inv_follows_unmapped_only)
{
    char err[256];
    struct ims_remap *m = ims_remap_new(ims_remap_strategy("lifo"), err, sizeof err);
    ck_assert_ptr_nonnull(m);
    struct ims_rec r[5] = {rec(IMS_REC_MAP, 1, 0x10000, 4096), rec(IMS_REC_MAP, 1, 0x11000, 4096),
                           rec(IMS_REC_INV_IOTLB, 1, 0x10000, 0), rec(IMS_REC_UNMAP, 1, 0x10000, 4096),
                           rec(IMS_REC_INV_IOTLB, 1, 0x10000, 0)};
    r[2].gran = r[4].gran = IMS_INV_PAGE;
    r[2].am = r[4].am = 1; /* 0x10000 and 0x11000 */
    ck_assert_int_eq(ims_remap_apply(m, r, 5, err, sizeof err), 0);
    ck_assert_uint_eq(r[0].iova, TOP);
    ck_assert_uint_eq(r[1].iova, TOP - 0x1000);
    /* after the maps: both mapped pages, the aligned pair holding them */
    ck_assert_uint_eq(r[2].iova, TOP - 0x1000);
    ck_assert_uint_eq(r[2].am, 1);
    /* after the unmap: the unmapped page alone */
    ck_assert_uint_eq(r[4].iova, TOP);
    ck_assert_uint_eq(r[4].am, 0);
    ims_remap_free(m);
}
END_TEST

START_TEST(bad_names)
{
    ck_assert_int_eq(ims_remap_strategy("fifo"), -1);
    ck_assert_int_eq(ims_remap_strategy("none"), -1);
    ck_assert_int_eq(ims_remap_strategy(NULL), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iova_remap");
    TCase *tc = tcase_create("remap");
    tcase_add_test(tc, sequence_topdown);
    tcase_add_test(tc, sequence_lifo);
    tcase_add_test(tc, sequence_pool);
    tcase_add_test(tc, sequence_ring);
    tcase_add_test(tc, no_reuse_before_inv);
    tcase_add_test(tc, superpage_aligned);
    tcase_add_test(tc, inv_follows_unmapped_only);
    tcase_add_test(tc, bad_names);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
