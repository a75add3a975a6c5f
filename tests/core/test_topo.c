/* Requester-ID aliasing through bridges, topology checks, and the BDF text form. */
#include <check.h>
#include "ims_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/topo.h"

/* root -- pcie2pci (00:1e.0, secondary bus 5) -- devices 05:01.0, 05:02.0
 *      -- pci2pci  (00:1c.0, secondary bus 6) -- device 06:03.0
 *      -- pcie2pci (00:1d.0, sec 7) -- pci2pci (07:04.0, sec 8) -- device 08:00.0
 *      -- pci2pci  (00:1b.0, sec 9) -- pcie2pci (09:00.0, sec 10) -- device 0a:01.0
 *      direct device 00:02.0 */
static struct ims_bridge br[] = {
    {"b0", IMS_BDF(0, 0x1e, 0), 5, IMS_BRIDGE_PCIE_TO_PCI, IMS_TOPO_NONE},
    {"b1", IMS_BDF(0, 0x1c, 0), 6, IMS_BRIDGE_PCI_TO_PCI, IMS_TOPO_NONE},
    {"b2", IMS_BDF(0, 0x1d, 0), 7, IMS_BRIDGE_PCIE_TO_PCI, IMS_TOPO_NONE},
    {"b3", IMS_BDF(7, 4, 0), 8, IMS_BRIDGE_PCI_TO_PCI, 2},
    {"b4", IMS_BDF(0, 0x1b, 0), 9, IMS_BRIDGE_PCI_TO_PCI, IMS_TOPO_NONE},
    {"b5", IMS_BDF(9, 0, 0), 10, IMS_BRIDGE_PCIE_TO_PCI, 4},
};
static struct ims_device dev[] = {
    {"d0", IMS_BDF(5, 1, 0), 0}, {"d1", IMS_BDF(5, 2, 0), 0}, {"d2", IMS_BDF(6, 3, 0), 1},
    {"d3", IMS_BDF(8, 0, 0), 3}, {"d4", IMS_BDF(10, 1, 0), 5}, {"d5", IMS_BDF(0, 2, 0), IMS_TOPO_NONE},
};
static struct ims_topo topo = {br, 6, dev, 6};

/* The sample topology is valid. */
START_TEST(check_ok)
{
    char err[128] = "";
    ck_assert_msg(ims_topo_check(&topo, err, sizeof err) == 0, "%s", err);
}
END_TEST

/* Behind a PCIe-to-PCI bridge both devices alias to (secondary bus, 00.0). */
START_TEST(pcie_to_pci_alias)
{
    ck_assert_uint_eq(ims_topo_requester_id(&topo, 0), IMS_BDF(5, 0, 0));
    ck_assert_uint_eq(ims_topo_requester_id(&topo, 1), IMS_BDF(5, 0, 0));
}
END_TEST

/* Behind a PCI-to-PCI bridge the alias is the bridge's own BDF. */
START_TEST(pci_to_pci_alias)
{
    ck_assert_uint_eq(ims_topo_requester_id(&topo, 2), IMS_BDF(0, 0x1c, 0));
}
END_TEST

/* Nested: the bridge nearest the root decides. */
START_TEST(nested_alias)
{
    ck_assert_uint_eq(ims_topo_requester_id(&topo, 3), IMS_BDF(7, 0, 0));   /* pcie2pci on top */
    ck_assert_uint_eq(ims_topo_requester_id(&topo, 4), IMS_BDF(0, 0x1b, 0)); /* pci2pci on top */
}
END_TEST

/* No bridge: own BDF. Out-of-range index: 0xffff. */
START_TEST(no_bridge)
{
    ck_assert_uint_eq(ims_topo_requester_id(&topo, 5), IMS_BDF(0, 2, 0));
    ck_assert_uint_eq(ims_topo_requester_id(&topo, 6), 0xffff);
}
END_TEST

/* Each broken variant is rejected with a message naming the culprit. */
START_TEST(check_errors)
{
    char err[128];
    struct ims_bridge b2[2];
    struct ims_device d2[2];
    struct ims_topo t = {b2, 2, d2, 1};
    memcpy(b2, br, sizeof b2);
    memcpy(d2, dev, sizeof d2);
    b2[0].parent = 1;
    b2[1].parent = 0;
    b2[0].bdf = IMS_BDF(6, 0, 0);
    b2[1].bdf = IMS_BDF(5, 0, 0);
    ck_assert_int_eq(ims_topo_check(&t, err, sizeof err), -1); /* cycle */
    ck_assert_ptr_nonnull(strstr(err, "cycle"));
    memcpy(b2, br, sizeof b2);
    d2[0].bridge = 7;
    ck_assert_int_eq(ims_topo_check(&t, err, sizeof err), -1); /* bad index */
    ck_assert_ptr_nonnull(strstr(err, "d0"));
    d2[0].bridge = 1; /* bus 5 device behind the bus-6 bridge */
    ck_assert_int_eq(ims_topo_check(&t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "secondary bus"));
    memcpy(d2, dev, sizeof d2);
    t.n_devices = 2;
    strcpy(d2[1].name, "d0");
    ck_assert_int_eq(ims_topo_check(&t, err, sizeof err), -1); /* duplicate name */
    d2[1].name[0] = 0;
    ck_assert_int_eq(ims_topo_check(&t, err, sizeof err), -1); /* empty name */
}
END_TEST

/* Text form of a BDF: bus and device in two hex digits, function in one;
 * every value of the 16 bits has one. Expected: the strings below, length 7. */
static const struct {
    uint16_t bdf;
    const char *text;
} bdf_texts[] = {
    {IMS_BDF(0, 0, 0), "00:00.0"},       {IMS_BDF(3, 0, 0), "03:00.0"},    {IMS_BDF(0, 0x1f, 7), "00:1f.7"},
    {IMS_BDF(0x0a, 0x10, 5), "0a:10.5"}, {IMS_BDF(0x40, 1, 0), "40:01.0"}, {0xffff, "ff:1f.7"},
};

START_TEST(bdf_format)
{
    char buf[IMS_BDF_TEXT_MAX];
    memset(buf, 'x', sizeof buf);
    ck_assert_int_eq(ims_bdf_format(buf, sizeof buf, bdf_texts[_i].bdf), 7);
    ck_assert_str_eq(buf, bdf_texts[_i].text);
}
END_TEST

/* Like snprintf: a short buffer gets a terminated prefix, and the return is
 * still the whole length (7); no buffer at all just measures. */
START_TEST(bdf_format_truncates)
{
    char buf[4];
    ck_assert_int_eq(ims_bdf_format(buf, sizeof buf, IMS_BDF(0x12, 3, 4)), 7);
    ck_assert_str_eq(buf, "12:");
    ck_assert_int_eq(ims_bdf_format(NULL, 0, IMS_BDF(0x12, 3, 4)), 7);
}
END_TEST

/* Two devices on one BDF: the message names it in the same text form. */
START_TEST(check_duplicate_bdf)
{
    char err[128];
    struct ims_device d2[2] = {{"a", IMS_BDF(0, 0x1f, 7), IMS_TOPO_NONE}, {"b", IMS_BDF(0, 0x1f, 7), IMS_TOPO_NONE}};
    struct ims_topo t = {NULL, 0, d2, 2};
    ck_assert_int_eq(ims_topo_check(&t, err, sizeof err), -1);
    ck_assert_str_eq(err, "device \"b\": bdf 00:1f.7 already used by \"a\"");
}
END_TEST

/* The all-devices computation gives each device what the per-device walk
 * gives, on the sample topology (nested bridges of both kinds). */
START_TEST(requester_ids_match)
{
    uint16_t rid[6];
    ck_assert_int_eq(ims_topo_requester_ids(&topo, rid), 0);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(rid[i], ims_topo_requester_id(&topo, i));
    ck_assert_uint_eq(rid[3], IMS_BDF(7, 0, 0)); /* literal: the root-most bridge decides */
    ck_assert_uint_eq(rid[4], IMS_BDF(0, 0x1b, 0));
}
END_TEST

/* Large topologies: a chain of 65,536 bridges (each the parent of the next,
 * all on bus 1) with 65,536 devices behind its far end is valid and every
 * device is seen as the root bridge's alias; one duplicate name or bdf at
 * the very end, or a cycle, is found. (The checks are linear or
 * O(N log N); quadratic ones take some 10^9 steps here.) */
START_TEST(large_topology)
{
    enum { N = 65536 };
    struct ims_bridge *b = calloc(N, sizeof *b);
    struct ims_device *d = calloc(N, sizeof *d);
    uint16_t *rid = malloc(N * sizeof *rid);
    ck_assert(b && d && rid);
    for (int i = 0; i < N; i++) {
        snprintf(b[i].name, sizeof b[i].name, "b%d", i);
        b[i].bdf = IMS_BDF(i == 0 ? 0 : 1, 1, 0);
        b[i].secondary_bus = 1;
        b[i].kind = IMS_BRIDGE_PCI_TO_PCI;
        b[i].parent = i - 1; /* b0: IMS_TOPO_NONE (-1) */
        snprintf(d[i].name, sizeof d[i].name, "d%d", i);
        d[i].bdf = (uint16_t)i;
        d[i].bridge = IMS_TOPO_NONE;
    }
    struct ims_topo t = {b, N, d, N};
    char e[160] = "";
    ck_assert_msg(ims_topo_check(&t, e, sizeof e) == 0, "%s", e);
    /* Devices on bus 1 behind the last bridge; the rest direct. */
    for (int i = 0; i < N; i++)
        if (IMS_BDF_BUS(d[i].bdf) == 1)
            d[i].bridge = N - 1;
    ck_assert_msg(ims_topo_check(&t, e, sizeof e) == 0, "%s", e);
    ck_assert_int_eq(ims_topo_requester_ids(&t, rid), 0);
    ck_assert_uint_eq(rid[IMS_BDF(1, 2, 3)], IMS_BDF(0, 1, 0)); /* b0's own bdf */
    ck_assert_uint_eq(rid[IMS_BDF(2, 0, 0)], IMS_BDF(2, 0, 0));
    strcpy(d[N - 1].name, "b17");
    ck_assert_int_eq(ims_topo_check(&t, e, sizeof e), -1);
    ck_assert_str_eq(e, "device \"b17\": name also used by a bridge");
    strcpy(d[N - 1].name, "d5");
    ck_assert_int_eq(ims_topo_check(&t, e, sizeof e), -1);
    ck_assert_str_eq(e, "device \"d5\": name used twice");
    strcpy(d[N - 1].name, "last");
    d[N - 1].bdf = 7;
    ck_assert_int_eq(ims_topo_check(&t, e, sizeof e), -1);
    ck_assert_str_eq(e, "device \"last\": bdf 00:00.7 already used by \"d7\"");
    d[N - 1].bdf = 0xffff;
    b[0].parent = N - 1; /* the chain becomes a ring */
    b[0].bdf = IMS_BDF(1, 1, 0);
    ck_assert_int_eq(ims_topo_check(&t, e, sizeof e), -1);
    ck_assert_ptr_nonnull(strstr(e, "cycle"));
    free(b);
    free(d);
    free(rid);
}
END_TEST
int main(void)
{
    Suite *s = suite_create("topo");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, check_ok);
    tcase_add_test(tc, pcie_to_pci_alias);
    tcase_add_test(tc, pci_to_pci_alias);
    tcase_add_test(tc, nested_alias);
    tcase_add_test(tc, no_bridge);
    tcase_add_test(tc, check_errors);
    tcase_add_test(tc, check_duplicate_bdf);
    tcase_add_test(tc, requester_ids_match);
    tcase_add_test(tc, large_topology);
    tcase_add_loop_test(tc, bdf_format, 0, (int)(sizeof bdf_texts / sizeof bdf_texts[0]));
    tcase_add_test(tc, bdf_format_truncates);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}
