/* Expected values for nvme-strict.log (lines 255-560 of a recording made with
 * traces/record/record.sh --workload nvme --mode strict). Included inside a
 * test function. Each count is derived from the log with grep (README.md);
 * each address is read off the quoted log line by hand. */
#define X_LINES 306          /* wc -l */
#define X_DMA 194            /* 166 vtd_iotlb_page_hit + 28 vtd_iotlb_page_update */
#define X_ATTACH 1           /* one vtd_iotlb_cc_update */
#define X_INV_PAGES 21       /* vtd_inv_desc_iotlb_pages */
#define X_INV_IOTLB 22       /* 21 page-selective + 1 vtd_inv_desc_iotlb_global */
#define X_INV_CTX 1          /* vtd_inv_desc_cc_global */
#define X_DEV0_NAME "sid-00:01.0" /* sid 0x8 */
#define X_DEV0_BDF 0x8
/* line 29: "bus 0x0 devfn 0x8 high 0x301 low 0x2751001": did 3, AW 1 = 3 levels */
#define X_ATTACH_DID 3
#define X_ATTACH_LEVELS 3
#define X_ATTACH_ROOT 0x2751000
static const struct {
    size_t index; /* among DMA records, 0-based = (hit/update lines up to it) - 1 */
    uint64_t iova, pa, size;
    unsigned write;
} x_pa[] = {
    /* line 30: update iova 0xffffe000 slpte 0x1377a003 (submission queue): no
     * device event, default 4096 */
    {0, 0xffffe000, 0x1377a000, 4096, 0},
    /* line 44: update iova 0xffffd000 slpte 0x13779001 (read-only), after
     * "pci_nvme_map_addr addr 0xffffd000 len 8" */
    {7, 0xffffd000, 0x13779000, 8, 0},
    /* line 50: update iova 0xffffda00 slpte 0x1984001, after map_addr len 512 */
    {10, 0xffffda00, 0x1984a00, 512, 0},
    /* line 56: the same IOVA re-mapped read-write after line 52's invalidation */
    {13, 0xffffda00, 0x1984a00, 512, 0},
    /* line 36: hit iova 0xffffe040 on line 30's page: default size cut at the
     * page end */
    {3, 0xffffe040, 0x1377a040, 4096 - 0x40, 0},
    /* line 181: update iova 0xfffdf000 slpte 0x137ac003, after map_addr len
     * 4096 and dma_blk_io to_dev=0 (a read from the disk: the device writes) */
    {108, 0xfffdf000, 0x137ac000, 4096, 1},
    /* line 217: the same IOVA, now at 0x1fde5000 (strict mode re-mapped it) */
    {132, 0xfffdf000, 0x1fde5000, 4096, 1},
};
