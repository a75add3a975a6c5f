/* Writes iommusim_vtd_pkg.sv: the VT-d constants the RTL walker uses (fault
 * reasons, second-level paging-entry bits and masks, level shifts, maximum
 * levels), taken from model/include/iommusim/vtd.h at build time, so that the
 * C core and the SystemVerilog share one source (issue 10). Every value below
 * comes from a vtd.h name; this file only chooses the SystemVerilog names.
 *
 *   gen_vtd_pkg OUT.sv
 *
 * OUT is written whole or not at all (a temporary file renamed over it) and
 * left untouched when its contents would not change, so a rebuild does not
 * re-verilate for nothing. Exit 0, 1 on a write error, 2 on bad usage. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommusim/vtd.h"

/* Fault reasons, as the RTL names them (VT-d 7.1, Table 26 in rev. 3.x). */
static const struct {
    const char *name;
    unsigned code;
} fault_reasons[] = {
    {"FrNone", IMS_FR_NONE},
    {"FrRootEntryP", IMS_FR_ROOT_ENTRY_P},
    {"FrCtxEntryP", IMS_FR_CTX_ENTRY_P},
    {"FrCtxEntryInv", IMS_FR_CTX_ENTRY_INV},
    {"FrAddrBeyondMgaw", IMS_FR_ADDR_BEYOND_MGAW},
    {"FrWrite", IMS_FR_WRITE},
    {"FrRead", IMS_FR_READ},
    {"FrPagingEntryInv", IMS_FR_PAGING_ENTRY_INV},
    {"FrRootTableInv", IMS_FR_ROOT_TABLE_INV},
    {"FrCtxTableInv", IMS_FR_CTX_TABLE_INV},
    {"FrRootEntryRsvd", IMS_FR_ROOT_ENTRY_RSVD},
    {"FrCtxEntryRsvd", IMS_FR_CTX_ENTRY_RSVD},
    {"FrPagingEntryRsvd", IMS_FR_PAGING_ENTRY_RSVD},
    {"FrCtxEntryTt", IMS_FR_CTX_ENTRY_TT},
};

/* Second-level paging-entry bits (VT-d 9.8). */
static const struct {
    const char *name;
    uint64_t mask;
} slpte_bits[] = {
    {"SlpteR", IMS_SLPTE_R},     {"SlpteW", IMS_SLPTE_W},   {"SlptePs", IMS_SLPTE_PS},
    {"SlpteSnp", IMS_SLPTE_SNP}, {"SlpteTm", IMS_SLPTE_TM},
};

static unsigned bit_of(uint64_t mask)
{
    unsigned b = 0;
    while (!(mask & 1)) {
        mask >>= 1;
        b++;
    }
    return b;
}

static void emit(FILE *f)
{
    fprintf(f, "// Generated at build time by rtl/gen_vtd_pkg.c from model/include/iommusim/vtd.h.\n"
               "// Do not edit: change vtd.h (the one source shared with the C core).\n"
               "package iommusim_vtd_pkg;\n\n");

    fprintf(f, "  // Fault reasons (enum ims_fault_reason; VT-d 7.1).\n");
    for (size_t i = 0; i < sizeof fault_reasons / sizeof fault_reasons[0]; i++)
        fprintf(f, "  parameter logic [7:0] %-18s = 8'h%02x;\n", fault_reasons[i].name, fault_reasons[i].code);

    fprintf(f, "\n  // Second-level paging-entry bits (IMS_SLPTE_*; VT-d 9.8): mask and bit number.\n");
    for (size_t i = 0; i < sizeof slpte_bits / sizeof slpte_bits[0]; i++) {
        fprintf(f, "  parameter logic [63:0] %-11s = 64'h%016" PRIx64 ";\n", slpte_bits[i].name, slpte_bits[i].mask);
        char bname[32];
        snprintf(bname, sizeof bname, "%sBit", slpte_bits[i].name);
        fprintf(f, "  parameter int unsigned %-11s = %u;\n", bname, bit_of(slpte_bits[i].mask));
    }
    fprintf(f, "  // Next-table / page-frame address field (ims_slpte_addr).\n");
    fprintf(f, "  parameter logic [63:0] SlpteAddrMask = 64'h%016" PRIx64 ";\n", ims_slpte_addr(UINT64_MAX));

    const unsigned page_shift = ims_level_shift(1);
    const unsigned index_bits = ims_level_shift(2) - ims_level_shift(1);
    fprintf(f, "\n  // Walk geometry (IMS_MAX_LEVELS, ims_level_shift): level 1 maps 4 KiB.\n");
    fprintf(f, "  parameter int unsigned MaxLevels = %u;\n", IMS_MAX_LEVELS);
    fprintf(f, "  parameter int unsigned PageShift = %u;\n", page_shift);
    fprintf(f, "  parameter int unsigned IndexBits = %u;  // table index bits per level\n", index_bits);
    fprintf(f, "  parameter int unsigned VaBits    = %u;  // input address bits the deepest walk indexes\n",
            ims_level_shift(IMS_MAX_LEVELS) + index_bits);
    for (unsigned l = 1; l <= IMS_MAX_LEVELS; l++)
        fprintf(f, "  parameter int unsigned LevelShift%u = %u;\n", l, ims_level_shift(l));
    fprintf(f, "\n  // ims_level_shift(level) for level 1..MaxLevels; 0 for any other level.\n"
               "  function automatic logic [5:0] level_shift(logic [2:0] level);\n"
               "    unique case (level)\n");
    for (unsigned l = 1; l <= IMS_MAX_LEVELS; l++)
        fprintf(f, "      3'd%u:    level_shift = 6'd%u;\n", l, ims_level_shift(l));
    fprintf(f, "      default: level_shift = 6'd0;\n"
               "    endcase\n"
               "  endfunction\n\n"
               "endpackage\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_vtd_pkg OUT.sv\n");
        return 2;
    }
    const char *out = argv[1];
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    if (!mf) {
        fprintf(stderr, "gen_vtd_pkg: %s: %s\n", out, strerror(errno));
        return 1;
    }
    emit(mf);
    if (fclose(mf) != 0) {
        fprintf(stderr, "gen_vtd_pkg: %s: %s\n", out, strerror(errno));
        free(text);
        return 1;
    }

    /* Unchanged: keep the file (and its time stamp). */
    FILE *old = fopen(out, "rb");
    if (old) {
        char *buf = malloc(len + 1);
        size_t n = buf ? fread(buf, 1, len + 1, old) : 0;
        fclose(old);
        int same = buf && n == len && memcmp(buf, text, len) == 0;
        free(buf);
        if (same) {
            free(text);
            return 0;
        }
    }

    size_t tlen = strlen(out) + 5;
    char *tmp = malloc(tlen);
    if (!tmp) {
        free(text);
        fprintf(stderr, "gen_vtd_pkg: out of memory\n");
        return 1;
    }
    snprintf(tmp, tlen, "%s.tmp", out);
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL;
    if (ok)
        ok = fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, out) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "gen_vtd_pkg: %s: %s\n", out, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    free(text);
    return ok ? 0 : 1;
}
