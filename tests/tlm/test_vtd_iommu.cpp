// ims::VtdIommu (iommusim/vtd_iommu.hpp): built in one step from a
// configuration, bound by a platform in one line per socket, and refusing a
// configuration it cannot serve with ConfigError naming the key, before any
// SystemC object exists. Each case runs in its own process (Check forks).
#include <cstring>
#include <string>
#include <unistd.h>

#include "iommusim/mem.h"
#include "iommusim/vtd_iommu.hpp"
#include "kernel_check.hpp"
#include "vtd_tb.hpp"
// Check last: its fail() macro clashes with <ios>.
#include <check.h>
#include "ims_check.h"

namespace {

using vtdtb::kRoot;
using vtdtb::Sink;
constexpr std::uint64_t kBase = 0x40000000;  // regs.base as the test sets it

// A platform: its memory and data sink, the IOMMU in one step, a driver
// thread on the register window and a device on dma_in.
struct Platform : sc_core::sc_module {
    ims::VtdIommu vtd;
    ims_mem *backing;
    ims::Memory memory;
    Sink sink;
    tlm_utils::simple_initiator_socket<Platform> mmio, dev, ats;
    bool finished = false;

    SC_HAS_PROCESS(Platform);
    Platform(sc_core::sc_module_name n, const ims_sim_cfg &cfg)
        : sc_module(n), vtd("vtd", cfg), backing(ims_mem_create()), memory("memory", vtd.config(), vtd.clock()),
          sink("sink"), mmio("mmio"), dev("dev"), ats("ats")
    {
        memory.bind_backing(backing);
        mmio.bind(vtd.regs);
        dev.bind(vtd.dma_in);
        ats.bind(vtd.ats_in);  // bound even without ATS traffic (docs/vtd.md)
        vtd.dma_out.bind(sink.tsock);
        vtd.mem.bind(memory.tsock);
        vtdtb::build_tables(backing);  // IOVA 0x10000 of 00:03.0 at 0x80000000
        SC_THREAD(run);
    }
    ~Platform() override
    {
        memory.bind_backing(nullptr);
        ims_mem_destroy(backing);
    }

    tlm::tlm_response_status mmio_access(tlm::tlm_command cmd, std::uint64_t addr, unsigned len, void *data)
    {
        return vtdtb::mmio_access(mmio, cmd, addr, len, data);
    }
    std::uint64_t r64(unsigned off)
    {
        std::uint64_t v = 0xdeadbeef;
        ck_assert_int_eq(mmio_access(tlm::TLM_READ_COMMAND, kBase + off, 8, &v), tlm::TLM_OK_RESPONSE);
        return v;
    }
    void w32(unsigned off, std::uint32_t v)
    {
        ck_assert_int_eq(mmio_access(tlm::TLM_WRITE_COMMAND, kBase + off, 4, &v), tlm::TLM_OK_RESPONSE);
    }
    tlm::tlm_response_status dma_read(std::uint64_t iova)
    {
        return vtdtb::dma_read(dev, iova);
    }

    void run()
    {
        // The window is at regs.base: CAP reads what the configuration's
        // caps encode; the default base (0xfed90000) is not decoded.
        ck_assert_uint_eq(r64(IMS_VTD_CAP), ims_caps_cap_reg(&vtd.config().iommu.caps));
        std::uint64_t v = 0;
        ck_assert_int_eq(mmio_access(tlm::TLM_READ_COMMAND, ims::VtdRegs::kDefaultBase + IMS_VTD_CAP, 8, &v),
                         tlm::TLM_ADDRESS_ERROR_RESPONSE);
        // Reset: translation off, DMA passes at its own address.
        ck_assert_int_eq(dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(sink.last, 0x10000);
        // The driver's enable sequence, then a mapped and an unmapped read.
        std::uint64_t root = kRoot;
        ck_assert_int_eq(mmio_access(tlm::TLM_WRITE_COMMAND, kBase + IMS_VTD_RTADDR, 8, &root), tlm::TLM_OK_RESPONSE);
        w32(IMS_VTD_GCMD, IMS_VTD_GCMD_SRTP);
        w32(IMS_VTD_GCMD, IMS_VTD_GCMD_SRTP | IMS_VTD_GCMD_TE);
        ck_assert_int_eq(dma_read(0x10000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(sink.last, 0x80000000);
        const std::uint64_t before = sink.count;
        ck_assert_int_ne(dma_read(0x20000), tlm::TLM_OK_RESPONSE);
        ck_assert_uint_eq(sink.count, before);
        // The fault is in fault-recording register 0 (F, bit 127; FR 6:
        // second-level entry not present) and not in the core's ring at
        // fault.queue_base (the MSI window), which stays untouched.
        const std::uint64_t hi = r64(IMS_VTD_FRO_OFFSET + 8);
        ck_assert_uint_eq(hi >> 63, 1);
        ck_assert_uint_eq((hi >> 32) & 0xff, 6);
        ck_assert_uint_eq(vtd.vtd.stats().faults_recorded, 1);
        const std::uint64_t fq = vtd.config().iommu.fq_base;
        ck_assert_uint_eq(ims_mem_read64(backing, fq) | ims_mem_read64(backing, fq + 8), 0);
        finished = true;
        ims::park_thread();
    }
};

}  // namespace

// Expected: regs.base and walker.count from key=value settings reach the
// parts (the window at 0x40000000, 2 walkers); the driver's sequence
// translates IOVA 0x10000 to 0x80000000 and records a fault in the
// registers, not in the ring.
START_TEST(builds_from_settings)
{
    const ims_sim_cfg cfg = ims::VtdIommu::load_config("", {"regs.base=0x40000000", "walker.count=2"});
    ck_assert_uint_eq(cfg.regs_base, kBase);
    Platform p("p", cfg);
    ck_assert_uint_eq(p.vtd.iommu.walkers(), 2);
    ck_assert_uint_eq(p.vtd.vtd.base(), kBase);
    kcheck::run();
    ck_assert(p.finished);
}
END_TEST

// Expected: caps.nfr = 1 (one fault-recording register, as VT-d allows:
// NFR = 0) builds. The core's in-memory fault ring, which the register file
// turns off, would follow caps.nfr and is too small at 1 record; it gets 2
// (the smallest ring) instead of refusing the configuration.
START_TEST(one_fault_register)
{
    const ims_sim_cfg cfg = ims::VtdIommu::load_config("", {"caps.nfr=1", "regs.base=0x40000000"});
    ck_assert_uint_eq(cfg.iommu.caps.nfr, 1);
    ck_assert_uint_eq(cfg.iommu.fq_records, 2);
    ims_sim_cfg raw;
    ims_sim_cfg_default(&raw);
    raw.iommu.caps.nfr = 1;  // not through load_config: the constructor does the same
    raw.regs_base = kBase;
    Platform p("p", raw);
    kcheck::run();
    ck_assert(p.finished);
}
END_TEST

// Expected: each configuration below is refused with ConfigError, whose
// message begins with the key named, and before any SystemC object is built
// (no top-level object exists afterwards). Each is a value the parts cannot
// serve (walker.count 0 leaves no walker, clock.mhz 0 divides, caps.nfr 0
// leaves no fault-recording register, ...).
START_TEST(refuses_what_it_cannot_serve)
{
    struct Case {
        const char *key;
        void (*set)(ims_sim_cfg &);
    } cases[] = {
        {"walker.count", [](ims_sim_cfg &c) { c.walkers = 0; }},
        {"clock.mhz", [](ims_sim_cfg &c) { c.clock_mhz = 0; }},
        {"caps.nfr", [](ims_sim_cfg &c) { c.iommu.caps.nfr = 0; }},
        {"iotlb.ports", [](ims_sim_cfg &c) { c.iotlb_ports = 0; }},
        {"mem.outstanding", [](ims_sim_cfg &c) { c.mem_outstanding = 0; }},
        {"mem.bytes_per_cycle", [](ims_sim_cfg &c) { c.mem_bytes_per_cycle = 0; }},
        {"mem.latency", [](ims_sim_cfg &c) { c.mem_latency = 0; }},
        {"mem.ptw_cache_hit", [](ims_sim_cfg &c) { c.ptw_cache_hit = 2.0; }},
        {"regs.base", [](ims_sim_cfg &c) { c.regs_base = 0xfed90100; }},
        {"regs.base", [](ims_sim_cfg &c) { c.regs_base = ~UINT64_C(0xfff); }},
        {"walker.impl", [](ims_sim_cfg &c) { c.walker_impl = IMS_WALKER_RTL; }},
        {"inv.policy", [](ims_sim_cfg &c) { c.inv_policy = 7; }},
        {"fault.queue_base", [](ims_sim_cfg &c) { c.iommu.fq_base = 0xfee00008; }},
        {"iotlb", [](ims_sim_cfg &c) { c.iommu.iotlb.sets = 3; }},
    };
    for (const Case &k : cases) {
        ims_sim_cfg cfg;
        ims_sim_cfg_default(&cfg);
        k.set(cfg);
        std::string msg;
        try {
            ims::VtdIommu vtd("vtd", cfg);
        } catch (const ims::ConfigError &e) {
            msg = e.what();
        }
        ck_assert_msg(msg.rfind(std::string(k.key) + ":", 0) == 0, "%s: got '%s'", k.key, msg.c_str());
        ck_assert_msg(sc_core::sc_get_top_level_objects().empty(), "%s: objects were built", k.key);
    }
}
END_TEST

// Expected: load_config names the file and line of a bad value, and the
// setting that is bad; a good file and settings give the value asked for.
START_TEST(load_config_names_the_source)
{
    char path[] = "/tmp/ims_vtdcfgXXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "# a platform's IOMMU\nwalker.count = 0\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    std::string msg;
    try {
        ims::VtdIommu::load_config(path);
    } catch (const ims::ConfigError &e) {
        msg = e.what();
    }
    const std::string want = std::string(path) + ":2: walker.count: 0 is out of range [1, 1024]";
    ck_assert_str_eq(msg.c_str(), want.c_str());
    msg.clear();
    try {
        ims::VtdIommu::load_config("", {"regs.base=0x1000", "regs.base=0x1234"});
    } catch (const ims::ConfigError &e) {
        msg = e.what();
    }
    ck_assert_str_eq(msg.c_str(), "regs.base: 0x1234 is not a 4 KiB-aligned base below 0xffffffffffffe000");
    unlink(path);
    ck_assert_uint_eq(ims::VtdIommu::load_config("", {"regs.base=0x1000"}).regs_base, 0x1000);
    ims_sim_cfg def;
    ims_sim_cfg_default(&def);
    ck_assert_uint_eq(def.regs_base, ims::VtdRegs::kDefaultBase);
}
END_TEST

int main()
{
    Suite *s = suite_create("vtd_iommu");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, builds_from_settings);
    tcase_add_test(tc, one_fault_register);
    tcase_add_test(tc, refuses_what_it_cannot_serve);
    tcase_add_test(tc, load_config_names_the_source);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **)
{
    return 2;
}
