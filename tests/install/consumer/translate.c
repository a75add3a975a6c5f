/* A user's C program against the installed iommusim (iommusim::core, or
 * `pkg-config iommusim`): every public C header, page tables from the table
 * builder, one address translated through the IOMMU, and a generated trace
 * written (zstd) and read back through the trace library.
 * Usage: translate TRACE.itr.zst   (a scratch file it writes and removes)
 * Exit status 0 only if every result is the expected one. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "iommusim/cache.h"
#include "iommusim/gen.h"
#include "iommusim/iommu.h"
#include "iommusim/mem.h"
#include "iommusim/qemu_vtd.h"
#include "iommusim/replay.h"
#include "iommusim/tb.h"
#include "iommusim/topo.h"
#include "iommusim/trace.h"
#include "iommusim/version.h"
#include "iommusim/vtd.h"

#define RID IMS_BDF(0, 3, 0)
#define DID 1
#define IOVA UINT64_C(0x10000)
#define PA UINT64_C(0x80000000)

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "translate: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* IOVA 0x10000 -> PA 0x80000000 (one 4 KiB page, read/write, 4-level table
 * of domain 1 for device 00:03.0): a read at +0x123 walks and lands at
 * PA + 0x123; the same page again hits the IOTLB; the next page faults. */
static int check_translate(struct ims_tb *tb, struct ims_iommu *mmu)
{
    int e;
    if ((e = ims_tb_domain_create(tb, DID, 4)) || (e = ims_tb_attach(tb, RID, DID, IMS_TT_UNTRANSLATED, false)) ||
        (e = ims_tb_map(tb, DID, IOVA, PA, IMS_PAGE_SIZE, IMS_PERM_RW)))
        return fail("table builder", ims_tb_strerror(e));
    ims_iommu_set_root(mmu, ims_tb_root(tb));

    struct ims_req req = {.rid = RID, .pasid = IMS_NO_PASID, .iova = IOVA + 0x123, .size = 8,
                          .access = IMS_PERM_R, .at = IMS_AT_UNTRANSLATED};
    struct ims_xlate x;
    if (ims_translate(mmu, &req, &x) != 0)
        return fail("translate faulted", ims_fault_reason_name(x.fault));
    if (x.pa != PA + 0x123 || !(x.flags & IMS_XLATE_WALKED) || x.did != DID)
        return fail("wrong translation", NULL);
    printf("iova 0x%" PRIx64 " -> pa 0x%" PRIx64 " (walk, %u table reads)\n", req.iova, x.pa, x.n_reads);
    if (ims_translate(mmu, &req, &x) != 0 || x.pa != PA + 0x123 || !(x.flags & IMS_XLATE_IOTLB_HIT))
        return fail("second translation: expected an IOTLB hit", NULL);
    req.iova = IOVA + IMS_PAGE_SIZE;
    if (ims_translate(mmu, &req, &x) == 0)
        return fail("an unmapped page translated", NULL);
    const struct ims_stats *st = ims_iommu_stats(mmu);
    if (st->translations != 3 || st->faults != 1 || st->iotlb.hits != 1)
        return fail("statistics", NULL);
    return 0;
}

/* 100 nic DMA records generated into a zstd trace, read back: 100 DMA. */
static int check_trace(const char *path)
{
    char err[256] = "";
    struct ims_gen_cfg g;
    ims_gen_cfg_default(&g, (unsigned)ims_gen_kind_from_name("nic"));
    g.count = 100;
    struct ims_gen_stats gs;
    if (ims_gen_write(&g, path, &gs, err, sizeof err))
        return fail("trace gen", err);
    struct ims_trace_reader *r = ims_trace_open(path, err, sizeof err);
    if (!r)
        return fail("trace open", err);
    int form = ims_trace_reader_form(r), n;
    uint64_t dma = 0;
    struct ims_rec rec;
    while ((n = ims_trace_next(r, &rec)) == 1)
        dma += rec.kind == IMS_REC_DMA;
    int rc = n < 0 ? fail("trace read", ims_trace_error(r)) : 0;
    ims_trace_close(r);
    remove(path);
    if (rc)
        return rc;
    if (form != IMS_TRACE_BINARY_ZSTD || dma != 100 || gs.dma != 100)
        return fail("trace: expected 100 DMA records in zstd form", NULL);
    printf("trace: %" PRIu64 " DMA records of %" PRIu64 " read back\n", dma, gs.records);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return fail("usage: translate TRACE.itr.zst", NULL);
    if (strcmp(IMS_VERSION_STRING, EXPECT_VERSION) != 0)
        return fail("version.h does not match the package version", IMS_VERSION_STRING);

    char err[256] = "";
    struct ims_iommu_cfg cfg;
    ims_iommu_cfg_default(&cfg);
    struct ims_tb_cfg tcfg;
    ims_tb_cfg_default(&tcfg);
    tcfg.caps = cfg.caps;
    struct ims_mem *mem = ims_mem_create();
    struct ims_tb *tb = mem ? ims_tb_create(mem, &tcfg, err, sizeof err) : NULL;
    struct ims_iommu *mmu = tb ? ims_iommu_create(&cfg, &ims_mem_direct_ops, mem, err, sizeof err) : NULL;
    int rc = mmu ? check_translate(tb, mmu) : fail("setup", err);
    ims_iommu_destroy(mmu);
    ims_tb_destroy(tb);
    ims_mem_destroy(mem);
    if (rc == 0)
        rc = check_trace(argv[1]);
    if (rc == 0)
        printf("iommusim %s (git %s): ok\n", IMS_VERSION_STRING, IMS_GIT_DESCRIBE);
    return rc;
}
