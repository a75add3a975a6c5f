/* PCI topology: requester-ID aliasing through bridges (rules in topo.h). */
#include <stdio.h>
#include <string.h>

#include "iommusim/topo.h"

int ims_bdf_format(char *buf, size_t len, uint16_t bdf)
{
    return snprintf(buf, len, "%02x:%02x.%u", IMS_BDF_BUS(bdf), IMS_BDF_DEV(bdf), IMS_BDF_FN(bdf));
}

uint16_t ims_topo_requester_id(const struct ims_topo *topo, int dev)
{
    if (dev < 0 || dev >= topo->n_devices)
        return UINT16_MAX; /* invalid index: ims_topo_check rejects such topologies */
    uint16_t rid = topo->devices[dev].bdf;
    int b = topo->devices[dev].bridge;
    /* Walk towards the root; each bridge replaces the alias, so the one
     * nearest the root decides. The step bound guards against cycles. */
    for (int steps = 0; b >= 0 && b < topo->n_bridges && steps <= topo->n_bridges; steps++) {
        const struct ims_bridge *br = &topo->bridges[b];
        if (br->kind == IMS_BRIDGE_PCIE_TO_PCI)
            rid = IMS_BDF(br->secondary_bus, 0, 0);
        else
            rid = br->bdf;
        b = br->parent;
    }
    return rid;
}

static int check_name(const char *name, const char *what, int i, char *err, size_t errlen)
{
    const char *nul = memchr(name, 0, IMS_TOPO_NAME_MAX);
    if (!nul || nul == name) {
        snprintf(err, errlen, "%s %d: name must be 1..%d characters", what, i, IMS_TOPO_NAME_MAX - 1);
        return -1;
    }
    return 0;
}

int ims_topo_check(const struct ims_topo *topo, char *err, size_t errlen)
{
    if (topo->n_bridges < 0 || topo->n_devices < 0 || (topo->n_bridges && !topo->bridges) ||
        (topo->n_devices && !topo->devices)) {
        snprintf(err, errlen, "topology: bad bridge or device count");
        return -1;
    }
    for (int i = 0; i < topo->n_bridges; i++) {
        const struct ims_bridge *br = &topo->bridges[i];
        if (check_name(br->name, "bridge", i, err, errlen))
            return -1;
        if (br->kind != IMS_BRIDGE_PCIE_TO_PCI && br->kind != IMS_BRIDGE_PCI_TO_PCI) {
            snprintf(err, errlen, "bridge \"%s\": unknown kind %u", br->name, br->kind);
            return -1;
        }
        if (br->parent != IMS_TOPO_NONE && (br->parent < 0 || br->parent >= topo->n_bridges)) {
            snprintf(err, errlen, "bridge \"%s\": parent index %d out of range", br->name, br->parent);
            return -1;
        }
        if (br->parent != IMS_TOPO_NONE && IMS_BDF_BUS(br->bdf) != topo->bridges[br->parent].secondary_bus) {
            snprintf(err, errlen, "bridge \"%s\": bus %02x is not its parent's secondary bus %02x", br->name,
                     IMS_BDF_BUS(br->bdf), topo->bridges[br->parent].secondary_bus);
            return -1;
        }
        /* Cycle: following parents must reach the root within n_bridges steps. */
        int b = br->parent, steps = 0;
        while (b != IMS_TOPO_NONE && steps <= topo->n_bridges) {
            b = topo->bridges[b].parent;
            steps++;
        }
        if (b != IMS_TOPO_NONE) {
            snprintf(err, errlen, "bridge \"%s\": parent chain has a cycle", br->name);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(topo->bridges[j].name, br->name) == 0) {
                snprintf(err, errlen, "bridge \"%s\": name used twice", br->name);
                return -1;
            }
        }
    }
    for (int i = 0; i < topo->n_devices; i++) {
        const struct ims_device *d = &topo->devices[i];
        if (check_name(d->name, "device", i, err, errlen))
            return -1;
        if (d->bridge != IMS_TOPO_NONE && (d->bridge < 0 || d->bridge >= topo->n_bridges)) {
            snprintf(err, errlen, "device \"%s\": bridge index %d out of range", d->name, d->bridge);
            return -1;
        }
        if (d->bridge != IMS_TOPO_NONE && IMS_BDF_BUS(d->bdf) != topo->bridges[d->bridge].secondary_bus) {
            snprintf(err, errlen, "device \"%s\": bus %02x is not its bridge's secondary bus %02x", d->name,
                     IMS_BDF_BUS(d->bdf), topo->bridges[d->bridge].secondary_bus);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(topo->devices[j].name, d->name) == 0) {
                snprintf(err, errlen, "device \"%s\": name used twice", d->name);
                return -1;
            }
            if (topo->devices[j].bdf == d->bdf) {
                char bdf[IMS_BDF_TEXT_MAX];
                ims_bdf_format(bdf, sizeof bdf, d->bdf);
                snprintf(err, errlen, "device \"%s\": bdf %s already used by \"%s\"", d->name, bdf,
                         topo->devices[j].name);
                return -1;
            }
        }
        for (int j = 0; j < topo->n_bridges; j++) {
            if (strcmp(topo->bridges[j].name, d->name) == 0) {
                snprintf(err, errlen, "device \"%s\": name also used by a bridge", d->name);
                return -1;
            }
        }
    }
    return 0;
}
