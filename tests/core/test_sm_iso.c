/* The scalable-mode table builder (tb.h, "Scalable-mode builder") and the
 * PASID isolation property: over 10^6 random DMA accesses by several
 * devices on behalf of several processes (host processes bound first-level,
 * VM processes bound nested), with random maps and unmaps and the
 * invalidations an OS sends, every translation equals the test's own
 * reference map of that process, and no PASID ever reaches a page of
 * another process. */
#include <check.h>
#include "ims_check.h"
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/mem.h"
#include "iommusim/tb.h"

static struct ims_tb_sm *mk_tb(struct ims_mem *mem, struct ims_tb_cfg *tc)
{
    char err[200] = "";
    ims_tb_cfg_default(tc);
    tc->caps.sagaw = IMS_SAGAW_39 | IMS_SAGAW_48 | IMS_SAGAW_57;
    tc->caps.mgaw = 57;
    tc->tbl_base = UINT64_C(0x10000000000);
    tc->tbl_size = UINT64_C(1) << 32;
    struct ims_tb_sm *tb = ims_tb_sm_create(mem, tc, err, sizeof err);
    ck_assert_msg(tb != NULL, "%s", err);
    return tb;
}

static struct ims_iommu *mk_mmu(struct ims_mem *mem, struct ims_tb_sm *tb)
{
    struct ims_iommu_cfg cfg;
    char err[200] = "";
    ims_iommu_cfg_default(&cfg);
    cfg.caps.sagaw = IMS_SAGAW_39 | IMS_SAGAW_48 | IMS_SAGAW_57;
    cfg.caps.mgaw = 57;
    cfg.sm.enabled = true;
    struct ims_iommu *mmu = ims_iommu_create(&cfg, &ims_mem_direct_ops, mem, err, sizeof err);
    ck_assert_msg(mmu != NULL, "%s", err);
    ims_iommu_set_root(mmu, ims_tb_sm_root(tb));
    return mmu;
}

/* The builder writes what an x86-64 OS writes. */
START_TEST(builder_entries)
{
    struct ims_mem *mem = ims_mem_create();
    struct ims_tb_cfg tc;
    struct ims_tb_sm *tb = mk_tb(mem, &tc);
    ck_assert_int_eq(ims_tb_sm_process_create(tb, 1, 4, -1), 0);
    const uint64_t va = UINT64_C(0x7f0000000000);
    /* 2 MiB + 4 KiB: one 2 MiB leaf, then a 4 KiB one. */
    ck_assert_int_eq(ims_tb_sm_map(tb, 1, va, UINT64_C(0x200000000), UINT64_C(0x201000), IMS_TB_SM_W), 0);
    uint64_t pa;
    ck_assert_int_eq(ims_tb_sm_entry_pa(tb, 1, va, 4, &pa), 0);
    const uint64_t pml4e = ims_mem_read64(mem, pa);
    ck_assert_uint_eq(pml4e & 0xfff, IMS_FLPTE_P | IMS_FLPTE_RW | IMS_FLPTE_US | IMS_FLPTE_A);
    ck_assert_int_eq(ims_tb_sm_entry_pa(tb, 1, va, 2, &pa), 0);
    ck_assert_uint_eq(ims_mem_read64(mem, pa),
                      UINT64_C(0x200000000) | IMS_FLPTE_P | IMS_FLPTE_RW | IMS_FLPTE_US | IMS_FLPTE_PS | IMS_FLPTE_XD);
    ck_assert_int_eq(ims_tb_sm_entry_pa(tb, 1, va + 0x200000, 1, &pa), 0);
    ck_assert_uint_eq(ims_mem_read64(mem, pa),
                      UINT64_C(0x200200000) | IMS_FLPTE_P | IMS_FLPTE_RW | IMS_FLPTE_US | IMS_FLPTE_XD);
    unsigned prot;
    ck_assert_int_eq(ims_tb_sm_lookup(tb, 1, va + 0x12345, &pa, &prot), 0);
    ck_assert_uint_eq(pa, UINT64_C(0x200012345));
    ck_assert_uint_eq(prot, IMS_TB_SM_W);
    ck_assert_int_eq(ims_tb_sm_map(tb, 1, va + 0x1000, 0x1000, 0x1000, 0), IMS_TB_EEXIST);
    /* A partial unmap of the 2 MiB page splits it; the rest stays mapped. */
    ck_assert_int_eq(ims_tb_sm_unmap(tb, 1, va + 0x3000, 0x1000), 0);
    ck_assert_int_eq(ims_tb_sm_lookup(tb, 1, va + 0x3000, &pa, &prot), IMS_TB_ENOENT);
    ck_assert_int_eq(ims_tb_sm_lookup(tb, 1, va + 0x4000, &pa, &prot), 0);
    ck_assert_uint_eq(pa, UINT64_C(0x200004000));
    ck_assert_int_eq(ims_tb_sm_entry_pa(tb, 1, va + 0x4000, 1, &pa), 0); /* now a 4 KiB leaf */
    /* Unmapping all frees the tables below the root. */
    ck_assert_int_eq(ims_tb_sm_unmap(tb, 1, va, UINT64_C(0x201000)), 0);
    ck_assert_int_eq(ims_tb_sm_entry_pa(tb, 1, va, 3, &pa), IMS_TB_ENOENT);
    ck_assert_int_eq(ims_tb_sm_unmap(tb, 1, va, 0x1000), IMS_TB_ENOENT);
    /* Binding: the PASID entry an OS writes for a process. */
    ck_assert_int_eq(ims_tb_sm_attach(tb, 0x0100, 3, true, false), 0);
    ck_assert_int_eq(ims_tb_sm_bind(tb, 0x0100, 77, 1, 9, false), 0);
    struct ims_iommu *mmu = mk_mmu(mem, tb);
    ck_assert_int_eq(ims_tb_sm_map(tb, 1, va, UINT64_C(0x300000000), 0x1000, IMS_TB_SM_X), 0);
    struct ims_req r = {.rid = 0x0100, .pasid = 77, .iova = va + 8, .size = 4, .access = IMS_PERM_R, .exec = 1};
    struct ims_xlate o;
    ck_assert_int_eq(ims_translate(mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, UINT64_C(0x300000008));
    ck_assert_uint_eq(o.did, 9);
    r.access = IMS_PERM_W;
    ck_assert_int_eq(ims_translate(mmu, &r, &o), IMS_FR_SM_WRITE);
    r.access = IMS_PERM_R;
    r.priv = 1;
    ck_assert_int_eq(ims_translate(mmu, &r, &o), IMS_FR_SM_PTE_SRE);
    ck_assert_int_eq(ims_tb_sm_unbind(tb, 0x0100, 77), 0);
    ims_inv_pasid_cache(mmu, IMS_PINV_PASID, 9, 77);
    r.priv = 0;
    ck_assert_int_eq(ims_translate(mmu, &r, &o), IMS_FR_SM_PTE_P);
    ims_iommu_destroy(mmu);
    ims_tb_sm_destroy(tb);
    ims_mem_destroy(mem);
}
END_TEST

/* Nested: a VM process's tables in guest memory, its PASID bound over the VM's second level. */
START_TEST(builder_nested)
{
    struct ims_mem *mem = ims_mem_create();
    struct ims_tb_cfg tc;
    struct ims_tb_sm *tb = mk_tb(mem, &tc);
    const uint64_t ram = UINT64_C(0x40000000);
    ck_assert_int_eq(ims_tb_sm_vm_create(tb, 0, 4, ram, UINT64_C(0x10000000)), 0);
    ck_assert_int_eq(ims_tb_sm_process_create(tb, 2, 4, 0), 0);
    ck_assert_uint_lt(ims_tb_sm_process_root(tb, 2), UINT64_C(0x10000000)); /* a guest-physical address */
    const uint64_t va = UINT64_C(0x400000);
    ck_assert_int_eq(ims_tb_sm_map(tb, 2, va, UINT64_C(0x123000), 0x2000, IMS_TB_SM_W), 0);
    ck_assert_int_eq(ims_tb_sm_map(tb, 2, va, UINT64_C(0x20000000), 0x1000, 0), IMS_TB_ECAPS); /* beyond RAM */
    ck_assert_int_eq(ims_tb_sm_attach(tb, 0x0300, 0, false, false), 0);
    ck_assert_int_eq(ims_tb_sm_bind(tb, 0x0300, 5, 2, 12, false), 0);
    struct ims_iommu *mmu = mk_mmu(mem, tb);
    struct ims_req r = {.rid = 0x0300, .pasid = 5, .iova = va + 0x1010, .size = 4, .access = IMS_PERM_W};
    struct ims_xlate o;
    ck_assert_int_eq(ims_translate(mmu, &r, &o), 0);
    ck_assert_uint_eq(o.pa, ram + 0x124010);
    ck_assert_uint_eq(ims_iommu_stats(mmu)->sm.walks_nested, 1);
    ck_assert_uint_eq(o.n_reads, 2 + 4 + 1 + 8 + 4 + 5 * 3); /* the VM's 2 MiB leaves: 3-read second-level walks */
    ims_iommu_destroy(mmu);
    ims_tb_sm_destroy(tb);
    ims_mem_destroy(mem);
}
END_TEST

/* ---- The property ---- */

#define NPROC 6
#define WIN_PAGES 4096u                     /* each process's VA window: 16 MiB */
#define VA_BASE UINT64_C(0x00007f0000000000) /* the same window in every process */
#define HOST_REGION(p) (UINT64_C(0x100000000) + (uint64_t)(p) * (UINT64_C(1) << 26))
#define VM_RAM UINT64_C(0x80000000)
#define DID(p) ((uint16_t)((p) >= 4 ? 200 : 1))
#define VM_REGION(p) ((uint64_t)((p) - 4) * (UINT64_C(1) << 26)) /* guest-physical, below the tables at the top */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct proc_ref {
    uint32_t page[WIN_PAGES]; /* 0: unmapped; else 1 + frame in the process's region, bit 31: writable */
};

START_TEST(pasid_isolation)
{
    rng_state = UINT64_C(0x9e3779b97f4a7c15);
    struct ims_mem *mem = ims_mem_create();
    struct ims_tb_cfg tc;
    struct ims_tb_sm *tb = mk_tb(mem, &tc);
    ck_assert_int_eq(ims_tb_sm_vm_create(tb, 0, 4, VM_RAM, UINT64_C(0x10000000)), 0);
    /* Processes 0..3 on the host (3 with 5-level tables), 4 and 5 in the VM. */
    for (unsigned p = 0; p < NPROC; p++)
        ck_assert_int_eq(ims_tb_sm_process_create(tb, p, p == 3 ? 5 : 4, p >= 4 ? 0 : -1), 0);
    /* Three devices; each process is bound on two of them, PASID 16 + p. The
     * host processes share domain id 1 (as an OS may for every first-level
     * binding), the VM's share 200: only the PASID tells them apart. */
    static const uint16_t rids[3] = {0x0100, 0x0101, 0x0280};
    for (unsigned d = 0; d < 3; d++)
        ck_assert_int_eq(ims_tb_sm_attach(tb, rids[d], 1, false, false), 0);
    bool bound[3][NPROC];
    for (unsigned p = 0; p < NPROC; p++)
        for (unsigned d = 0; d < 3; d++) {
            bound[d][p] = (p + d) % 3 != 0;
            if (bound[d][p])
                ck_assert_int_eq(ims_tb_sm_bind(tb, rids[d], 16 + p, p, DID(p), false), 0);
        }
    struct ims_iommu *mmu = mk_mmu(mem, tb);
    struct proc_ref *ref = calloc(NPROC, sizeof *ref);
    ck_assert_ptr_nonnull(ref);

    unsigned long accesses = 0, hits = 0, faults = 0, maps = 0, unmaps = 0, large = 0;
    while (accesses < 1000000) {
        const unsigned p = (unsigned)(rnd() % NPROC);
        const unsigned op = (unsigned)(rnd() % 100);
        struct proc_ref *pr = &ref[p];
        if (op < 6) { /* map a free run: 1..16 pages, or a 2 MiB-aligned 2 MiB run */
            const bool big = rnd() % 8 == 0;
            const unsigned n = big ? 512 : 1 + (unsigned)(rnd() % 16);
            const unsigned first = big ? (unsigned)(rnd() % (WIN_PAGES / 512)) * 512 : (unsigned)(rnd() % (WIN_PAGES - n));
            bool free_run = true;
            for (unsigned i = 0; i < n && free_run; i++)
                free_run = pr->page[first + i] == 0;
            if (!free_run)
                continue;
            /* Frames: the window's pages shifted by a random (2 MiB-aligned for big) amount. */
            const unsigned frame = big ? (unsigned)(rnd() % (WIN_PAGES / 512)) * 512 : (unsigned)(rnd() % (WIN_PAGES - n));
            const bool w = rnd() % 4 != 0;
            const uint64_t base = p >= 4 ? VM_REGION(p) : HOST_REGION(p);
            ck_assert_int_eq(ims_tb_sm_map(tb, p, VA_BASE + (uint64_t)first * 4096, base + (uint64_t)frame * 4096,
                                           (uint64_t)n * 4096, w ? IMS_TB_SM_W : 0),
                             0);
            for (unsigned i = 0; i < n; i++)
                pr->page[first + i] = (1u + frame + i) | (w ? 1u << 31 : 0);
            maps++;
            large += big;
        } else if (op < 8) { /* unmap a run (mapped or not), then invalidate as an OS does */
            const unsigned n = 1 + (unsigned)(rnd() % 32);
            const unsigned first = (unsigned)(rnd() % (WIN_PAGES - n));
            bool any = false;
            for (unsigned i = 0; i < n; i++)
                any |= pr->page[first + i] != 0;
            const int r = ims_tb_sm_unmap(tb, p, VA_BASE + (uint64_t)first * 4096, (uint64_t)n * 4096);
            ck_assert_int_eq(r, any ? 0 : IMS_TB_ENOENT);
            for (unsigned i = 0; i < n; i++)
                pr->page[first + i] = 0;
            /* One PASID-based invalidation covering the run: 2^am pages from an aligned address. */
            unsigned am = 0;
            while (((first >> am) << am) + (1u << am) < first + n)
                am++;
            ims_inv_piotlb(mmu, IMS_PINV_PAGE, DID(p), 16 + p, VA_BASE + ((uint64_t)(first >> am) << am) * 4096,
                           (uint8_t)am, false);
            unmaps++;
        } else { /* a DMA access by one of the process's devices */
            unsigned d = (unsigned)(rnd() % 3);
            if (!bound[d][p])
                d = (d + 1) % 3;
            if (!bound[d][p])
                d = (d + 1) % 3;
            const bool hot = rnd() % 2; /* half to a hot set: IOTLB hits */
            const unsigned pg = (unsigned)(rnd() % (hot ? 64 : WIN_PAGES));
            const unsigned off = (unsigned)(rnd() % 4096) & ~3u;
            const bool write = rnd() % 3 == 0;
            struct ims_req r = {.rid = rids[d], .pasid = 16 + p, .iova = VA_BASE + (uint64_t)pg * 4096 + off,
                                .size = 4, .access = write ? IMS_PERM_W : IMS_PERM_R};
            struct ims_xlate o;
            const int got = ims_translate(mmu, &r, &o);
            const uint32_t e = pr->page[pg];
            accesses++;
            if (e == 0) {
                ck_assert_msg(got == IMS_FR_SM_FL_P, "access %lu: pid %u page %u unmapped, got 0x%x pa 0x%llx",
                              accesses, p, pg, (unsigned)got, (unsigned long long)o.pa);
                faults++;
                continue;
            }
            if (write && !(e >> 31)) {
                ck_assert_msg(got == IMS_FR_SM_WRITE, "access %lu: pid %u page %u read-only, got 0x%x", accesses, p,
                              pg, (unsigned)got);
                faults++;
                continue;
            }
            const uint64_t gpa = (p >= 4 ? VM_REGION(p) : HOST_REGION(p)) + (uint64_t)((e & 0x7fffffffu) - 1) * 4096 + off;
            const uint64_t want = p >= 4 ? VM_RAM + gpa : gpa;
            ck_assert_msg(got == 0 && o.pa == want, "access %lu: pid %u page %u: got 0x%x pa 0x%llx, want 0x%llx",
                          accesses, p, pg, (unsigned)got, (unsigned long long)o.pa, (unsigned long long)want);
            /* The isolation property itself, independent of the exact address: inside this process's region. */
            const uint64_t lo = p >= 4 ? VM_RAM + VM_REGION(p) : HOST_REGION(p);
            ck_assert(o.pa >= lo && o.pa < lo + (uint64_t)WIN_PAGES * 4096);
            ck_assert_uint_eq(o.did, DID(p));
            hits++;
        }
    }
    /* The run exercised what it claims. */
    const struct ims_stats *st = ims_iommu_stats(mmu);
    ck_assert_uint_gt(hits, 150000);
    ck_assert_uint_gt(faults, 50000);
    ck_assert_uint_gt(large, 2);
    ck_assert_msg(st->iotlb.hits > 100000, "IOTLB hits %llu", (unsigned long long)st->iotlb.hits);
    ck_assert_uint_gt(st->sm.walks_nested, 1000);
    ck_assert_uint_gt(st->sm.walks_fl, 1000);
    ck_assert_uint_gt(st->sm.inv_piotlb, 1000);
    ck_assert_uint_gt(maps, 1000);
    ck_assert_uint_gt(unmaps, 1000);
    free(ref);
    ims_iommu_destroy(mmu);
    ims_tb_sm_destroy(tb);
    ims_mem_destroy(mem);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sm_iso");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, builder_entries);
    tcase_add_test(tc, builder_nested);
    tcase_add_test(tc, pasid_isolation);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
