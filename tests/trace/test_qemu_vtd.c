/* Converter from QEMU VT-d trace-event logs (model/trace/qemu_vtd.c).
 *
 * Real excerpts of recorded logs live in tests/trace/data/qemu/ (see its
 * README); small hand-written logs below pin single rules. */
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/iommu.h"
#include "iommusim/qemu_vtd.h"
#include "iommusim/replay.h"
#include "iommusim/trace.h"
#include "iommusim/vtd.h"
#include "trace/util.h"

#ifndef IMS_QEMU_DATA
#error "IMS_QEMU_DATA (the excerpt directory) must be defined by the build"
#endif

static size_t count_kind(const struct tu_recs *r, unsigned kind)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].kind == kind;
    return n;
}

/* The i-th DMA record (0-based), or fails. */
static const struct ims_rec *nth_dma(const struct tu_recs *r, size_t i)
{
    for (size_t k = 0; k < r->n; k++)
        if (r->v[k].kind == IMS_REC_DMA && i-- == 0)
            return &r->v[k];
    ck_abort_msg("fewer DMA records than asked for");
    return NULL;
}

/* Independent of the converter's own bookkeeping: applies MAP/UNMAP to a
 * shadow list and checks every DMA record with an expected address against
 * it (the mapping must cover the whole access, the PA must be the page's
 * output plus the offset, and the permission must allow the direction), and
 * that no MAP lands on a live mapping and no UNMAP misses one. Returns the
 * number of disagreements. */
struct shadow {
    uint64_t iova, pa, size;
    uint16_t did;
    uint8_t perm;
};

static unsigned check_consistent(const struct tu_recs *r)
{
    struct shadow *s = NULL;
    size_t n = 0, cap = 0;
    unsigned bad = 0;
    uint16_t did_of[65536];
    memset(did_of, 0xff, sizeof did_of);
    for (size_t i = 0; i < r->n; i++) {
        const struct ims_rec *x = &r->v[i];
        if (x->kind == IMS_REC_ATTACH)
            did_of[x->rid] = x->did;
        if (x->kind == IMS_REC_MAP) {
            for (size_t k = 0; k < n; k++)
                if (s[k].did == x->did && s[k].iova < x->iova + x->size && x->iova < s[k].iova + s[k].size)
                    bad++;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                s = realloc(s, cap * sizeof *s);
                ck_assert_ptr_nonnull(s);
            }
            s[n++] = (struct shadow){x->iova, x->pa, x->size, x->did, x->perm};
        } else if (x->kind == IMS_REC_UNMAP) {
            size_t k = 0;
            while (k < n && !(s[k].did == x->did && s[k].iova == x->iova && s[k].size == x->size))
                k++;
            if (k == n)
                bad++;
            else
                s[k] = s[--n];
        } else if (x->kind == IMS_REC_DMA && (x->flags & IMS_RECF_EXPECT_PA)) {
            uint16_t did = did_of[x->rid];
            size_t k = 0;
            while (k < n && !(s[k].did == did && s[k].iova <= x->iova && x->iova < s[k].iova + s[k].size))
                k++;
            uint8_t need = (x->flags & IMS_RECF_WRITE) ? IMS_PERM_W : IMS_PERM_R;
            if (k == n || x->iova + x->size > s[k].iova + s[k].size || s[k].pa + (x->iova - s[k].iova) != x->pa ||
                !(s[k].perm & need))
                bad++;
        }
    }
    free(s);
    return bad;
}

/* ---- the real excerpts ---------------------------------------------------- */

static char *data_path(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", IMS_QEMU_DATA, name);
    return buf;
}

static void convert_file_ok(const char *name, struct ims_qemu_vtd_stats *st, struct tu_recs *out)
{
    char err[512] = "";
    struct ims_qemu_vtd_opts o;
    ims_qemu_vtd_opts_default(&o);
    o.source = "test excerpt";
    ck_assert_msg(ims_qemu_vtd_convert(data_path(name), tu_path("x.itr.zst"), &o, st, err, sizeof err) == 0,
                  "convert %s: %s", name, err);
    tu_read_all(tu_path("x.itr.zst"), out);
}

/* Strict-mode NVMe excerpt. Expected: the counts in data/qemu/README.md,
 * each derived there from the log with grep, and the addresses below read
 * off the quoted lines by hand. */
START_TEST(strict_excerpt)
{
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    convert_file_ok("nvme-strict.log", &st, &r);
#include "data/qemu/nvme-strict.expect.h"
    ck_assert_int_eq(st.timestamps, 1);
    ck_assert_uint_eq(st.lines, X_LINES);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_DMA), X_DMA);
    ck_assert_uint_eq(st.dma, X_DMA);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_ATTACH), X_ATTACH);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_INV_IOTLB), X_INV_IOTLB);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_INV_CTX), X_INV_CTX);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_MAP), st.maps);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_UNMAP), st.unmaps);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_DMA), st.dma);
    /* Every page-selective invalidation unmaps at least the page it names
     * (strict mode unmaps before it invalidates), and every map is used. */
    ck_assert_uint_ge(st.unmaps, X_INV_PAGES);
    ck_assert_uint_le(st.maps, st.dma);
    /* One device, named after its source id; no bridges. */
    ck_assert_int_eq(r.hdr.topo.n_devices, 1);
    ck_assert_str_eq(r.hdr.topo.devices[0].name, X_DEV0_NAME);
    ck_assert_uint_eq(r.hdr.topo.devices[0].bdf, X_DEV0_BDF);
    ck_assert_int_eq(r.hdr.topo.n_bridges, 0);
    ck_assert_str_eq(r.hdr.source, "test excerpt");
    /* The ATTACH carries the context entry's domain, levels and root. */
    for (size_t i = 0; i < r.n; i++)
        if (r.v[i].kind == IMS_REC_ATTACH) {
            ck_assert_uint_eq(r.v[i].rid, X_DEV0_BDF);
            ck_assert_uint_eq(r.v[i].did, X_ATTACH_DID);
            ck_assert_uint_eq(r.v[i].levels, X_ATTACH_LEVELS);
            ck_assert_uint_eq(r.v[i].pa, X_ATTACH_ROOT);
        }
    /* Specific translations (see the header for the log lines). */
    for (size_t k = 0; k < sizeof x_pa / sizeof x_pa[0]; k++) {
        const struct ims_rec *d = nth_dma(&r, x_pa[k].index);
        ck_assert_msg(d->iova == x_pa[k].iova, "dma #%zu iova 0x%llx", x_pa[k].index, (unsigned long long)d->iova);
        ck_assert_msg(d->pa == x_pa[k].pa, "dma #%zu pa 0x%llx, expected 0x%llx", x_pa[k].index,
                      (unsigned long long)d->pa, (unsigned long long)x_pa[k].pa);
        ck_assert_uint_eq(d->size, x_pa[k].size);
        ck_assert_uint_eq(!!(d->flags & IMS_RECF_WRITE), x_pa[k].write);
        ck_assert(d->flags & IMS_RECF_EXPECT_PA);
    }
    /* Time stamps never go backwards and start at the first IOMMU event. */
    ck_assert_uint_eq(r.v[0].ts, 0);
    for (size_t i = 1; i < r.n; i++)
        ck_assert_uint_ge(r.v[i].ts, r.v[i - 1].ts);
    ck_assert_uint_eq(check_consistent(&r), 0);
    tu_recs_free(&r);
}
END_TEST

/* Lazy-mode excerpt with all three devices, whole-domain flushes and the
 * provoked faults. Expected values from data/qemu/README.md. */
START_TEST(lazy_fault_excerpt)
{
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    convert_file_ok("mixed-lazy-fault.log", &st, &r);
#include "data/qemu/mixed-lazy-fault.expect.h"
    ck_assert_uint_eq(st.lines, Y_LINES);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_DMA), Y_DMA);
    ck_assert_uint_eq(st.faults, Y_FAULTS);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_ATTACH), Y_ATTACH);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_INV_IOTLB), Y_INV_IOTLB);
    ck_assert_int_eq(r.hdr.topo.n_devices, Y_DEVICES);
    size_t dom = 0, faults = 0, e1000e_writes = 0;
    for (size_t i = 0; i < r.n; i++) {
        const struct ims_rec *x = &r.v[i];
        if (x->kind == IMS_REC_INV_IOTLB && x->gran == IMS_INV_DOMAIN)
            dom++;
        if (x->kind == IMS_REC_DMA && (x->flags & IMS_RECF_EXPECT_FAULT)) {
            /* QEMU reported a read fault (reason 6) on the unmapped admin queue. */
            ck_assert_uint_eq(x->reason, IMS_FR_READ);
            ck_assert_uint_eq(x->iova & ~UINT64_C(0xfff), Y_FAULT_PAGE);
            ck_assert(!(x->flags & IMS_RECF_WRITE));
            ck_assert(!(x->flags & IMS_RECF_EXPECT_PA));
            faults++;
        }
        if (x->kind == IMS_REC_DMA && x->rid == Y_E1000E_BDF && (x->flags & IMS_RECF_WRITE)) {
            if (e1000e_writes == 0) {
                ck_assert_uint_eq(x->iova, Y_E1000E_FIRST_IOVA);
                ck_assert_uint_eq(x->size, Y_E1000E_FIRST_LEN);
                ck_assert_uint_eq(x->pa, Y_E1000E_FIRST_PA);
            }
            e1000e_writes++;
        }
    }
    ck_assert_uint_eq(dom, Y_INV_DOMAIN);
    ck_assert_uint_eq(faults, Y_FAULTS);
    /* Received frames: the device's own event gave length and direction. */
    ck_assert_uint_eq(e1000e_writes, Y_E1000E_RX_WRITES);
    ck_assert_uint_eq(check_consistent(&r), 0);
    tu_recs_free(&r);
}
END_TEST

/* Expected: replaying each converted excerpt through the functional model
 * translates every access to the address QEMU recorded (or faults where QEMU
 * faulted): zero mismatches, every DMA checked. */
static const char *const excerpts[] = {"nvme-strict.log", "mixed-lazy-fault.log"};

START_TEST(excerpt_replays)
{
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    convert_file_ok(excerpts[_i], &st, &r);
    char err[512] = "";
    struct ims_replay_cfg cfg;
    ims_replay_cfg_default(&cfg);
    struct ims_replay *rp = ims_replay_create(&r.hdr, &cfg, NULL, NULL, err, sizeof err);
    ck_assert_msg(rp, "replay: %s", err);
    for (size_t i = 0; i < r.n; i++) {
        if (r.v[i].kind == IMS_REC_DMA)
            ims_replay_dma(rp, &r.v[i]);
        else
            ck_assert_msg(ims_replay_control(rp, &r.v[i], err, sizeof err) == 0, "record %zu: %s", i, err);
        ims_replay_drain_faults(rp);
    }
    const struct ims_replay_stats *s = ims_replay_stats(rp);
    ck_assert_uint_eq(s->dma, st.dma);
    ck_assert_uint_eq(s->checked, st.dma); /* each record is one request: none crosses a page */
    ck_assert_uint_eq(s->mismatches, 0);
    ck_assert_uint_eq(s->unexpected_faults, 0);
    ims_replay_destroy(rp);
    tu_recs_free(&r);
}
END_TEST

/* ---- single rules, on hand-written logs ---------------------------------- */

#define CC "1@100.000000:vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x10 high 0x502 low 0x7000001 gen 0 -> gen 1\n"

/* Expected: ATTACH rid 00:02.0 did 5 levels 4 root 0x7000000; one MAP of the
 * 4 KiB page; the DMA's PA is the leaf's page plus the IOVA's offset. */
START_TEST(basic_translation)
{
    const char *log = CC "1@100.000010:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0xfff01234 slpte "
                         "0x12345003 domain 0x5\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_uint_eq(r.v[0].kind, IMS_REC_ATTACH);
    ck_assert_uint_eq(r.v[0].rid, 0x10);
    ck_assert_uint_eq(r.v[0].did, 5);
    ck_assert_uint_eq(r.v[0].levels, 4);
    ck_assert_uint_eq(r.v[0].pa, 0x7000000);
    ck_assert_uint_eq(r.v[1].kind, IMS_REC_MAP);
    ck_assert_uint_eq(r.v[1].iova, 0xfff01000);
    ck_assert_uint_eq(r.v[1].pa, 0x12345000);
    ck_assert_uint_eq(r.v[1].size, 4096);
    ck_assert_uint_eq(r.v[1].perm, IMS_PERM_RW);
    ck_assert_uint_eq(r.v[2].kind, IMS_REC_DMA);
    ck_assert_uint_eq(r.v[2].pa, 0x12345234);
    ck_assert_uint_eq(r.v[2].size, 4096 - 0x234); /* default 4096, cut at the page end */
    ck_assert_uint_eq(r.v[2].ts, 10000);          /* 10 us after the first event */
    ck_assert_str_eq(r.hdr.topo.devices[0].name, "sid-00:02.0");
    tu_recs_free(&r);
}
END_TEST

/* Expected: a PS leaf is a 2 MiB page: MAP of the 2 MiB frame, PA = leaf
 * output + offset within 2 MiB. */
START_TEST(superpage_leaf)
{
    const char *log = CC "1@100.000010:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x40123456 slpte "
                         "0x80600083 domain 0x5\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_uint_eq(r.v[1].kind, IMS_REC_MAP);
    ck_assert_uint_eq(r.v[1].iova, 0x40000000);
    ck_assert_uint_eq(r.v[1].size, 2u << 20);
    ck_assert_uint_eq(r.v[1].pa, 0x80600000);
    ck_assert_uint_eq(r.v[2].pa, 0x80723456);
    ck_assert_uint_eq(r.v[2].size, 4096); /* the default fits in the 2 MiB page */
    tu_recs_free(&r);
}
END_TEST

/* Expected: a page-selective invalidation with mask 1 (two pages) unmaps both
 * derived pages before the INV record; the next translation re-maps the page
 * to its new address without complaint. */
START_TEST(invalidation_remaps)
{
    const char *log = CC
        "1@100.000010:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1000 slpte 0x20001003 domain 0x5\n"
        "1@100.000011:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x2000 slpte 0x20002003 domain 0x5\n"
        "1@100.000012:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x3000 slpte 0x20003003 domain 0x5\n"
        "2@100.000020:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x5 addr 0x2000 mask 0x1\n"
        "1@100.000030:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x2000 slpte 0x30000003 domain 0x5\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_uint_eq(st.maps, 4);
    ck_assert_uint_eq(st.unmaps, 2); /* 0x2000 and 0x3000, not 0x1000 */
    ck_assert_uint_eq(st.invalidations, 1);
    size_t i = 0;
    while (r.v[i].kind != IMS_REC_UNMAP)
        i++;
    ck_assert_uint_eq(r.v[i].iova, 0x2000);
    ck_assert_uint_eq(r.v[i + 1].kind, IMS_REC_UNMAP);
    ck_assert_uint_eq(r.v[i + 1].iova, 0x3000);
    ck_assert_uint_eq(r.v[i + 2].kind, IMS_REC_INV_IOTLB);
    ck_assert_uint_eq(r.v[i + 2].gran, IMS_INV_PAGE);
    ck_assert_uint_eq(r.v[i + 2].am, 1);
    ck_assert_uint_eq(r.v[i + 3].kind, IMS_REC_MAP);
    ck_assert_uint_eq(r.v[i + 3].pa, 0x30000000);
    ck_assert_uint_eq(nth_dma(&r, 3)->pa, 0x30000000);
    ck_assert_uint_eq(check_consistent(&r), 0);
    tu_recs_free(&r);
}
END_TEST

/* Expected: whole-domain and global flushes unmap what they cover; context
 * invalidations become INV_CTX with their granularity. */
START_TEST(domain_global_ctx)
{
    const char *log = CC
        "1@100.000010:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1000 slpte 0x20001003 domain 0x5\n"
        "2@100.000020:vtd_inv_desc_iotlb_domain iotlb invalidate whole domain 0x5\n"
        "1@100.000030:vtd_iotlb_page_hit IOTLB page hit sid 0x10 iova 0x1008 slpte 0x20001003 domain 0x5\n"
        "2@100.000040:vtd_inv_desc_iotlb_global iotlb invalidate global\n"
        "2@100.000050:vtd_inv_desc_cc_global context invalidate globally\n"
        "2@100.000051:vtd_inv_desc_cc_domain context invalidate domain 0x5\n"
        "2@100.000052:vtd_inv_desc_cc_devices context invalidate devices sid 0x10 fmask 0x2\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_uint_eq(st.maps, 2);
    ck_assert_uint_eq(st.unmaps, 2);
    ck_assert_uint_eq(st.invalidations, 5);
    ck_assert_uint_eq(count_kind(&r, IMS_REC_INV_CTX), 3);
    const struct ims_rec *last = &r.v[r.n - 1];
    ck_assert_uint_eq(last->kind, IMS_REC_INV_CTX);
    ck_assert_uint_eq(last->gran, IMS_INV_DEVICE);
    ck_assert_uint_eq(last->rid, 0x10);
    ck_assert_uint_eq(last->fm, 2);
    ck_assert_uint_eq(r.v[r.n - 2].gran, IMS_INV_DOMAIN);
    ck_assert_uint_eq(r.v[r.n - 2].did, 5);
    ck_assert_uint_eq(check_consistent(&r), 0);
    tu_recs_free(&r);
}
END_TEST

/* Expected: size and direction from device events. An NVMe data pointer
 * (pci_nvme_map_addr) followed by dma_blk_io to_dev=0 is a 6 KiB device
 * write split at the page end: 0x800 bytes, then 0x1000 (the rest). An
 * e1000e receive buffer write gives 1514 bytes, write. A write-only leaf is
 * a write even without a device event. */
START_TEST(device_events_size_direction)
{
    const char *log = CC
        "1@100.000001:pci_nvme_map_addr addr 0x5800 len 6144\n"
        "1@100.000002:dma_blk_io dbs=0x1 bs=0x2 offset=0 to_dev=0\n"
        "1@100.000003:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x5800 slpte 0x20005003 domain 0x5\n"
        "1@100.000004:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x6000 slpte 0x20006003 domain 0x5\n"
        "1@100.000005:e1000e_rx_desc_buff_write buffer #0, addr: 0x9000, offset: 2, from: 0x55aa, length: 1514\n"
        "1@100.000006:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x9002 slpte 0x20009003 domain 0x5\n"
        "1@100.000007:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0xa000 slpte 0x2000a002 domain 0x5\n"
        "1@100.000008:vtd_iotlb_page_hit IOTLB page hit sid 0x10 iova 0x9100 slpte 0x20009003 domain 0x5\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_uint_eq(st.dma, 5);
    ck_assert_uint_eq(st.sized, 3);
    const struct ims_rec *d = nth_dma(&r, 0);
    ck_assert_uint_eq(d->size, 0x800);
    ck_assert(d->flags & IMS_RECF_WRITE);
    d = nth_dma(&r, 1);
    ck_assert_uint_eq(d->size, 0x1000);
    ck_assert(d->flags & IMS_RECF_WRITE);
    d = nth_dma(&r, 2);
    ck_assert_uint_eq(d->size, 1514);
    ck_assert(d->flags & IMS_RECF_WRITE);
    d = nth_dma(&r, 3); /* write-only page */
    ck_assert(d->flags & IMS_RECF_WRITE);
    d = nth_dma(&r, 4); /* no device event left: default size, read */
    ck_assert_uint_eq(d->size, 0x1000 - 0x100);
    ck_assert(!(d->flags & IMS_RECF_WRITE));
    tu_recs_free(&r);
}
END_TEST

/* Expected: lines from two threads out of time order are sorted by time
 * (the invalidation at .000015 comes between the two translations). */
START_TEST(sorted_by_time)
{
    const char *log = CC
        "1@100.000010:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1000 slpte 0x20001003 domain 0x5\n"
        "1@100.000020:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1000 slpte 0x20007003 domain 0x5\n"
        "2@100.000015:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x5 addr 0x1000 mask 0x0\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_uint_eq(nth_dma(&r, 1)->pa, 0x20007000);
    ck_assert_uint_eq(st.unmaps, 1);
    tu_recs_free(&r);
}
END_TEST

/* Expected: without -msg timestamp=on the file order is used, timestamps=0,
 * every ts is 0. */
START_TEST(no_timestamps)
{
    const char *log =
        "vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x10 high 0x502 low 0x7000001 gen 0 -> gen 1\n"
        "vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1000 slpte 0x20001003 domain 0x5\n"
        "vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x5 addr 0x1000 mask 0x0\n"
        "vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1000 slpte 0x20007003 domain 0x5\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_int_eq(st.timestamps, 0);
    for (size_t i = 0; i < r.n; i++)
        ck_assert_uint_eq(r.v[i].ts, 0);
    ck_assert_uint_eq(nth_dma(&r, 1)->pa, 0x20007000);
    tu_recs_free(&r);
}
END_TEST

/* Expected: a fault line becomes a DMA expecting that fault (write 1: a
 * write), with no ATTACH needed. */
START_TEST(fault_line)
{
    const char *log = "9@5.000001:vtd_dmar_fault sid 0x18 fault 5 addr 0xdead0ff0 write 1\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.v[0].flags, IMS_RECF_EXPECT_FAULT | IMS_RECF_WRITE);
    ck_assert_uint_eq(r.v[0].reason, IMS_FR_WRITE);
    ck_assert_uint_eq(r.v[0].rid, 0x18);
    ck_assert_uint_eq(r.v[0].size, 0x10); /* to the page end */
    ck_assert_uint_eq(st.faults, 1);
    tu_recs_free(&r);
}
END_TEST

/* Expected: scalable-mode fault reasons (QEMU prints them in decimal: 88 is
 * 0x58, 255 is 0xff) are kept as recorded, like legacy-mode ones. */
START_TEST(fault_line_scalable_reason)
{
    const char *log = "9@5.000001:vtd_dmar_fault sid 0x18 fault 88 addr 0x1000 write 0\n"
                      "9@5.000002:vtd_dmar_fault sid 0x18 fault 255 addr 0x2000 write 1\n";
    struct ims_qemu_vtd_stats st;
    struct tu_recs r;
    tu_qemu_convert_ok(log, &st, &r);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_uint_eq(r.v[0].flags, IMS_RECF_EXPECT_FAULT);
    ck_assert_uint_eq(r.v[0].reason, 0x58);
    ck_assert_uint_eq(r.v[1].flags, IMS_RECF_EXPECT_FAULT | IMS_RECF_WRITE);
    ck_assert_uint_eq(r.v[1].reason, 0xff);
    ck_assert_uint_eq(st.faults, 2);
    tu_recs_free(&r);
}
END_TEST

/* ---- errors: each names the file and line; no output is left behind ------- */

static const struct {
    const char *log;
    const char *want; /* substring of the message after "in.log:" */
} bad_logs[] = {
    /* arguments that do not match the event's format */
    {CC "1@100.000010:vtd_iotlb_page_hit IOTLB page hit sid 0x10 iova zz slpte 0x1 domain 0x5\n",
     "in.log:2: malformed vtd_iotlb_page_hit"},
    /* trailing junk after a complete event */
    {CC "\n\n1@100.000010:vtd_inv_desc_iotlb_global iotlb invalidate global now\n",
     "in.log:4: malformed vtd_inv_desc_iotlb_global"},
    /* a broken timestamp prefix */
    {CC "1@100.00x:vtd_inv_desc_iotlb_global iotlb invalidate global\n", "in.log:2: malformed timestamp"},
    /* a sid past 32 bits: refused, not truncated to 0x10 */
    {CC "1@100.000010:vtd_iotlb_page_hit IOTLB page hit sid 0x100000010 iova 0x1000 slpte 0x2003 domain 0x5\n",
     "in.log:2: malformed vtd_iotlb_page_hit"},
    /* an iova past 64 bits: refused, not saturated */
    {CC "1@100.000010:vtd_iotlb_page_hit IOTLB page hit sid 0x10 iova 0x10000000000001000 slpte 0x2003 domain 0x5\n",
     "in.log:2: vtd_iotlb_page_hit event: the number '0x10000000000001000' does not fit in 64 bits"},
    /* seconds that do not fit in 64-bit nanoseconds: an error, not a wrap */
    {CC "1@18446744074.000001:vtd_inv_desc_iotlb_global iotlb invalidate global\n",
     "in.log:2: timestamp prefix: the seconds do not fit in 64-bit nanoseconds"},
    /* timestamps on some events only */
    {CC "vtd_inv_desc_iotlb_global iotlb invalidate global\n", "in.log:2: vtd_inv_desc_iotlb_global without"},
    /* a translation before its device's context entry was seen */
    {"1@1.000001:vtd_iotlb_page_hit IOTLB page hit sid 0x10 iova 0x1000 slpte 0x2003 domain 0x5\n",
     "in.log:1: translation for sid 0x10 before"},
    /* the same page translated elsewhere with no invalidation in between */
    {CC "1@100.000010:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1000 slpte 0x20001003 domain 0x5\n"
        "1@100.000020:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1800 slpte 0x20009003 domain 0x5\n",
     "in.log:3: sid 0x10 iova 0x1800 maps to 0x20009000 (rw) but line 2"},
    /* a domain that is not the context entry's */
    {CC "1@100.000010:vtd_iotlb_page_update IOTLB page update sid 0x10 iova 0x1000 slpte 0x20001003 domain 0x6\n",
     "in.log:2: translation for sid 0x10 in domain 0x6"},
    /* reasons outside VT-d's 8-bit fault reason field, and 0 (no fault) */
    {"1@1.000001:vtd_dmar_fault sid 0x10 fault 256 addr 0x1000 write 0\n",
     "in.log:1: fault reason 256 is not a VT-d fault reason (1..255)"},
    {"1@1.000001:vtd_dmar_fault sid 0x10 fault 0 addr 0x1000 write 0\n",
     "in.log:1: fault reason 0 is not a VT-d fault reason (1..255)"},
    /* a context entry with a bad address width */
    {"1@1.000001:vtd_iotlb_cc_update IOTLB context update bus 0x0 devfn 0x10 high 0x505 low 0x7000001 gen 0 -> "
     "gen 1\n1@1.000002:vtd_dmar_fault sid 0x10 fault 6 addr 0x1000 write 0\n",
     "in.log:1: context entry for sid 0x10 has address width code 5"},
    /* nothing usable at all */
    {"qemu-system-x86_64: some warning\n", "no vtd_iotlb_page_hit/_update or vtd_dmar_fault events in 1 lines"},
};

START_TEST(bad_input)
{
    struct ims_qemu_vtd_stats st;
    char err[512] = "";
    ck_assert_int_eq(tu_qemu_convert(bad_logs[_i].log, "out.itr", &st, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad_logs[_i].want), "case %d: message \"%s\" lacks \"%s\"", _i, err, bad_logs[_i].want);
    ck_assert_msg(strstr(err, tu_path("in.log")), "case %d: message \"%s\" does not name the file", _i, err);
    ck_assert(!tu_exists(tu_path("out.itr")));
}
END_TEST

/* Expected: a missing log is an error naming it. */
START_TEST(missing_file)
{
    char err[512] = "";
    ck_assert_int_eq(ims_qemu_vtd_convert(tu_path("nope.log"), tu_path("o.itr"), NULL, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nope.log"));
    ck_assert(!tu_exists(tu_path("o.itr")));
}
END_TEST

/* Expected: binary data given as a log (here a binary trace) is "not a QEMU
 * trace-event log", naming the NUL byte's offset and what the file is, not
 * "no ... events"; a directory is refused as one, as the trace readers do. */
START_TEST(binary_log)
{
    char err[512] = "";
    const char *p = tu_path("t.itr");
    static const unsigned char b[] = {'I', 'M', 'S', 'T', 'R', 'A', 'C', 'E', 2, 0, 0, 0};
    tu_write_file(p, b, sizeof b);
    ck_assert_int_eq(ims_qemu_vtd_convert(p, tu_path("o.itr"), NULL, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "t.itr: not a QEMU trace-event log: NUL byte at byte offset 9 (binary data; this is an "
                              "iommusim trace: convert it without --from qemu-vtd)"),
                  "%s", err);
    ck_assert_int_eq(ims_qemu_vtd_convert("/", tu_path("o.itr"), NULL, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/: is a directory"), "%s", err);
    ck_assert(!tu_exists(tu_path("o.itr")));
}
END_TEST
static Suite *suite(void)
{
    Suite *s = suite_create("qemu_vtd");
    TCase *tc = tcase_create("excerpts");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, strict_excerpt);
    tcase_add_test(tc, lazy_fault_excerpt);
    tcase_add_loop_test(tc, excerpt_replays, 0, (int)(sizeof excerpts / sizeof excerpts[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, basic_translation);
    tcase_add_test(tc, superpage_leaf);
    tcase_add_test(tc, invalidation_remaps);
    tcase_add_test(tc, domain_global_ctx);
    tcase_add_test(tc, device_events_size_direction);
    tcase_add_test(tc, sorted_by_time);
    tcase_add_test(tc, no_timestamps);
    tcase_add_test(tc, fault_line);
    tcase_add_test(tc, fault_line_scalable_reason);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_loop_test(tc, bad_input, 0, (int)(sizeof bad_logs / sizeof bad_logs[0]));
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, binary_log);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ims_check_run(suite());
}
