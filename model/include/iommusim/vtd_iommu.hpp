// A drop-in VT-d remapping unit for a SystemC virtual platform, built in one
// step from a configuration: the C core, the timing Iommu and the VtdRegs
// register file, with their sockets exposed. docs/vtd.md, "Using it in a
// platform", says what the platform binds and what the module requires.
//
//   ims::VtdIommu vtd("vtd", ims::VtdIommu::load_config("my.cfg", {"walker.count=8"}));
//   bus.bind(vtd.regs); dev.bind(vtd.dma_in); vtd.dma_out.bind(mem); vtd.mem.bind(mem);
//
// Contract:
// - A configuration the module cannot serve is refused before any SystemC
//   object is built: the constructor (and load_config) throw ims::ConfigError,
//   whose what() names the key ("walker.count: 0 is out of range [1, 1024]";
//   from a file "path:line: key: ..."). Refused: every value outside its
//   key's range (docs/config.md), every cross-key check `iommusim run` makes
//   (ims_sim_cfg_check), and walker.impl other than tlm (the RTL walker needs
//   the trace replayer's co-simulation set-up).
// - The register file's window is at regs.base (default 0xfed90000) on `regs`.
//   The core's in-memory fault ring is off (VtdRegs: faults go to the
//   fault-recording registers), so fault.queue_base is never written;
//   tables.*, player.*, fault.drain_every and cosim.* are the trace
//   replayer's and unused here: the driver writes its own tables.
// - Requests are timed in the order of their arrival (sc_time_stamp() +
//   delay) whatever the initiators' temporal decoupling: the module sets
//   Iommu::TimeOrder::sync (iommu.set_time_order(caller) undoes it for
//   initiators that arrive in time order).
// - Table reads, invalidation-queue fetches and interrupt writes go out on
//   `mem`; the memory there must answer debug transport (the core's
//   functional reads) as well as b_transport.
#ifndef IMS_VTD_IOMMU_HPP
#define IMS_VTD_IOMMU_HPP

#include <stdexcept>
#include <string>
#include <vector>

#include "iommusim/tlm.hpp"
#include "iommusim/vtd_regs.hpp"

namespace ims {

// A configuration the module cannot serve; what() names the key.
class ConfigError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

namespace detail {
// The checked configuration, a base of VtdIommu so that the check runs
// before sc_module (and so any SystemC object) is constructed.
struct CheckedSimCfg {
    explicit CheckedSimCfg(const ims_sim_cfg &c);
    const ims_sim_cfg m_cfg;
};
}  // namespace detail

class VtdIommu : private detail::CheckedSimCfg, public sc_core::sc_module {
public:
    // The built-in defaults, then the file at path (none if empty), then each
    // "key=value" of sets in order, then the checks. Throws ConfigError
    // ("path:line: key: ...", "set: key: ...", or "key: ...").
    static ims_sim_cfg load_config(const std::string &path, const std::vector<std::string> &sets = {});

    VtdIommu(sc_core::sc_module_name name, const ims_sim_cfg &cfg);
    ~VtdIommu() override;

    const ims_sim_cfg &config() const { return m_cfg; }
    const Clock &clock() const { return m_clk; }
    ims_iommu *core() const { return m_core; }

private:
    Clock m_clk;
    ims_iommu *m_core = nullptr;

public:
    Iommu iommu;   // timing model (its stats, invalidation calls)
    VtdRegs vtd;   // register file (its stats, irq_pending)

    // What a platform binds (references to the parts' sockets):
    decltype(VtdRegs::regs) &regs;     // target: the register window at regs.base
    decltype(Iommu::dma_in) &dma_in;   // target: device DMA (untranslated addresses)
    decltype(Iommu::ats_in) &ats_in;   // target: ATS translation requests
    decltype(Iommu::dma_out) &dma_out; // initiator: translated DMA, to memory
    decltype(Iommu::mem) &mem;         // initiator: the IOMMU's own memory accesses

    // A target socket for one device that carries no ims::ReqExt: its
    // requests have requester ID rid (Iommu::device_socket; docs/vtd.md,
    // "TLM-2.0 rules"). A new socket per call; call before elaboration ends.
    tlm::tlm_target_socket<32> &device_socket(std::uint16_t rid) { return iommu.device_socket(rid); }
};

}  // namespace ims

#endif  // IMS_VTD_IOMMU_HPP
