// A user's SystemC program against the installed iommusim::tlm (or
// `pkg-config iommusim-tlm`): every public header, the C ones included as
// they are (they carry their own extern "C"), and the TLM Iommu module with
// its memory and a data sink. One mapping is made through the replay engine
// and one device DMA goes through the Iommu's socket. Every C header has a
// function called, so that one without C linkage fails this link.
// Exit status 0 only if every result is the expected one.
#include <cstdio>
#include <cstring>

#include "iommusim/cache.h"
#include "iommusim/gen.h"
#include "iommusim/iommu.h"
#include "iommusim/mem.h"
#include "iommusim/qemu_vtd.h"
#include "iommusim/replay.h"
#include "iommusim/simcfg.h"
#include "iommusim/tb.h"
#include "iommusim/topo.h"
#include "iommusim/trace.h"
#include "iommusim/version.h"
#include "iommusim/vtd.h"
#include "iommusim/run.hpp"
#include "iommusim/tlm.hpp"

namespace {

constexpr std::uint16_t kRid = IMS_BDF(0, 3, 0);
constexpr std::uint16_t kDid = 1;
constexpr std::uint64_t kIova = 0x10000, kPa = 0x80000000;

struct Device : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Device> dma, ats;
    explicit Device(sc_core::sc_module_name n) : sc_module(n), dma("dma"), ats("ats") {}
};

int fail(const char *what, const char *detail = nullptr)
{
    std::fprintf(stderr, "tlm_iommu: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

// The C headers' functions that the model run below does not already call.
int check_c_linkage()
{
    ims_qemu_vtd_opts q;
    ims_qemu_vtd_opts_default(&q);
    ims_topo topo{};
    char err[128];
    if (std::strcmp(ims_repl_name(IMS_REPL_LRU), "lru") != 0 || ims_gen_kind_from_name("nvme") != IMS_GEN_NVME ||
        std::strcmp(ims_rec_kind_name(IMS_REC_MAP), "map") != 0 || ims_topo_check(&topo, err, sizeof err) != 0 ||
        std::strcmp(ims_tb_strerror(IMS_TB_OK), ims_tb_strerror(IMS_TB_ENOENT)) == 0 ||
        ims_sim_cfg_keys() == 0)
        return fail("a C header's function gave an unexpected answer");
    return 0;
}

int run()
{
    ims_sim_cfg cfg;
    ims_sim_cfg_default(&cfg);
    char err[256] = "";
    if (ims_sim_cfg_check(&cfg, err, sizeof err))
        return fail("default config", err);
    ims::Clock clk(cfg.clock_mhz);
    ims::Memory memory("memory", cfg, clk);
    ims::DataSink sink("sink");
    ims::Iommu iommu("iommu", cfg, clk);
    Device dev("dev");

    ims_replay_cfg rc;
    ims_replay_cfg_default(&rc);
    rc.iommu = cfg.iommu;
    rc.tb.caps = cfg.iommu.caps;
    ims_trace_hdr hdr{};
    ims_replay *rp = ims_replay_create(&hdr, &rc, &ims::Iommu::kMemOps, &iommu, err, sizeof err);
    if (!rp)
        return fail("replay", err);
    memory.bind_backing(ims_replay_mem(rp));
    iommu.bind_core(ims_replay_iommu(rp));
    dev.dma.bind(iommu.dma_in);
    dev.ats.bind(iommu.ats_in);
    iommu.dma_out.bind(sink.tsock);
    iommu.mem.bind(memory.tsock);
    if (!ims::run_kernel(sc_core::SC_ZERO_TIME).empty()) {  // elaborate (run_kernel: the installed tlm.hpp has it)
        std::fprintf(stderr, "tlm_iommu: a SystemC thread returned at elaboration\n");
        return 1;
    }

    int result = 0;
    ims_rec attach{}, map{};
    attach.kind = IMS_REC_ATTACH;
    attach.rid = kRid;
    attach.did = kDid;
    attach.levels = 4;
    attach.tt = IMS_TT_UNTRANSLATED;
    map.kind = IMS_REC_MAP;
    map.did = kDid;
    map.iova = kIova;
    map.pa = kPa;
    map.size = IMS_PAGE_SIZE;
    map.perm = IMS_PERM_RW;
    std::uint64_t pa = 0;
    unsigned perm = 0;
    if (ims_replay_control(rp, &attach, err, sizeof err) || ims_replay_control(rp, &map, err, sizeof err))
        result = fail("mapping", err);
    else if (ims_tb_lookup(ims_replay_tb(rp), kDid, kIova, &pa, &perm, nullptr) || pa != kPa || ims_mem_pages(ims_replay_mem(rp)) == 0)
        result = fail("table builder lookup");

    // A 64-byte device read at IOVA + 0x40: translated to PA + 0x40 after a
    // context miss and a walk, forwarded to the sink, with a latency.
    unsigned char buf[64] = {};
    ims::ReqExt ext;
    ext.rid = kRid;
    tlm::tlm_generic_payload t;
    t.set_extension(&ext);
    t.set_command(tlm::TLM_READ_COMMAND);
    t.set_address(kIova + 0x40);
    t.set_data_ptr(buf);
    t.set_data_length(sizeof buf);
    t.set_streaming_width(sizeof buf);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    if (result == 0) {
        dev.dma->b_transport(t, delay);
        if (t.get_response_status() != tlm::TLM_OK_RESPONSE || ext.xlate.pa != kPa + 0x40 ||
            !(ext.xlate.flags & IMS_XLATE_WALKED) || sink.requests() != 1 || ext.latency == 0 ||
            delay != clk.to_time(ext.latency) || ims_iommu_stats(ims_replay_iommu(rp))->translations != 1)
            result = fail("the DMA through the Iommu's socket was not translated as mapped");
        else
            std::printf("iova 0x%llx -> pa 0x%llx in %llu cycles (%s)\n",
                        static_cast<unsigned long long>(kIova + 0x40), static_cast<unsigned long long>(ext.xlate.pa),
                        static_cast<unsigned long long>(ext.latency), delay.to_string().c_str());
    }
    t.clear_extension(&ext);  // not the payload's to delete
    ims_replay_destroy(rp);
    return result;
}

}  // namespace

int sc_main(int, char **)
{
    int rc = check_c_linkage();
    if (rc == 0)
        rc = run();
    if (rc == 0)
        std::printf("iommusim %s (git %s), SystemC %s: ok\n", IMS_VERSION_STRING, IMS_GIT_DESCRIBE,
                    sc_core::sc_release());
    return rc;
}
