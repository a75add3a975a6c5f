/* Converter from a QEMU VT-d trace-event log (see docs/recording.md) to an
 * iommusim trace. */
#ifndef IMS_QEMU_VTD_H
#define IMS_QEMU_VTD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ims_qemu_vtd_opts {
    uint32_t default_size;  /* bytes per DMA when no device event gives one (default 4096) */
    const char *source;     /* free text for the header's source field; NULL: derived */
};
void ims_qemu_vtd_opts_default(struct ims_qemu_vtd_opts *opts);

struct ims_qemu_vtd_stats {
    uint64_t lines;          /* lines read */
    uint64_t events;         /* lines that were VT-d or device events we use */
    uint64_t dma;            /* DMA records written */
    uint64_t maps, unmaps;   /* derived MAP / UNMAP records */
    uint64_t invalidations;  /* IOTLB + context invalidation records */
    uint64_t attaches;       /* ATTACH records */
    uint64_t faults;         /* DMA records marked as expected faults */
    uint64_t sized;          /* DMA records whose size/direction came from a device event */
    int timestamps;          /* 1 if lines carried timestamps, 0 if line order was used */
};

/* Converts log_path ("-": standard input; a pipe or FIFO too) into out_path
 * (form by suffix, see trace.h). 0, or -1 with a message naming the file and
 * line in err. The output is written whole or not at all. A log whose root
 * table is in scalable mode (vtd_reg_dmar_root ... scalable 1) becomes a
 * scalable-mode trace (docs/recording.md). */
int ims_qemu_vtd_convert(const char *log_path, const char *out_path, const struct ims_qemu_vtd_opts *opts,
                         struct ims_qemu_vtd_stats *stats, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* IMS_QEMU_VTD_H */
