/* Expected values for mixed-lazy-fault.log: pieces of a recording made with
 * traces/record/record.sh --workload mixed --mode lazy --fault (see
 * README.md for the line ranges; every whole-domain flush in between is
 * kept, so the derived mappings stay consistent). Included inside a test
 * function; counts derived with grep. */
#define Y_LINES 273          /* wc -l */
#define Y_DMA 177            /* 95 page_hit + 50 page_update + 32 vtd_dmar_fault */
#define Y_FAULTS 32          /* vtd_dmar_fault, all "fault 6 addr 0x7ead00xx write 0" */
#define Y_FAULT_PAGE 0x7ead0000
#define Y_ATTACH 3           /* three vtd_iotlb_cc_update: devfn 0x8, 0x10, 0x18 */
#define Y_DEVICES 3
#define Y_INV_DOMAIN 32      /* vtd_inv_desc_iotlb_domain */
#define Y_INV_IOTLB 33       /* 32 whole-domain + 1 vtd_inv_desc_iotlb_global */
#define Y_E1000E_BDF 0x18    /* 00:03.0 */
#define Y_E1000E_RX_WRITES 8 /* e1000e_rx_desc_buff_write lines, all on read-write pages */
/* "e1000e_rx_desc_buff_write buffer #0, addr: 0xffffb840, offset: 0, ...,
 * length: 64" then "update sid 0x18 iova 0xffffb840 slpte 0x15459003" */
#define Y_E1000E_FIRST_IOVA 0xffffb840
#define Y_E1000E_FIRST_LEN 64
#define Y_E1000E_FIRST_PA 0x15459840
