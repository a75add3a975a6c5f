// One-step construction of a VT-d remapping unit (iommusim/vtd_iommu.hpp).
#include "iommusim/vtd_iommu.hpp"

namespace ims {

namespace {

// The core's configuration: the caches' random-replacement seeds follow
// `seed` as in `iommusim run` (tools/cmd_run.cpp), so one configuration
// gives the same replacement choices in both.
struct ims_iommu_cfg core_cfg(const ims_sim_cfg &c)
{
    struct ims_iommu_cfg ic = c.iommu;
    ic.ctx_cache.seed = c.seed ^ 0x1;
    ic.iotlb.seed = c.seed ^ 0x2;
    for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
        ic.psc[l].seed = c.seed ^ (0x10 + l);
    return ic;
}

const char *walker_name(std::uint8_t w) { return w == IMS_WALKER_RTL ? "rtl" : "lockstep"; }

// The register file records faults in its fault-recording registers and
// turns the core's in-memory fault ring off (VtdRegs), so the ring's size
// must not limit caps.nfr: where it would follow caps.nfr = 1 (too small for
// a ring, which keeps one slot free) it gets the smallest size instead.
ims_sim_cfg unused_ring(ims_sim_cfg c)
{
    if (c.iommu.fq_records == 0 && c.iommu.caps.nfr < 2)
        c.iommu.fq_records = 2;
    return c;
}

}  // namespace

detail::CheckedSimCfg::CheckedSimCfg(const ims_sim_cfg &c) : m_cfg(unused_ring(c))
{
    char err[512];
    if (ims_sim_cfg_check(&m_cfg, err, sizeof err))
        throw ConfigError(err);
    if (m_cfg.walker_impl != IMS_WALKER_TLM)
        throw ConfigError(std::string("walker.impl: ") + walker_name(m_cfg.walker_impl) +
                          " is not available in ims::VtdIommu (only tlm: the RTL walker is set up by `iommusim run`)");
    // What the core itself refuses, before anything is built: a core made
    // and dropped here (it touches no memory when created).
    const struct ims_iommu_cfg ic = core_cfg(m_cfg);
    ims_iommu *probe = ims_iommu_create(&ic, &Iommu::kCheckedMemOps, nullptr, err, sizeof err);
    if (!probe)
        throw ConfigError(err);
    ims_iommu_destroy(probe);
}

ims_sim_cfg VtdIommu::load_config(const std::string &path, const std::vector<std::string> &sets)
{
    ims_sim_cfg c;
    ims_sim_cfg_default(&c);
    char err[512];
    if (!path.empty() && ims_sim_cfg_load(&c, path.c_str(), err, sizeof err))
        throw ConfigError(err);
    for (const std::string &s : sets)
        if (ims_sim_cfg_set_kv(&c, s.c_str(), "set", err, sizeof err))
            throw ConfigError(err);
    c = unused_ring(c);
    if (ims_sim_cfg_check(&c, err, sizeof err))
        throw ConfigError(path.empty() ? std::string(err) : path + ": " + err);
    return c;
}

VtdIommu::VtdIommu(sc_core::sc_module_name name, const ims_sim_cfg &cfg)
    : CheckedSimCfg(cfg),
      sc_module(name),
      m_clk(m_cfg.clock_mhz),
      iommu("iommu", m_cfg, m_clk),
      vtd("regs_file", iommu, m_cfg, m_cfg.regs_base),
      regs(vtd.regs),
      dma_in(iommu.dma_in),
      ats_in(iommu.ats_in),
      dma_out(iommu.dma_out),
      mem(iommu.mem)
{
    char err[512];
    const struct ims_iommu_cfg ic = core_cfg(m_cfg);
    m_core = ims_iommu_create(&ic, &Iommu::kCheckedMemOps, &iommu, err, sizeof err);
    sc_assert(m_core);  // the same configuration was accepted by CheckedSimCfg
    iommu.bind_core(m_core);
    // Initiators of a platform may be temporally decoupled (docs/timing.md, "Time order").
    iommu.set_time_order(Iommu::TimeOrder::sync);
}

VtdIommu::~VtdIommu()
{
    iommu.bind_core(nullptr);
    ims_iommu_destroy(m_core);
}

}  // namespace ims
