/* PCI topology: requester-ID aliasing through bridges (rules in topo.h).
 * Checks and the all-devices alias computation are linear in the number of
 * entries, up to a sort of the names (O(N log N)), so a topology of 65,536
 * devices and as many bridges costs milliseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/topo.h"

int ims_bdf_format(char *buf, size_t len, uint16_t bdf)
{
    return snprintf(buf, len, "%02x:%02x.%u", IMS_BDF_BUS(bdf), IMS_BDF_DEV(bdf), IMS_BDF_FN(bdf));
}

/* The alias a bridge gives to what sits behind it. */
static uint16_t bridge_alias(const struct ims_bridge *br)
{
    return br->kind == IMS_BRIDGE_PCIE_TO_PCI ? IMS_BDF(br->secondary_bus, 0, 0) : br->bdf;
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
        rid = bridge_alias(&topo->bridges[b]);
        b = topo->bridges[b].parent;
    }
    return rid;
}

int ims_topo_requester_ids(const struct ims_topo *topo, uint16_t *rid)
{
    /* top[b]: the alias of bridge b's root-most ancestor (b itself if it has
     * no parent), computed once per bridge; a device behind b gets top[b].
     * ims_topo_check() has ruled out cycles and bad indices. */
    uint16_t *top = NULL;
    unsigned char *done = NULL;
    int *stack = NULL;
    if (topo->n_bridges > 0) {
        size_t n = (size_t)topo->n_bridges;
        top = malloc(n * sizeof *top);
        done = calloc(n, 1);
        stack = malloc(n * sizeof *stack);
        if (!top || !done || !stack) {
            free(top);
            free(done);
            free(stack);
            return -1;
        }
    }
    for (int b = 0; b < topo->n_bridges; b++) {
        int depth = 0, x = b;
        while (!done[x]) {
            stack[depth++] = x;
            int p = topo->bridges[x].parent;
            if (p == IMS_TOPO_NONE) {
                top[x] = bridge_alias(&topo->bridges[x]);
                done[x] = 1;
                depth--;
                break;
            }
            x = p;
        }
        /* Everything on the stack lies below x (now done): same root-most ancestor. */
        while (depth > 0) {
            int y = stack[--depth];
            top[y] = top[x];
            done[y] = 1;
        }
    }
    for (int i = 0; i < topo->n_devices; i++) {
        int b = topo->devices[i].bridge;
        rid[i] = b >= 0 ? top[b] : topo->devices[i].bdf;
    }
    free(top);
    free(done);
    free(stack);
    return 0;
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

/* A name of the topology, for the sort that finds the duplicates. */
struct topo_name {
    const char *name;
    int kind; /* 0 bridge, 1 device: bridges sort first among equal names */
    int index;
};

static int topo_name_cmp(const void *a, const void *b)
{
    const struct topo_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    return (x->index > y->index) - (x->index < y->index);
}

/* Names unique across bridges and devices, and device bdfs unique: a sort
 * of every name, and a sort of the devices by bdf. Reports, for a name used
 * more than once, its second use. */
static int check_unique(const struct ims_topo *topo, char *err, size_t errlen)
{
    size_t n = (size_t)topo->n_bridges + (size_t)topo->n_devices;
    if (n < 2)
        return 0;
    struct topo_name *v = malloc(n * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "topology: out of memory");
        return -1;
    }
    size_t k = 0;
    for (int i = 0; i < topo->n_bridges; i++)
        v[k++] = (struct topo_name){topo->bridges[i].name, 0, i};
    for (int i = 0; i < topo->n_devices; i++)
        v[k++] = (struct topo_name){topo->devices[i].name, 1, i};
    qsort(v, n, sizeof *v, topo_name_cmp);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++) {
        if (strcmp(v[i - 1].name, v[i].name))
            continue;
        rc = -1;
        if (v[i].kind == 0)
            snprintf(err, errlen, "bridge \"%s\": name used twice", v[i].name);
        else if (v[i - 1].kind == 1)
            snprintf(err, errlen, "device \"%s\": name used twice", v[i].name);
        else
            snprintf(err, errlen, "device \"%s\": name also used by a bridge", v[i].name);
    }
    free(v);
    if (rc || topo->n_devices < 2)
        return rc;
    /* bdfs: one slot per possible bdf holds the first device that uses it. */
    int32_t *first = malloc(65536 * sizeof *first);
    if (!first) {
        snprintf(err, errlen, "topology: out of memory");
        return -1;
    }
    for (size_t i = 0; i < 65536; i++)
        first[i] = -1;
    for (int i = 0; i < topo->n_devices && !rc; i++) {
        const struct ims_device *d = &topo->devices[i];
        if (first[d->bdf] < 0) {
            first[d->bdf] = i;
            continue;
        }
        char bdf[IMS_BDF_TEXT_MAX];
        ims_bdf_format(bdf, sizeof bdf, d->bdf);
        snprintf(err, errlen, "device \"%s\": bdf %s already used by \"%s\"", d->name, bdf,
                 topo->devices[first[d->bdf]].name);
        rc = -1;
    }
    free(first);
    return rc;
}

/* Cycles in the parent links: each bridge is followed up until a bridge
 * already known to reach the root (state 2) or one on the current path
 * (state 1: a cycle). Every bridge is visited once overall. */
static int check_cycles(const struct ims_topo *topo, char *err, size_t errlen)
{
    if (topo->n_bridges == 0)
        return 0;
    unsigned char *state = calloc((size_t)topo->n_bridges, 1);
    if (!state) {
        snprintf(err, errlen, "topology: out of memory");
        return -1;
    }
    int rc = 0;
    for (int b = 0; b < topo->n_bridges && !rc; b++) {
        int x = b;
        while (x != IMS_TOPO_NONE && state[x] == 0) {
            state[x] = 1;
            x = topo->bridges[x].parent;
        }
        if (x != IMS_TOPO_NONE && state[x] == 1) {
            snprintf(err, errlen, "bridge \"%s\": parent chain has a cycle", topo->bridges[b].name);
            rc = -1;
        }
        for (x = b; x != IMS_TOPO_NONE && state[x] == 1; x = topo->bridges[x].parent)
            state[x] = 2;
    }
    free(state);
    return rc;
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
    }
    if (check_cycles(topo, err, errlen))
        return -1;
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
    }
    return check_unique(topo, err, errlen);
}
