/* PCI topology: devices, bridges and the requester ID each device reaches the
 * IOMMU with.
 *
 * Aliasing (the rule Linux's pci_for_each_dma_alias and QEMU follow):
 * - behind a PCIe-to-PCI bridge, a conventional PCI device is seen as
 *   (bridge's secondary bus, device 0, function 0);
 * - behind a conventional PCI-to-PCI bridge, it is seen as the bridge's own BDF.
 * With nested bridges each bridge on the path from the device up to the root
 * replaces the alias in turn, so the bridge nearest the root decides.
 * Devices with one alias share one context entry, hence one domain.
 */
#ifndef IMS_TOPO_H
#define IMS_TOPO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMS_BDF(bus, dev, fn) \
    ((uint16_t)((((unsigned)(bus) & 0xffu) << 8) | (((unsigned)(dev) & 0x1fu) << 3) | ((unsigned)(fn) & 0x7u)))
#define IMS_BDF_BUS(bdf)   (((unsigned)(bdf) >> 8) & 0xffu)
#define IMS_BDF_DEV(bdf)   (((unsigned)(bdf) >> 3) & 0x1fu)
#define IMS_BDF_FN(bdf)    ((unsigned)(bdf) & 0x7u)
#define IMS_BDF_DEVFN(bdf) ((unsigned)(bdf) & 0xffu)

/* Text form of a bus:device.function: "bb:dd.f" (bus and device two hex
 * digits, function one), e.g. "03:00.0"; IMS_BDF_TEXT_MAX bytes hold it and
 * its NUL. */
#define IMS_BDF_TEXT_MAX 8

#define IMS_TOPO_NAME_MAX 32
#define IMS_TOPO_NONE     (-1)

enum ims_bridge_kind {
    IMS_BRIDGE_PCIE_TO_PCI = 0, /* alias: (secondary bus, 00.0) */
    IMS_BRIDGE_PCI_TO_PCI = 1,  /* alias: the bridge's own BDF */
};

struct ims_bridge {
    char name[IMS_TOPO_NAME_MAX];
    uint16_t bdf;          /* the bridge's own bus:dev.fn */
    uint8_t secondary_bus; /* the bus behind it */
    uint8_t kind;          /* enum ims_bridge_kind */
    int parent;            /* index of the bridge above it, or IMS_TOPO_NONE */
};

struct ims_device {
    char name[IMS_TOPO_NAME_MAX];
    uint16_t bdf;  /* the device's own bus:dev.fn */
    int bridge;    /* index of the bridge it sits behind, or IMS_TOPO_NONE */
};

struct ims_topo {
    struct ims_bridge *bridges;
    int n_bridges;
    struct ims_device *devices;
    int n_devices;
};

/* The requester ID device `dev` (an index) reaches the IOMMU with. */
uint16_t ims_topo_requester_id(const struct ims_topo *topo, int dev);
/* The requester ID of every device: rid[i] for device i (rid holds n_devices
 * entries), in time linear in the number of devices and bridges. The
 * topology must have passed ims_topo_check(). 0, or -1 if out of memory. */
int ims_topo_requester_ids(const struct ims_topo *topo, uint16_t *rid);
/* Checks indices, cycles, names (unique across bridges and devices) and
 * device bdfs (unique); returns 0, or -1 with a message in err. Cost
 * O(N log N) in the number of entries. */
int ims_topo_check(const struct ims_topo *topo, char *err, size_t errlen);

/* Writes the text form of bdf ("03:00.0") into buf (at most len bytes with
 * the NUL); returns, like snprintf, the characters the whole text needs (7)
 * even when len is smaller. The one formatter every printer of a BDF or
 * requester id uses. */
int ims_bdf_format(char *buf, size_t len, uint16_t bdf);

#ifdef __cplusplus
}
#endif

#endif /* IMS_TOPO_H */
