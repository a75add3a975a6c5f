/* Configuration keys of the timing model: one table gives each key's
 * default, field, type, range, unit and meaning; parsing, defaults, checks
 * and the printed reference all come from it.
 *
 * Defaults have one source each. A key whose field belongs to the C core
 * (caps, caches, fault queue, replayed tables) takes the core's default,
 * ims_iommu_cfg_default() or ims_tb_cfg_default(): the core cannot link this
 * file, and its own users (functional replay, tests, benchmarks) must get
 * the same design point. Every other key's default is the text in its row,
 * parsed as a configuration file would be. */
#define _POSIX_C_SOURCE 200809L /* getline */

#include "iommusim/simcfg.h"

#include "../trace/iova_remap.h" /* player.iova_remap's strategy names */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

enum key_type {
    KT_U8,
    KT_U16,
    KT_U32,
    KT_U64,
    KT_DBL,
    KT_BOOL,
    KT_REPL,   /* uint8_t enum ims_repl by name */
    KT_SAGAW,  /* uint8_t mask from a list of widths: 39,48,57 */
    KT_SLLPS,  /* uint8_t mask from a list of sizes: 2m,1g or none */
    KT_PLAYER, /* uint8_t enum ims_player_mode: open, closed */
    KT_INVPOL, /* uint8_t enum ims_inv_policy: drain, discard */
    KT_WALKER, /* uint8_t enum ims_walker_impl: tlm, rtl, lockstep */
    KT_WAYS,   /* iotlb.ways: uint32_t ways, or "full" (iotlb_ways_full) */
    KT_PREFETCH, /* uint8_t enum ims_pf by name (iotlb.prefetch) */
    KT_REMAP,    /* uint8_t player.iova_remap: 0 none, else 1 + the strategy (iova_remap.h) */
    KT_RINGS,    /* struct ims_riommu_cfg's rings: none, or DID:FIRST:SLOTS:SLOT_SIZE[:down],... */
};

struct key {
    const char *name;
    const char *def; /* default as a file would set it; CORE: the C core's default */
    enum key_type type;
    size_t off;
    double min, max; /* numeric range (inclusive) */
    const char *unit;
    const char *doc;
};

#define CORE NULL
#define F(field) offsetof(struct ims_sim_cfg, field)
#define CACHE_KEYS(prefix, field, what)                                                                         \
    {prefix ".sets", CORE, KT_U32, F(field.sets), 0, 1 << 20, "sets", what " sets (power of two; 0 disables)"},   \
        {prefix ".ways", CORE, KT_U32, F(field.ways), 0, IMS_CACHE_MAX_WAYS, "ways", what " ways (0 disables)"},                  \
        {prefix ".repl", CORE, KT_REPL, F(field.repl), 0, 0, "", what " replacement:"} /* + the policies' names */

static const struct key keys[] = {
    {"clock.mhz", "1000", KT_U32, F(clock_mhz), 1, 100000, "MHz", "IOMMU clock frequency"},

    {"caps.sagaw", CORE, KT_SAGAW, F(iommu.caps.sagaw), 0, 0, "", "supported address widths: list of 39, 48, 57"},
    {"caps.mgaw", CORE, KT_U8, F(iommu.caps.mgaw), 30, 57, "bits", "maximum guest address width"},
    {"caps.haw", CORE, KT_U8, F(iommu.caps.haw), 32, 52, "bits", "host address width"},
    {"caps.superpages", CORE, KT_SLLPS, F(iommu.caps.sllps), 0, 0, "", "second-level superpages: list of 2m, 1g, or none"},
    {"caps.nd", CORE, KT_U8, F(iommu.caps.nd), 0, 6, "", "domain-id width code: 2^(4+2*nd) domains"},
    {"caps.nfr", CORE, KT_U16, F(iommu.caps.nfr), 1, 256, "records", "fault records reported in CAP_REG.NFR"},
    {"caps.caching_mode", CORE, KT_BOOL, F(iommu.caps.cm), 0, 1, "", "caching mode (not-present entries may be cached)"},
    {"caps.pass_through", CORE, KT_BOOL, F(iommu.caps.pt), 0, 1, "", "pass-through translation type supported"},
    {"caps.device_tlb", CORE, KT_BOOL, F(iommu.caps.dt), 0, 1, "", "device-TLB (ATS) translation type supported"},

    CACHE_KEYS("ctx_cache", iommu.ctx_cache, "context cache"),
    {"ctx_cache.latency", "2", KT_U32, F(ctx_latency), 0, 1000, "cycles", "context-cache lookup latency"},
    {"iotlb.sets", CORE, KT_U32, F(iommu.iotlb.sets), 0, 1 << 20, "sets", "IOTLB sets (power of two; 0 disables; derived from iotlb.entries when that is set)"},
    {"iotlb.ways", CORE, KT_WAYS, F(iommu.iotlb.ways), 0, IMS_CACHE_MAX_WAYS, "ways", "IOTLB ways (0 disables), or full: one set of iotlb.entries ways"},
    {"iotlb.entries", "0", KT_U32, F(iotlb_entries), 0, IMS_CACHE_MAX_ENTRIES, "entries", "IOTLB entries: sets = entries / ways (0: iotlb.sets x iotlb.ways)"},
    {"iotlb.repl", CORE, KT_REPL, F(iommu.iotlb.repl), 0, 0, "", "IOTLB replacement:"},
    {"iotlb.latency", "2", KT_U32, F(iotlb_latency), 0, 1000, "cycles", "IOTLB lookup latency"},
    {"iotlb.ports", "1", KT_U32, F(iotlb_ports), 1, 64, "lookups/cycle", "IOTLB lookups accepted per cycle"},
    {"iotlb.prefetch", CORE, KT_PREFETCH, F(iommu.iotlb_prefetch), 0, 0, "", "IOTLB prefetch policy on a miss:"},
    {"iotlb.prefetch_degree", CORE, KT_U8, F(iommu.iotlb_prefetch_degree), 1, IMS_PF_MAX_DEGREE, "pages", "most pages one IOTLB miss may prefetch"},
    {"iotlb.prefetch_buffer", CORE, KT_U16, F(iommu.iotlb_prefetch_buffer), 0, IMS_PF_MAX_BUFFER, "entries", "prefetch buffer beside the IOTLB, which prefetches fill instead of the IOTLB (0: none, they fill the IOTLB)"},
    {"iotlb.prefetch_on_map", CORE, KT_BOOL, F(iommu.iotlb_prefetch_on_map), 0, 1, "", "map-time prefetch (a what-if): each replayed map's first pages are walked and inserted (into the prefetch buffer if any)"},
    {"riommu.rings", CORE, KT_RINGS, F(iommu.riommu), 0, 0, "", "rIOMMU rings, flat table and rIOTLB entry each (off: none): DID:FIRST_IOVA:SLOTS:SLOT_BYTES[:down],..."},
    CACHE_KEYS("psc.l2", iommu.psc[2], "paging-structure cache for level-2 entries (PDE)"),
    CACHE_KEYS("psc.l3", iommu.psc[3], "paging-structure cache for level-3 entries (PDPE)"),
    CACHE_KEYS("psc.l4", iommu.psc[4], "paging-structure cache for level-4 entries (PML4E)"),
    CACHE_KEYS("psc.l5", iommu.psc[5], "paging-structure cache for level-5 entries (PML5E)"),
    {"psc.latency", "2", KT_U32, F(psc_latency), 0, 1000, "cycles", "paging-structure-cache lookup latency"},

    {"walker.count", "4", KT_U32, F(walkers), 1, 1024, "walkers", "page walks in flight at once"},
    {"walker.queue", "16", KT_U32, F(walk_queue), 0, 65536, "requests", "misses waiting for a walker before the input stalls"},
    {"walker.step", "1", KT_U32, F(walk_step), 0, 1000, "cycles", "walker cycles per level besides the memory read"},
    {"walker.fill_latency", "2", KT_U32, F(fill_latency), 0, 1000, "cycles", "from the leaf read to the response"},
    {"walker.impl", "tlm", KT_WALKER, F(walker_impl), 0, 0, "", "who walks: tlm, rtl (the verilated walker), lockstep (both, checked)"},
    {"walker.rtl_skip_idle", "1", KT_BOOL, F(rtl_skip_idle), 0, 1, "", "RTL: skip cycles in which it provably cannot change state"},

    {"walker.rtl_timing", "0", KT_BOOL, F(walk_rtl_timing), 0, 1, "", "TLM walker: time walks as the RTL walker does, ports included (walker.step, walker.fill_latency unused)"},

    {"cosim.report_limit", "20", KT_U32, F(cosim_report_limit), 0, 1000000, "walks", "RTL mismatches reported in full (then counted)"},

    {"mem.latency", "100", KT_U32, F(mem_latency), 1, 100000, "cycles", "table-read latency"},
    {"mem.bytes_per_cycle", "32", KT_U32, F(mem_bytes_per_cycle), 1, 4096, "bytes/cycle", "memory bandwidth for IOMMU accesses"},
    {"mem.access_bytes", "64", KT_U32, F(mem_access_bytes), 8, 4096, "bytes", "bytes moved per table read"},
    {"mem.outstanding", "32", KT_U32, F(mem_outstanding), 1, 4096, "reads", "table reads in flight at once"},
    {"mem.ptw_cache_hit", "0", KT_DBL, F(ptw_cache_hit), 0, 1, "probability", "chance a table read hits a cache on the way"},
    {"mem.ptw_cache_latency", "20", KT_U32, F(ptw_cache_latency), 1, 100000, "cycles", "latency of such a hit"},

    {"fault.queue_base", CORE, KT_U64, F(iommu.fq_base), 0, 18446744073709551615.0, "address", "fault queue base (16-byte aligned)"},
    {"fault.queue_records", CORE, KT_U32, F(iommu.fq_records), 0, 1 << 20, "records", "fault queue size; 0: caps.nfr records"},
    {"fault.drain_every", "16", KT_U32, F(fault_drain_every), 1, 1 << 20, "records", "software drains after this many new records"},

    {"inv.latency", "10", KT_U32, F(inv_latency), 0, 100000, "cycles", "cycles an invalidation occupies the lookup pipeline"},
    {"inv.policy", "drain", KT_INVPOL, F(inv_policy), 0, 0, "", "in-flight walks in scope: drain (wait) or discard"},

    {"player.mode", "open", KT_PLAYER, F(player_mode), 0, 0, "", "open (recorded timestamps) or closed (per-device window)"},
    {"player.window", "8", KT_U32, F(window), 1, 4096, "requests", "closed loop: outstanding requests per device"},
    {"player.time_scale", "1", KT_DBL, F(time_scale), 1e-6, 1e6, "", "open loop: divides the recorded inter-arrival times (10: ten times faster; 1: as recorded)"},
    {"player.warmup", "0", KT_U64, F(warmup), 0, 1e18, "records", "DMA records excluded from stats (a MARK warmup-end also ends warm-up)"},
    {"player.iova_remap", "none", KT_REMAP, F(iova_remap), 0, 0, "", "re-allocate the trace's IOVAs as read (legacy mode only):"},
    {"player.pipeline", "1", KT_BOOL, F(pipeline), 0, 1, "", "open loop: the functional core runs on the reader's thread, ahead of the timing (the same results; 0: on the simulation thread)"},

    {"tables.base", CORE, KT_U64, F(tb.tbl_base), 0, 18446744073709551615.0, "address", "where replayed page tables are placed"},
    {"tables.size", CORE, KT_U64, F(tb.tbl_size), 4096, 18446744073709551615.0, "bytes", "room for replayed page tables"},
    {"seed", "1", KT_U64, F(seed), 0, 18446744073709551615.0, "", "seed for random replacement and the table-read cache"},
    {"stats.miss_classes", CORE, KT_BOOL, F(iommu.miss_classes), 0, 1, "", "classify cache misses; IOTLB lookups per domain and device"},
    {"regs.base", "0xfed90000", KT_U64, F(regs_base), 0, 18446744073709551615.0, "address", "VT-d register file base (ims::VtdIommu; unused by run)"},

    {"atc.entries", "0", KT_U32, F(atc_entries), 0, 1 << 20, "entries", "device-side ATC entries per device with TT = device TLB (sets = entries / atc.ways; 0: no ATC, no ATS)"},
    {"atc.ways", "4", KT_U32, F(atc_ways), 1, IMS_CACHE_MAX_WAYS, "ways", "device-side ATC ways"},
    {"atc.replacement", "lru", KT_REPL, F(atc_repl), 0, 0, "", "device-side ATC replacement:"},

    {"pri.queue_entries", "2048", KT_U32, F(pri_queue_entries), 128, 16384, "descriptors", "page request queue descriptors, a power of two (32 bytes each; Linux 6.1: 2048)"},
    {"pri.response_latency", "0", KT_U64, F(pri_response_latency), 0, 1e12, "cycles", "OS service time from a page request's descriptor write to its page group response (at least the trace's pgresp time)"},
};
#undef CACHE_KEYS
#undef F

/* Longest line of a configuration file, and longest --set, in bytes (with the NUL). */
#define CFG_LINE_MAX 512

#define NKEYS (sizeof keys / sizeof keys[0])

size_t ims_sim_cfg_keys(void) { return NKEYS; }
const char *ims_sim_cfg_key(size_t i) { return i < NKEYS ? keys[i].name : NULL; }

static int set_key(struct ims_sim_cfg *cfg, const struct key *k, const char *value, char *err, size_t errlen);

void ims_sim_cfg_default(struct ims_sim_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    ims_iommu_cfg_default(&cfg->iommu);
    ims_tb_cfg_default(&cfg->tb);
    cfg->iotlb_sets_key = cfg->iommu.iotlb.sets;
    for (size_t i = 0; i < NKEYS; i++) {
        char err[256];
        if (keys[i].def && set_key(cfg, &keys[i], keys[i].def, err, sizeof err)) {
            /* A typo in the table above; test_simcfg runs this on every build. */
            fprintf(stderr, "iommusim: internal error: built-in default of %s\n", err);
            abort();
        }
    }
}

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

/* Decimal or 0x hexadecimal. 0 or one of the PU_ reasons below. A leading
 * zero is refused rather than read as octal (strtoull's base 0 would make
 * "0100" 64). */
#define PU_NOT_INT (-1)
#define PU_TOO_BIG (-2)
#define PU_OCTAL (-3)
static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return PU_NOT_INT;
    if (s[0] == '0' && isdigit((unsigned char)s[1]))
        return PU_OCTAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end || end == s)
        return PU_NOT_INT;
    if (errno == ERANGE)
        return PU_TOO_BIG;
    if (errno)
        return PU_NOT_INT;
    *out = v;
    return 0;
}

/* Parses a comma-separated list, calling item() for each trimmed word. */
static int parse_list(const char *s, int (*item)(const char *w, uint8_t *mask), uint8_t *mask)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    *mask = 0;
    for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", "))
        if (item(tok, mask))
            return -1;
    return 0;
}

static int sagaw_item(const char *w, uint8_t *mask)
{
    if (!strcmp(w, "39"))
        *mask |= IMS_SAGAW_39;
    else if (!strcmp(w, "48"))
        *mask |= IMS_SAGAW_48;
    else if (!strcmp(w, "57"))
        *mask |= IMS_SAGAW_57;
    else
        return -1;
    return 0;
}

static int sllps_item(const char *w, uint8_t *mask)
{
    if (!strcmp(w, "2m"))
        *mask |= IMS_SLLPS_2M;
    else if (!strcmp(w, "1g"))
        *mask |= IMS_SLLPS_1G;
    else if (strcmp(w, "none"))
        return -1;
    return 0;
}

/* The IOTLB's geometry from iotlb.sets, iotlb.ways and iotlb.entries as
 * set (in any order): with entries N, sets = N / ways (ways = full: one set
 * of N ways); without, sets and ways as given. 0, or -1 with a message
 * naming the keys and their values. */
static int iotlb_geometry(const struct ims_sim_cfg *cfg, uint32_t *sets, uint32_t *ways, char *err, size_t errlen)
{
    const uint32_t n = cfg->iotlb_entries, w = cfg->iommu.iotlb.ways;
    if (n == 0) {
        if (cfg->iotlb_ways_full) {
            snprintf(err, errlen, "iotlb.ways: full needs iotlb.entries (the entries of the one set), which is 0");
            return -1;
        }
        *sets = cfg->iotlb_sets_key;
        *ways = w;
        return 0;
    }
    if (cfg->iotlb_ways_full) {
        *sets = 1;
        *ways = n;
        if (n > IMS_CACHE_MAX_WAYS) {
            snprintf(err, errlen, "iotlb.entries: %u with iotlb.ways=full is more than %u ways in one set", n,
                     IMS_CACHE_MAX_WAYS);
            return -1;
        }
        return 0;
    }
    if (w == 0 || n % w) {
        snprintf(err, errlen, "iotlb.entries: %u is not a multiple of iotlb.ways (%u)", n, w);
        return -1;
    }
    const uint32_t s = n / w;
    if (s & (s - 1)) {
        snprintf(err, errlen,
                 "iotlb.entries: %u / iotlb.ways (%u) is %u sets, not a power of two (choose entries = ways x 2^k)",
                 n, w, s);
        return -1;
    }
    *sets = s;
    *ways = w;
    return 0;
}

int ims_sim_cfg_set(struct ims_sim_cfg *cfg, const char *name, const char *value, char *err, size_t errlen)
{
    const struct key *k = find_key(name);
    if (!k) {
        snprintf(err, errlen, "unknown key '%s' (see 'iommusim run --print-config')", name);
        return -1;
    }
    if (set_key(cfg, k, value, err, errlen))
        return -1;
    /* The IOTLB geometry follows from three keys: resolve it after each of
     * them, from what they were set to (so the order they come in does not
     * matter); an inconsistent combination is ims_sim_cfg_check's error. */
    if (k->off == offsetof(struct ims_sim_cfg, iommu.iotlb.sets))
        cfg->iotlb_sets_key = cfg->iommu.iotlb.sets;
    if (k->off == offsetof(struct ims_sim_cfg, iommu.iotlb.sets) ||
        k->off == offsetof(struct ims_sim_cfg, iommu.iotlb.ways) || k->off == offsetof(struct ims_sim_cfg, iotlb_entries)) {
        uint32_t sets, ways;
        char e[8];
        if (iotlb_geometry(cfg, &sets, &ways, e, sizeof e) == 0) {
            cfg->iommu.iotlb.sets = sets;
            cfg->iommu.iotlb.ways = ways;
        }
    }
    return 0;
}

/* "key: value is out of range [min, max]" for an integer key. A bound of
 * 2^64 in the table (as a double) is printed as what it means, 2^64-1. */
static void range_err(char *err, size_t errlen, const struct key *k, const char *value)
{
    char hi[32];
    if (k->max >= 18446744073709551615.0)
        snprintf(hi, sizeof hi, "%" PRIu64, UINT64_MAX);
    else
        snprintf(hi, sizeof hi, "%.0f", k->max);
    snprintf(err, errlen, "%s: %s is out of range [%.0f, %s]", k->name, value, k->min, hi);
}

/* The message for parse_u64's failure rc (PU_*, or -1: not a number at all,
 * which `expected` names); returns -1. */
static int u64_err(char *err, size_t errlen, const struct key *k, const char *value, int rc, const char *expected)
{
    if (rc == PU_TOO_BIG)
        range_err(err, errlen, k, value);
    else if (rc == PU_OCTAL)
        snprintf(err, errlen,
                 "%s: '%s' has a leading zero (octal is not accepted: write it in decimal, or in hex as 0x...)",
                 k->name, value);
    else
        snprintf(err, errlen, "%s: '%s' is %s", k->name, value, expected);
    return -1;
}

static char *trim(char *s);

/* riommu.rings: "none", or a comma-separated list of DID:FIRST:SLOTS:SLOT_SIZE
 * with an optional :down (slot s + 1 below slot s). The layout checks are
 * the core's (ims_riommu_cfg_check, from ims_sim_cfg_check). */
static int parse_rings(const char *name, const char *value, struct ims_riommu_cfg *out, char *err, size_t errlen)
{
    struct ims_riommu_cfg rc = *out;
    rc.n_rings = 0;
    memset(rc.ring, 0, sizeof rc.ring);
    if (strcmp(value, "none")) {
        char buf[CFG_LINE_MAX];
        if (strlen(value) >= sizeof buf || !*value) {
            snprintf(err, errlen, "%s: '%s' is not none or a list of DID:FIRST_IOVA:SLOTS:SLOT_BYTES[:down]", name,
                     value);
            return -1;
        }
        strcpy(buf, value);
        char *save = NULL;
        for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            if (rc.n_rings == IMS_RIOMMU_MAX_RINGS) {
                snprintf(err, errlen, "%s: more than %u rings", name, IMS_RIOMMU_MAX_RINGS);
                return -1;
            }
            char whole[CFG_LINE_MAX];
            snprintf(whole, sizeof whole, "%s", trim(item));
            char *f[6];
            unsigned n = 0;
            char *s2 = NULL;
            for (char *w = strtok_r(item, ":", &s2); w && n < 6; w = strtok_r(NULL, ":", &s2))
                f[n++] = trim(w);
            uint64_t v[4];
            bool ok = (n == 4 || (n == 5 && !strcmp(f[4], "down")));
            for (unsigned i = 0; ok && i < 4; i++)
                ok = parse_u64(f[i], &v[i]) == 0;
            if (!ok) {
                snprintf(err, errlen, "%s: ring %u ('%s'): expected DID:FIRST_IOVA:SLOTS:SLOT_BYTES[:down] (numbers "
                         "in decimal or 0x hex)", name, rc.n_rings, whole);
                return -1;
            }
            if (v[0] > UINT16_MAX) {
                snprintf(err, errlen, "%s: ring %u: domain id %" PRIu64 " is more than 65535", name, rc.n_rings, v[0]);
                return -1;
            }
            if (v[2] > IMS_RIOMMU_MAX_SLOTS || v[3] > (UINT64_C(1) << 30)) {
                snprintf(err, errlen, "%s: ring %u: %" PRIu64 " slots of %" PRIu64 " bytes: at most %u slots of at most "
                         "1 GiB", name, rc.n_rings, v[2], v[3], IMS_RIOMMU_MAX_SLOTS);
                return -1;
            }
            rc.ring[rc.n_rings++] = (struct ims_riommu_ring_cfg){
                .did = (uint16_t)v[0], .first = v[1], .slots = (uint32_t)v[2], .slot_size = (uint32_t)v[3],
                .down = n == 5};
        }
        if (rc.n_rings == 0) {
            snprintf(err, errlen, "%s: '%s' names no ring", name, value);
            return -1;
        }
    }
    *out = rc;
    return 0;
}

static int set_key(struct ims_sim_cfg *cfg, const struct key *k, const char *value, char *err, size_t errlen)
{
    const char *name = k->name;
    void *p = (char *)cfg + k->off;
    uint64_t u;
    int rc;
    switch (k->type) {
    case KT_U8:
    case KT_U16:
    case KT_U32:
    case KT_U64:
        rc = parse_u64(value, &u);
        if (rc != 0)
            return u64_err(err, errlen, k, value, rc, "not a non-negative integer");
        if ((double)u < k->min || (double)u > k->max) {
            range_err(err, errlen, k, value);
            return -1;
        }
        if (k->type == KT_U8)
            *(uint8_t *)p = (uint8_t)u;
        else if (k->type == KT_U16)
            *(uint16_t *)p = (uint16_t)u;
        else if (k->type == KT_U32)
            *(uint32_t *)p = (uint32_t)u;
        else
            *(uint64_t *)p = u;
        return 0;
    case KT_DBL: {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (errno || *end || !*value || isnan(d)) {
            snprintf(err, errlen, "%s: '%s' is not a number", name, value);
            return -1;
        }
        if (d < k->min || d > k->max) {
            snprintf(err, errlen, "%s: %s is out of range [%g, %g]", name, value, k->min, k->max);
            return -1;
        }
        *(double *)p = d;
        return 0;
    }
    case KT_BOOL:
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "on"))
            *(bool *)p = true;
        else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "off"))
            *(bool *)p = false;
        else {
            snprintf(err, errlen, "%s: '%s' is not a boolean (0/1, true/false, on/off)", name, value);
            return -1;
        }
        return 0;
    case KT_REPL: {
        int r = ims_repl_from_name(value);
        if (r < 0) {
            snprintf(err, errlen, "%s: unknown replacement policy '%s' (known: %s)", name, value, ims_repl_known());
            return -1;
        }
        *(uint8_t *)p = (uint8_t)r;
        return 0;
    }
    case KT_REMAP: {
        const int s = strcmp(value, "none") ? ims_remap_strategy(value) : -1;
        if (s < 0 && strcmp(value, "none")) {
            snprintf(err, errlen, "%s: unknown IOVA remap strategy '%s' (known: %s)", name, value, ims_remap_known());
            return -1;
        }
        *(uint8_t *)p = (uint8_t)(s + 1);
        return 0;
    }
    case KT_RINGS:
        return parse_rings(name, value, (struct ims_riommu_cfg *)p, err, errlen);
    case KT_PREFETCH: {
        int r = ims_pf_from_name(value);
        if (r < 0) {
            snprintf(err, errlen, "%s: unknown prefetch policy '%s' (known: %s)", name, value, ims_pf_known());
            return -1;
        }
        *(uint8_t *)p = (uint8_t)r;
        return 0;
    }
    case KT_SAGAW:
        if (parse_list(value, sagaw_item, (uint8_t *)p) || !*(uint8_t *)p) {
            snprintf(err, errlen, "%s: '%s' is not a list of widths from 39, 48, 57", name, value);
            return -1;
        }
        return 0;
    case KT_SLLPS:
        if (parse_list(value, sllps_item, (uint8_t *)p)) {
            snprintf(err, errlen, "%s: '%s' is not a list of 2m, 1g (or none)", name, value);
            return -1;
        }
        return 0;
    case KT_PLAYER:
        if (!strcmp(value, "open"))
            *(uint8_t *)p = IMS_PLAYER_OPEN;
        else if (!strcmp(value, "closed"))
            *(uint8_t *)p = IMS_PLAYER_CLOSED;
        else {
            snprintf(err, errlen, "%s: '%s' is not open or closed", name, value);
            return -1;
        }
        return 0;
    case KT_INVPOL:
        if (!strcmp(value, "drain"))
            *(uint8_t *)p = IMS_INV_DRAIN;
        else if (!strcmp(value, "discard"))
            *(uint8_t *)p = IMS_INV_DISCARD;
        else {
            snprintf(err, errlen, "%s: '%s' is not drain or discard", name, value);
            return -1;
        }
        return 0;
    case KT_WAYS:
        if (!strcmp(value, "full")) {
            cfg->iotlb_ways_full = true;
            return 0;
        }
        rc = parse_u64(value, &u);
        if (rc == 0 && (double)u > k->max)
            rc = PU_TOO_BIG;
        if (rc != 0)
            return u64_err(err, errlen, k, value, rc, "neither a non-negative integer nor full");
        cfg->iotlb_ways_full = false;
        *(uint32_t *)p = (uint32_t)u;
        return 0;
    case KT_WALKER:
        if (!strcmp(value, "tlm"))
            *(uint8_t *)p = IMS_WALKER_TLM;
        else if (!strcmp(value, "rtl"))
            *(uint8_t *)p = IMS_WALKER_RTL;
        else if (!strcmp(value, "lockstep"))
            *(uint8_t *)p = IMS_WALKER_LOCKSTEP;
        else {
            snprintf(err, errlen, "%s: '%s' is not tlm, rtl or lockstep", name, value);
            return -1;
        }
        return 0;
    }

    snprintf(err, errlen, "%s: internal error: unknown key type", name);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int ims_sim_cfg_set_kv(struct ims_sim_cfg *cfg, const char *kv, const char *where, char *err, size_t errlen)
{
    char buf[CFG_LINE_MAX];
    if (strlen(kv) >= sizeof buf) {
        snprintf(err, errlen, "%s: setting too long (%zu bytes; at most %zu)", where, strlen(kv), sizeof buf - 1);
        return -1;
    }
    strcpy(buf, kv);
    char *eq = strchr(buf, '=');
    if (!eq) {
        snprintf(err, errlen, "%s: expected key=value, got '%s'", where, kv);
        return -1;
    }
    *eq = 0;
    if (!*trim(buf)) {
        snprintf(err, errlen, "%s: expected key=value, got no key before '=' in '%s'", where, kv);
        return -1;
    }
    char msg[384];
    if (ims_sim_cfg_set(cfg, trim(buf), trim(eq + 1), msg, sizeof msg)) {
        snprintf(err, errlen, "%s: %s", where, msg);
        return -1;
    }
    return 0;
}

int ims_sim_cfg_load(struct ims_sim_cfg *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* A directory opens, then reads as nothing: the built-in defaults. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a configuration file", path);
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    char where[300];
    unsigned lineno = 0;
    int rc = 0;
    ssize_t n;
    errno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n != strlen(line)) {
            snprintf(err, errlen, "%s:%u: NUL byte (not a text file?)", path, lineno);
            rc = -1;
            break;
        }
        if ((size_t)n >= CFG_LINE_MAX) {
            snprintf(err, errlen, "%s:%u: line too long (%zd bytes; at most %d)", path, lineno, n, CFG_LINE_MAX - 1);
            rc = -1;
            break;
        }
        char *s = line;
        /* A UTF-8 byte order mark, as some editors write one. */
        if (lineno == 1 && !memcmp(s, "﻿", 3))
            s += 3;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = 0;
        s = trim(s);
        if (!*s)
            continue;
        snprintf(where, sizeof where, "%s:%u", path, lineno);
        if (ims_sim_cfg_set_kv(cfg, s, where, err, errlen)) {
            rc = -1;
            break;
        }
        errno = 0;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno ? errno : EIO));
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

static bool pow2(uint32_t v) { return v && !(v & (v - 1)); }

/* Each numeric and enumerated key's value within what its row allows: a
 * configuration filled in as a struct (ims::VtdIommu's callers) never went
 * through set_key's range check, and a value outside it (walker.count 0,
 * clock.mhz 0, ...) is one the timing model cannot serve. */
static int check_ranges(const struct ims_sim_cfg *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        const void *p = (const char *)cfg + k->off;
        uint64_t u;
        uint8_t e, emax;
        switch (k->type) {
        case KT_U8:
            u = *(const uint8_t *)p;
            break;
        case KT_U16:
            u = *(const uint16_t *)p;
            break;
        case KT_U32:
        case KT_WAYS:
            u = *(const uint32_t *)p;
            break;
        case KT_U64:
            u = *(const uint64_t *)p;
            break;
        case KT_DBL: {
            const double d = *(const double *)p;
            if (isnan(d) || d < k->min || d > k->max) {
                snprintf(err, errlen, "%s: %g is out of range [%g, %g]", k->name, d, k->min, k->max);
                return -1;
            }
            continue;
        }
        case KT_PLAYER:
        case KT_INVPOL:
        case KT_WALKER:
            e = *(const uint8_t *)p;
            emax = k->type == KT_WALKER ? IMS_WALKER_LOCKSTEP : k->type == KT_PLAYER ? IMS_PLAYER_CLOSED : IMS_INV_DISCARD;
            if (e > emax) {
                snprintf(err, errlen, "%s: %u is not one of its values (0..%u)", k->name, e, emax);
                return -1;
            }
            continue;
        case KT_REPL:
            if (ims_repl_from_name(ims_repl_name(*(const uint8_t *)p)) != *(const uint8_t *)p) {
                snprintf(err, errlen, "%s: %u is not a replacement policy (known: %s)", k->name, *(const uint8_t *)p,
                         ims_repl_known());
                return -1;
            }
            continue;
        case KT_REMAP:
            if (*(const uint8_t *)p && !ims_remap_name(*(const uint8_t *)p - 1)) {
                snprintf(err, errlen, "%s: %u is not an IOVA remap strategy (known: %s)", k->name, *(const uint8_t *)p,
                         ims_remap_known());
                return -1;
            }
            continue;
        case KT_PREFETCH:
            if (*(const uint8_t *)p >= IMS_PF_COUNT) {
                snprintf(err, errlen, "%s: %u is not a prefetch policy (known: %s)", k->name, *(const uint8_t *)p,
                         ims_pf_known());
                return -1;
            }
            continue;
        default: /* KT_BOOL, KT_SAGAW, KT_SLLPS: any value is one (ims_caps_check checks the masks) */
            continue;
        }
        const double dv = (double)u;
        if (dv < k->min || dv > k->max) {
            char v[32];
            snprintf(v, sizeof v, "%" PRIu64, u);
            range_err(err, errlen, k, v);
            return -1;
        }
    }
    return 0;
}

int ims_sim_cfg_check(const struct ims_sim_cfg *cfg, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        size_t off;
    } caches[] = {
        {"ctx_cache", offsetof(struct ims_sim_cfg, iommu.ctx_cache)},
        {"iotlb", offsetof(struct ims_sim_cfg, iommu.iotlb)},
        {"psc.l2", offsetof(struct ims_sim_cfg, iommu.psc[2])},
        {"psc.l3", offsetof(struct ims_sim_cfg, iommu.psc[3])},
        {"psc.l4", offsetof(struct ims_sim_cfg, iommu.psc[4])},
        {"psc.l5", offsetof(struct ims_sim_cfg, iommu.psc[5])},
    };
    if (check_ranges(cfg, err, errlen))
        return -1;
    uint32_t sets, ways;
    if (iotlb_geometry(cfg, &sets, &ways, err, errlen))
        return -1;
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        const struct ims_cache_cfg *c = (const void *)((const char *)cfg + caches[i].off);
        if (ims_cache_cfg_check(c, caches[i].name, err, errlen))
            return -1;
    }
    if (ims_caps_check(&cfg->iommu.caps, err, errlen))
        return -1;
    if (ims_riommu_cfg_check(&cfg->iommu, err, errlen))
        return -1;
    /* A ring miss is a one-read walk of the TLM walker; the RTL walker
     * walks radix tables only. */
    if (cfg->iommu.riommu.n_rings && cfg->walker_impl != IMS_WALKER_TLM) {
        snprintf(err, errlen, "riommu.rings: needs walker.impl = tlm (the RTL walker walks radix tables only)");
        return -1;
    }
    /* The device-side ATC: a whole number of power-of-two sets; the
     * replacement policy's own needs (PLRU: power-of-two ways). */
    if (cfg->atc_entries) {
        if (cfg->atc_entries % cfg->atc_ways || !pow2(cfg->atc_entries / cfg->atc_ways)) {
            snprintf(err, errlen,
                     "atc.entries: %u is not atc.ways (%u) x a power of two sets (choose entries = ways x 2^k)",
                     cfg->atc_entries, cfg->atc_ways);
            return -1;
        }
        const struct ims_cache_cfg atc = {.sets = cfg->atc_entries / cfg->atc_ways, .ways = cfg->atc_ways,
                                          .repl = cfg->atc_repl};
        if (ims_cache_cfg_check(&atc, "atc", err, errlen))
            return -1;
    }
    if (!pow2(cfg->pri_queue_entries)) {
        snprintf(err, errlen, "pri.queue_entries: %u is not a power of two (128, 256, ..., 16384)", cfg->pri_queue_entries);
        return -1;
    }
    if (cfg->iommu.fq_base & 15) {
        snprintf(err, errlen, "fault.queue_base: 0x%" PRIx64 " is not 16-byte aligned", cfg->iommu.fq_base);
        return -1;
    }
    /* One slot of the ring always stays free to tell full from empty. */
    if (cfg->iommu.fq_records == 1) {
        snprintf(err, errlen, "fault.queue_records: 1 is too small: at least 2 (one slot stays free), or 0 to follow "
                 "caps.nfr");
        return -1;
    }
    if (cfg->iommu.fq_records == 0 && cfg->iommu.caps.nfr < 2) {
        snprintf(err, errlen, "fault.queue_records: 0 follows caps.nfr (%u), but the queue needs at least 2 records "
                 "(one slot stays free): raise caps.nfr or set fault.queue_records", cfg->iommu.caps.nfr);
        return -1;
    }
    if (cfg->tb.tbl_base & 0xfff) {
        snprintf(err, errlen, "tables.base: 0x%" PRIx64 " is not 4 KiB aligned", cfg->tb.tbl_base);
        return -1;
    }
    /* The rest of what the table builder requires (ims_tb_create), named by
     * key here rather than reported later against the trace. */
    const uint64_t top = UINT64_C(1) << cfg->iommu.caps.haw;
    if (cfg->tb.tbl_base == 0 || cfg->tb.tbl_base >= top) {
        snprintf(err, errlen, "tables.base: 0x%" PRIx64 " must be non-zero and below 2^caps.haw (0x%" PRIx64 ")",
                 cfg->tb.tbl_base, top);
        return -1;
    }
    if (cfg->tb.tbl_size > top - cfg->tb.tbl_base) {
        snprintf(err, errlen,
                 "tables.size: 0x%" PRIx64 " bytes from tables.base 0x%" PRIx64 " reach past 2^caps.haw (0x%" PRIx64
                 ")",
                 cfg->tb.tbl_size, cfg->tb.tbl_base, top);
        return -1;
    }
    if (!pow2(cfg->mem_access_bytes)) {
        snprintf(err, errlen, "mem.access_bytes: %u is not a power of two", cfg->mem_access_bytes);
        return -1;
    }
    /* The register file's window: 4 KiB pages (vtd_regs.hpp: one or two), not
     * wrapping past the top of the address space. */
    if (cfg->regs_base & 0xfff || cfg->regs_base > UINT64_MAX - 0x2000) {
        snprintf(err, errlen, "regs.base: 0x%" PRIx64 " is not a 4 KiB-aligned base below 0x%" PRIx64, cfg->regs_base,
                 UINT64_MAX - 0x2000 + 1);
        return -1;
    }
    return 0;
}

/* Writes a key's value as a configuration file would set it. */
static void format_value(char *buf, size_t len, const struct key *k, const struct ims_sim_cfg *cfg)
{
    const void *p = (const char *)cfg + k->off;
    const bool cfg_full = cfg->iotlb_ways_full;
    switch (k->type) {
    case KT_U8:
        snprintf(buf, len, "%u", *(const uint8_t *)p);
        return;
    case KT_U16:
        snprintf(buf, len, "%u", *(const uint16_t *)p);
        return;
    case KT_U32:
        snprintf(buf, len, "%u", *(const uint32_t *)p);
        return;
    case KT_U64:
        if (!strcmp(k->unit, "address") || !strcmp(k->unit, "bytes")) /* addresses and sizes of memory */
            snprintf(buf, len, "0x%" PRIx64, *(const uint64_t *)p);
        else
            snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p);
        return;
    case KT_DBL: {
        /* The shortest of %g, %.15g and %.17g that reads back as the same
         * double: a run result's effective_config must rerun exactly. */
        const double d = *(const double *)p;
        snprintf(buf, len, "%g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, len, "%.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, len, "%.17g", d);
        return;
    }
    case KT_BOOL:
        snprintf(buf, len, "%d", *(const bool *)p ? 1 : 0);
        return;
    case KT_REPL:
        snprintf(buf, len, "%s", ims_repl_name(*(const uint8_t *)p));
        return;
    case KT_REMAP: {
        const char *s = *(const uint8_t *)p ? ims_remap_name(*(const uint8_t *)p - 1) : "none";
        snprintf(buf, len, "%s", s ? s : "?");
        return;
    }
    case KT_PREFETCH:
        snprintf(buf, len, "%s", ims_pf_name(*(const uint8_t *)p));
        return;
    case KT_RINGS: {
        const struct ims_riommu_cfg *rc = p;
        if (!rc->n_rings) {
            snprintf(buf, len, "none");
            return;
        }
        size_t at = 0;
        buf[0] = 0;
        for (uint32_t i = 0; i < rc->n_rings && i < IMS_RIOMMU_MAX_RINGS && at < len; i++) {
            const struct ims_riommu_ring_cfg *r = &rc->ring[i];
            const int w = snprintf(buf + at, len - at, "%s%u:0x%" PRIx64 ":%u:0x%x%s", i ? "," : "", r->did, r->first,
                                   r->slots, r->slot_size, r->down ? ":down" : "");
            if (w < 0)
                return;
            at += (size_t)w;
        }
        return;
    }
    case KT_SAGAW: {
        uint8_t m = *(const uint8_t *)p;
        snprintf(buf, len, "%s%s%s%s%s", (m & IMS_SAGAW_39) ? "39" : "",
                 (m & IMS_SAGAW_39) && (m & (IMS_SAGAW_48 | IMS_SAGAW_57)) ? "," : "", (m & IMS_SAGAW_48) ? "48" : "",
                 (m & IMS_SAGAW_48) && (m & IMS_SAGAW_57) ? "," : "", (m & IMS_SAGAW_57) ? "57" : "");
        return;
    }
    case KT_SLLPS: {
        uint8_t m = *(const uint8_t *)p;
        if (!m)
            snprintf(buf, len, "none");
        else
            snprintf(buf, len, "%s%s%s", (m & IMS_SLLPS_2M) ? "2m" : "",
                     (m & IMS_SLLPS_2M) && (m & IMS_SLLPS_1G) ? "," : "", (m & IMS_SLLPS_1G) ? "1g" : "");
        return;
    }
    case KT_PLAYER:
        snprintf(buf, len, "%s", *(const uint8_t *)p == IMS_PLAYER_CLOSED ? "closed" : "open");
        return;
    case KT_INVPOL:
        snprintf(buf, len, "%s", *(const uint8_t *)p == IMS_INV_DISCARD ? "discard" : "drain");
        return;
    case KT_WAYS:
        if (cfg_full)
            snprintf(buf, len, "full");
        else
            snprintf(buf, len, "%u", *(const uint32_t *)p);
        return;
    case KT_WALKER: {
        const uint8_t w = *(const uint8_t *)p;
        snprintf(buf, len, "%s", w == IMS_WALKER_RTL ? "rtl" : w == IMS_WALKER_LOCKSTEP ? "lockstep" : "tlm");
        return;
    }
    }
    snprintf(buf, len, "?");
}

int ims_sim_cfg_get(const struct ims_sim_cfg *cfg, const char *key, char *buf, size_t len)
{
    const struct key *k = find_key(key);
    if (!k)
        return -1;
    format_value(buf, len, k, cfg);
    return 0;
}

void ims_sim_cfg_print(const struct ims_sim_cfg *cfg, void *file)
{
    FILE *f = file;
    struct ims_sim_cfg def;
    ims_sim_cfg_default(&def);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        char v[CFG_LINE_MAX], d[CFG_LINE_MAX];
        format_value(v, sizeof v, k, cfg);
        format_value(d, sizeof d, k, &def);
        fprintf(f, "%-24s = %s  # %s", k->name, v, k->doc);
        if (k->type == KT_REPL)
            fprintf(f, " %s", ims_repl_known());
        if (k->type == KT_PREFETCH)
            fprintf(f, " %s", ims_pf_known());
        if (k->type == KT_REMAP)
            fprintf(f, " %s", ims_remap_known());
        if (*k->unit)
            fprintf(f, " (%s)", k->unit);
        if (strcmp(v, d))
            fprintf(f, " [default %s]", d);
        fputc('\n', f);
    }
}
