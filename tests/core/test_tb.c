/* Table builder: page-size choice, all-or-nothing map, unmap with superpage
 * splitting and table freeing, domains, attach/detach, capability limits. */
#include <check.h>
#include "ims_check.h"

#include "iommusim/iommu.h"
#include "iommusim/tb.h"

struct tbx {
    struct ims_mem *mem;
    struct ims_tb *tb;
};

static void open_tb(struct tbx *t, unsigned sllps, bool superpages)
{
    struct ims_tb_cfg cfg;
    ims_tb_cfg_default(&cfg);
    cfg.caps.sllps = (uint8_t)sllps;
    cfg.superpages = superpages;
    char err[200];
    t->mem = ims_mem_create();
    t->tb = ims_tb_create(t->mem, &cfg, err, sizeof err);
    ck_assert_msg(t->tb != NULL, "%s", err);
    ck_assert_int_eq(ims_tb_domain_create(t->tb, 1, 4), 0);
}

static void close_tb(struct tbx *t)
{
    ims_tb_destroy(t->tb);
    ims_mem_destroy(t->mem);
}

static unsigned shift_at(struct tbx *t, uint64_t iova)
{
    unsigned s = 0;
    uint64_t pa;
    ck_assert_int_eq(ims_tb_lookup(t->tb, 1, iova, &pa, NULL, &s), 0);
    return s;
}

#define GIB (1ull << 30)
#define MIB2 (1ull << 21)

/* 1 GiB + 2 MiB + 4 KiB, all aligned: one leaf of each size. */
START_TEST(largest_pages)
{
    struct tbx t;
    open_tb(&t, 3, true);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, GIB, 4 * GIB, GIB + MIB2 + 0x1000, IMS_PERM_RW), 0);
    ck_assert_uint_eq(shift_at(&t, GIB), 30);
    ck_assert_uint_eq(shift_at(&t, 2 * GIB), 21);
    ck_assert_uint_eq(shift_at(&t, 2 * GIB + MIB2), 12);
    uint64_t pa;
    unsigned perm;
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, 2 * GIB + 0x1234, &pa, &perm, NULL), 0);
    ck_assert_uint_eq(pa, 5 * GIB + 0x1234);
    ck_assert_uint_eq(perm, IMS_PERM_RW);
    close_tb(&t);
}
END_TEST

/* PA misaligned to 2 MiB: 4 KiB pages only. SLLPS without 1 GiB: 2 MiB
 * pages. Superpages off: 4 KiB. */
START_TEST(alignment_and_caps)
{
    struct tbx t;
    open_tb(&t, 3, true);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, GIB, 4 * GIB + 0x1000, MIB2, IMS_PERM_R), 0);
    ck_assert_uint_eq(shift_at(&t, GIB), 12);
    close_tb(&t);
    open_tb(&t, IMS_SLLPS_2M, true);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, GIB, 4 * GIB, GIB, IMS_PERM_R), 0);
    ck_assert_uint_eq(shift_at(&t, GIB + 5 * MIB2), 21);
    close_tb(&t);
    open_tb(&t, 3, false);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0, 0, MIB2, IMS_PERM_R), 0);
    ck_assert_uint_eq(shift_at(&t, 0x1ff000), 12);
    close_tb(&t);
}
END_TEST

/* Mapping over a mapped page fails and changes nothing. */
START_TEST(map_exists)
{
    struct tbx t;
    open_tb(&t, 3, true);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0x5000, 0x9000, 0x1000, IMS_PERM_R), 0);
    size_t tables = ims_tb_tables(t.tb);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0x1000, 0x1000, 0x8000, IMS_PERM_RW), IMS_TB_EEXIST);
    ck_assert_uint_eq(ims_tb_tables(t.tb), tables);
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, 0x1000, NULL, NULL, NULL), IMS_TB_ENOENT);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0x1000, 0x1000, 0x1000, 0), IMS_TB_EINVAL);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0x1100, 0x1000, 0x1000, 1), IMS_TB_EINVAL);
    ck_assert_int_eq(ims_tb_map(t.tb, 9, 0x1000, 0x1000, 0x1000, 1), IMS_TB_ENODOM);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 1ull << 48, 0x1000, 0x1000, 1), IMS_TB_ECAPS);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0, 1ull << 46, 0x1000, 1), IMS_TB_ECAPS);
    close_tb(&t);
}
END_TEST

/* A one-page map onto a mapped 4 KiB page, or inside a 2 MiB page, fails
 * with EEXIST, allocates no table and leaves the old mapping as it was. */
START_TEST(map_exists_one_page)
{
    struct tbx t;
    open_tb(&t, 3, true);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0x7000, 0x9000, 0x1000, IMS_PERM_R), 0);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, GIB, 8 * GIB, MIB2, IMS_PERM_RW), 0);
    size_t tables = ims_tb_tables(t.tb);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0x7000, 0x3000, 0x1000, IMS_PERM_RW), IMS_TB_EEXIST);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, GIB + 0x5000, 0x3000, 0x1000, IMS_PERM_RW), IMS_TB_EEXIST);
    ck_assert_uint_eq(ims_tb_tables(t.tb), tables);
    uint64_t pa;
    unsigned perm, s;
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, 0x7000, &pa, &perm, &s), 0);
    ck_assert_uint_eq(pa, 0x9000);
    ck_assert_uint_eq(perm, IMS_PERM_R);
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, GIB + 0x5000, &pa, NULL, &s), 0);
    ck_assert_uint_eq(pa, 8 * GIB + 0x5000);
    ck_assert_uint_eq(s, 21);
    close_tb(&t);
}
END_TEST

/* Four 4 KiB pages across a 2 MiB boundary: two level-1 tables, each page
 * at its own PA. A run that overlaps a mapped page in its second table
 * fails with EEXIST before allocating anything for its first part. */
START_TEST(map_pages_across_tables)
{
    struct tbx t;
    open_tb(&t, 3, true);
    size_t base = ims_tb_tables(t.tb);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, MIB2 - 0x2000, 0x40000000, 0x4000, IMS_PERM_RW), 0);
    ck_assert_uint_eq(ims_tb_tables(t.tb), base + 4); /* level 3, level 2, two level 1 */
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t pa;
        ck_assert_int_eq(ims_tb_lookup(t.tb, 1, MIB2 - 0x2000 + i * 0x1000, &pa, NULL, NULL), 0);
        ck_assert_uint_eq(pa, 0x40000000 + i * 0x1000);
    }
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 3 * MIB2 + 0x3000, 0x5000, 0x1000, IMS_PERM_R), 0);
    size_t tables = ims_tb_tables(t.tb);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 3 * MIB2 - 0x2000, 0x9000, 0x8000, IMS_PERM_R), IMS_TB_EEXIST);
    ck_assert_uint_eq(ims_tb_tables(t.tb), tables);
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, 3 * MIB2 - 0x2000, NULL, NULL, NULL), IMS_TB_ENOENT);
    close_tb(&t);
}
END_TEST

/* Table frame holding iova's level-`level` entry in domain 1. */
static uint64_t table_at(struct tbx *t, uint64_t iova, unsigned level)
{
    uint64_t pa = 0;
    ck_assert_int_eq(ims_tb_entry_pa(t->tb, 1, iova, level, &pa), 0);
    return pa & ~0xfffull;
}

/* One-page unmaps: a page with a neighbour in its table leaves the tables;
 * an unmapped page in a live table is ENOENT and changes nothing; the last
 * page frees its level-1, 2 and 3 tables (deepest first), so the next map
 * elsewhere gets the same frames back at the same levels. */
START_TEST(unmap_one_page_frees_tables)
{
    struct tbx t;
    open_tb(&t, 3, true);
    size_t base = ims_tb_tables(t.tb);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0x3000, 0x8000, 0x1000, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0x4000, 0x9000, 0x1000, IMS_PERM_RW), 0);
    uint64_t l3 = table_at(&t, 0x3000, 3), l2 = table_at(&t, 0x3000, 2), l1 = table_at(&t, 0x3000, 1);
    ck_assert_uint_eq(ims_tb_tables(t.tb), base + 3);
    ck_assert_int_eq(ims_tb_unmap(t.tb, 1, 0x4000, 0x1000), 0);
    ck_assert_uint_eq(ims_tb_tables(t.tb), base + 3);
    ck_assert_int_eq(ims_tb_unmap(t.tb, 1, 0x5000, 0x1000), IMS_TB_ENOENT);
    ck_assert_uint_eq(ims_tb_tables(t.tb), base + 3);
    ck_assert_int_eq(ims_tb_unmap(t.tb, 1, 0x3000, 0x1000), 0);
    ck_assert_uint_eq(ims_tb_tables(t.tb), base);
    uint64_t pa;
    ck_assert_int_eq(ims_tb_entry_pa(t.tb, 1, 0x3000, 3, &pa), IMS_TB_ENOENT); /* level-4 entry cleared */
    ck_assert_int_eq(ims_tb_unmap(t.tb, 1, 0x3000, 0x1000), IMS_TB_ENOENT);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 5 * GIB, 0x8000, 0x1000, IMS_PERM_R), 0);
    ck_assert_uint_eq(table_at(&t, 5 * GIB, 3), l3);
    ck_assert_uint_eq(table_at(&t, 5 * GIB, 2), l2);
    ck_assert_uint_eq(table_at(&t, 5 * GIB, 1), l1);
    close_tb(&t);
}
END_TEST

/* Unmapping 4 KiB inside a 2 MiB page splits it: neighbours keep their PA;
 * unmapping the rest frees every table but the domain root. */
START_TEST(unmap_split_and_free)
{
    struct tbx t;
    open_tb(&t, 3, true);
    size_t base = ims_tb_tables(t.tb);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, GIB, 8 * GIB, GIB, IMS_PERM_RW), 0);
    ck_assert_int_eq(ims_tb_unmap(t.tb, 1, GIB + 3 * MIB2 + 0x5000, 0x1000), 0);
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, GIB + 3 * MIB2 + 0x5000, NULL, NULL, NULL), IMS_TB_ENOENT);
    uint64_t pa;
    unsigned s;
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, GIB + 3 * MIB2 + 0x6000, &pa, NULL, &s), 0);
    ck_assert_uint_eq(pa, 8 * GIB + 3 * MIB2 + 0x6000);
    ck_assert_uint_eq(s, 12);
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, GIB + 7 * MIB2, &pa, NULL, &s), 0);
    ck_assert_uint_eq(s, 21);
    ck_assert_uint_eq(pa, 8 * GIB + 7 * MIB2);
    ck_assert_int_eq(ims_tb_unmap(t.tb, 1, GIB, GIB), 0);
    ck_assert_uint_eq(ims_tb_tables(t.tb), base);
    ck_assert_int_eq(ims_tb_unmap(t.tb, 1, GIB, GIB), IMS_TB_ENOENT);
    /* Freed frames are reused. */
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0, 0, 0x1000, IMS_PERM_R), 0);
    ck_assert_uint_eq(ims_tb_tables(t.tb), base + 3);
    close_tb(&t);
}
END_TEST

/* Splitting a 1 GiB page when SLLPS has no 2 MiB: 4 KiB pages underneath. */
START_TEST(split_1g_without_2m)
{
    struct tbx t;
    open_tb(&t, IMS_SLLPS_1G, true);
    ck_assert_int_eq(ims_tb_map(t.tb, 1, 0, 2 * GIB, GIB, IMS_PERM_R), 0);
    ck_assert_uint_eq(shift_at(&t, 0x12345000), 30);
    ck_assert_int_eq(ims_tb_unmap(t.tb, 1, 0, 0x1000), 0);
    ck_assert_uint_eq(shift_at(&t, 0x12345000), 12);
    uint64_t pa;
    ck_assert_int_eq(ims_tb_lookup(t.tb, 1, 0x12345000, &pa, NULL, NULL), 0);
    ck_assert_uint_eq(pa, 2 * GIB + 0x12345000);
    close_tb(&t);
}
END_TEST

/* MGAW below a domain's width: the builder's limit is min(MGAW, AGAW).
 * With MGAW 39, a 4-level (48-bit) domain maps up to 2^39 - 1 and refuses
 * (IMS_TB_ECAPS) a page at 2^39 or a range crossing it, maps nothing of
 * such a range, and its lookups and unmaps there fail too. */
START_TEST(mgaw_below_domain_width)
{
    struct ims_tb_cfg cfg;
    ims_tb_cfg_default(&cfg);
    cfg.caps.mgaw = 39;
    char err[200];
    struct ims_mem *mem = ims_mem_create();
    struct ims_tb *tb = ims_tb_create(mem, &cfg, err, sizeof err);
    ck_assert_msg(tb != NULL, "%s", err);
    ck_assert_int_eq(ims_tb_domain_create(tb, 1, 4), 0);
    const uint64_t lim = 1ull << 39;
    ck_assert_int_eq(ims_tb_map(tb, 1, lim, 0x1000, 0x1000, IMS_PERM_RW), IMS_TB_ECAPS);
    ck_assert_int_eq(ims_tb_map(tb, 1, 1ull << 47, 0x1000, 0x1000, IMS_PERM_RW), IMS_TB_ECAPS);
    ck_assert_int_eq(ims_tb_map(tb, 1, lim - 0x1000, 0x1000, 0x2000, IMS_PERM_RW), IMS_TB_ECAPS);
    ck_assert_int_eq(ims_tb_lookup(tb, 1, lim - 0x1000, NULL, NULL, NULL), IMS_TB_ENOENT);
    ck_assert_int_eq(ims_tb_map(tb, 1, lim - 0x1000, 0x1000, 0x1000, IMS_PERM_RW), 0);
    uint64_t pa = 0;
    ck_assert_int_eq(ims_tb_lookup(tb, 1, lim - 0x1000, &pa, NULL, NULL), 0);
    ck_assert_uint_eq(pa, 0x1000);
    ck_assert_int_eq(ims_tb_lookup(tb, 1, lim, &pa, NULL, NULL), IMS_TB_ENOENT);
    ck_assert_int_eq(ims_tb_unmap(tb, 1, lim, 0x1000), IMS_TB_ECAPS);
    ims_tb_destroy(tb);
    ims_mem_destroy(mem);
}
END_TEST

/* Domains: capability and existence checks; attach writes a context entry;
 * a domain with devices cannot be destroyed. */
START_TEST(domains_attach)
{
    struct tbx t;
    open_tb(&t, 3, true);
    ck_assert_int_eq(ims_tb_domain_create(t.tb, 1, 4), IMS_TB_EEXIST);
    ck_assert_int_eq(ims_tb_domain_create(t.tb, 2, 5), IMS_TB_ECAPS); /* default SAGAW lacks 57-bit */
    ck_assert_int_eq(ims_tb_domain_create(t.tb, 2, 6), IMS_TB_EINVAL);
    ck_assert_int_eq(ims_tb_domain_create(t.tb, 2, 3), 0);
    ck_assert(ims_tb_domain_exists(t.tb, 2));
    ck_assert_int_eq(ims_tb_attach(t.tb, 0x0310, 2, IMS_TT_UNTRANSLATED, true), 0);
    uint64_t pa;
    ck_assert_int_eq(ims_tb_ctx_entry_pa(t.tb, 0x0310, &pa), 0);
    const struct ims_ctx_entry ce = {ims_mem_read64(t.mem, pa), ims_mem_read64(t.mem, pa + 8)};
    ck_assert(ims_ctx_present(&ce) && ims_ctx_fpd(&ce));
    ck_assert_uint_eq(ims_ctx_tt(&ce), IMS_TT_UNTRANSLATED);
    ck_assert_uint_eq(ims_ctx_slptptr(&ce), ims_tb_domain_root(t.tb, 2));
    ck_assert_uint_eq(ims_ctx_aw(&ce), IMS_AW_39);
    ck_assert_uint_eq(ims_ctx_did(&ce), 2);
    ck_assert_uint_eq(ce.lo & IMS_CTX_LO_RSVD, 0); /* reserved bits stay clear */
    ck_assert_uint_eq(ce.hi & IMS_CTX_HI_RSVD, 0);
    ck_assert_int_eq(ims_tb_domain_destroy(t.tb, 2), IMS_TB_EEXIST);
    ck_assert_int_eq(ims_tb_attach(t.tb, 0x0310, 1, IMS_TT_UNTRANSLATED, false), 0); /* move */
    ck_assert_int_eq(ims_tb_domain_destroy(t.tb, 2), 0);
    ck_assert_int_eq(ims_tb_detach(t.tb, 0x0310), 0);
    const struct ims_ctx_entry gone = {ims_mem_read64(t.mem, pa), ims_mem_read64(t.mem, pa + 8)};
    ck_assert(!ims_ctx_present(&gone));
    ck_assert_int_eq(ims_tb_detach(t.tb, 0x0310), IMS_TB_ENOENT);
    ck_assert_int_eq(ims_tb_attach(t.tb, 0x0310, 1, 3, false), IMS_TB_EINVAL);
    ck_assert_str_eq(ims_tb_strerror(IMS_TB_ENOMEM), "table region exhausted");
    close_tb(&t);
}
END_TEST

/* Domain ids anywhere in ND's range, created in any order (the builder's
 * domain array grows to the highest id in use): each exists with its own
 * tables and mappings; ids between them do not exist; the last id ND allows
 * (65,535 with the default 16-bit ids) works and the next is refused. */
START_TEST(domain_ids_sparse)
{
    struct tbx t;
    open_tb(&t, 3, false); /* creates domain 1 */
    static const uint16_t ids[] = {65535, 63, 64, 1000, 0, 127, 128};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        ck_assert_int_eq(ims_tb_domain_create(t.tb, ids[i], 3 + (unsigned)(i & 1)), IMS_TB_OK);
        ck_assert_int_eq(ims_tb_map(t.tb, ids[i], 0x1000, 0x100000 + ((uint64_t)ids[i] << 12), 0x1000, IMS_PERM_R),
                         IMS_TB_OK);
    }
    ck_assert_int_eq(ims_tb_domain_create(t.tb, 65535, 4), IMS_TB_EEXIST);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        uint64_t pa = 0;
        ck_assert_msg(ims_tb_domain_exists(t.tb, ids[i]), "domain %u", ids[i]);
        ck_assert_int_eq(ims_tb_lookup(t.tb, ids[i], 0x1000, &pa, NULL, NULL), IMS_TB_OK);
        ck_assert_uint_eq(pa, 0x100000 + ((uint64_t)ids[i] << 12));
        for (size_t j = 0; j < i; j++)
            ck_assert_uint_ne(ims_tb_domain_root(t.tb, ids[i]), ims_tb_domain_root(t.tb, ids[j]));
    }
    ck_assert(!ims_tb_domain_exists(t.tb, 2));
    ck_assert(!ims_tb_domain_exists(t.tb, 65534));
    ck_assert_int_eq(ims_tb_map(t.tb, 65534, 0x1000, 0x1000, 0x1000, IMS_PERM_R), IMS_TB_ENODOM);
    ck_assert_int_eq(ims_tb_domain_destroy(t.tb, 65535), IMS_TB_OK);
    ck_assert(!ims_tb_domain_exists(t.tb, 65535));
    ck_assert_int_eq(ims_tb_domain_create(t.tb, 65535, 4), IMS_TB_OK);
    close_tb(&t);
}
END_TEST

/* A table region of 3 frames: root + domain root + one more; a map needing
 * three new tables fails with ENOMEM and leaves nothing behind. */
START_TEST(region_exhausted)
{
    struct ims_tb_cfg cfg;
    ims_tb_cfg_default(&cfg);
    cfg.tbl_size = 3 * 4096;
    char err[200];
    struct ims_mem *m = ims_mem_create();
    struct ims_tb *tb = ims_tb_create(m, &cfg, err, sizeof err);
    ck_assert_ptr_nonnull(tb);
    ck_assert_int_eq(ims_tb_domain_create(tb, 1, 4), 0);
    ck_assert_int_eq(ims_tb_map(tb, 1, 0, 0, 0x1000, IMS_PERM_R), IMS_TB_ENOMEM);
    ck_assert_uint_eq(ims_tb_tables(tb), 2);
    ims_tb_destroy(tb);
    ims_mem_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tb");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, largest_pages);
    tcase_add_test(tc, alignment_and_caps);
    tcase_add_test(tc, map_exists);
    tcase_add_test(tc, map_exists_one_page);
    tcase_add_test(tc, map_pages_across_tables);
    tcase_add_test(tc, unmap_one_page_frees_tables);
    tcase_add_test(tc, unmap_split_and_free);
    tcase_add_test(tc, split_1g_without_2m);
    tcase_add_test(tc, domains_attach);
    tcase_add_test(tc, mgaw_below_domain_width);
    tcase_add_test(tc, region_exhausted);
    tcase_add_test(tc, domain_ids_sparse);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
