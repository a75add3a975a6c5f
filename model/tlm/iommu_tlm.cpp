// The IOMMU module: sockets and timing around the C core.
//
// Each request is first translated functionally by ims_translate() (table
// reads go out as transport_dbg), then timed from what the core reports:
// which caches hit, and the table reads it made, in order. Resources are
// availability timestamps, so no request ever waits in the SystemC scheduler.
#include "iommusim/tlm.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "inflight.hpp"
#include "walker_pool.hpp"

namespace ims {

// kMemOps: no read64_err (the trace replayer's: its ims::Memory answers every
// table read, and the unchecked walk is the cheaper one).
// kCheckedMemOps (ims::VtdIommu's): a table read the memory answers with an
// error (debug transport moving fewer bytes than asked, or an error response
// status) is the architectural access-error fault the core reports (VT-d
// 7.1.3, legacy-mode fault reasons 8h root table, 9h context table, 7h
// second-level paging entry).
const ims_mem_ops Iommu::kMemOps = {&Iommu::op_read, &Iommu::op_write, nullptr};
const ims_mem_ops Iommu::kCheckedMemOps = {&Iommu::op_read, &Iommu::op_write, &Iommu::op_read_err};

Iommu::Iommu(sc_core::sc_module_name name, const ims_sim_cfg &cfg, const Clock &clk)
    : sc_module(name),
      dma_in("dma_in", *this),
      ats_in("ats_in", *this),
      dma_out("dma_out"),
      mem("mem"),
      m_peq("peq"),
      m_cfg(cfg),
      m_clk(clk),
      m_fills(new InFlightFills),
      m_walkers(new WalkerPool(cfg.walkers, cfg.walk_queue)),
      m_port(new LookupPort(cfg.iotlb_ports)),
      m_dmi(kDmiFrames),
      m_walk_port(*this),
      m_tlm_walker(cfg)
{
    // walker.rtl_timing: the walk goes through walk_by(), not the hot path
    // (iommusim/walker.hpp, RtlTiming).
    if (m_tlm_walker.rtl_timing())
        m_walker = &m_tlm_walker;

    mem.register_invalidate_direct_mem_ptr(this, &Iommu::invalidate_dmi);
    m_mtrans.set_data_length(8);
    m_mtrans.set_streaming_width(8);
    m_mtrans.set_byte_enable_ptr(nullptr);
    m_mtrans.set_dmi_allowed(false);
    m_ttrans.set_data_length(8);
    m_ttrans.set_streaming_width(8);
    m_ttrans.set_byte_enable_ptr(nullptr);
    m_ttrans.set_dmi_allowed(false);
    SC_HAS_PROCESS(Iommu);
    SC_THREAD(nb_thread);
}

Iommu::~Iommu()
{
    m_mtrans.set_data_ptr(nullptr);
    m_ttrans.set_data_ptr(nullptr);
    if (m_dbg_core)
        ims_iommu_destroy(m_dbg_core);
}

std::uint32_t Iommu::walkers() const { return m_walkers->size(); }

std::uint64_t Iommu::op_read(void *ctx, std::uint64_t pa, ims_mem_kind)
{
    Iommu *self = static_cast<Iommu *>(ctx);
    const std::uint64_t fn = pa >> IMS_PAGE_SHIFT;
    const DmiFrame &f = self->m_dmi[fn & (kDmiFrames - 1)];
    if (f.fn == fn) {  // the core reads aligned 64-bit words
        std::uint64_t v;
        std::memcpy(&v, f.data + (pa & (IMS_PAGE_SIZE - 8)), 8);
        return v;  // little-endian host: the bytes are the value
    }
    return self->read_slow(pa, nullptr);
}

std::uint64_t Iommu::op_read_err(void *ctx, std::uint64_t pa, ims_mem_kind, bool *error)
{
    Iommu *self = static_cast<Iommu *>(ctx);
    const std::uint64_t fn = pa >> IMS_PAGE_SHIFT;
    const DmiFrame &f = self->m_dmi[fn & (kDmiFrames - 1)];
    if (f.fn == fn) {  // a DMI read cannot fail
        std::uint64_t v;
        std::memcpy(&v, f.data + (pa & (IMS_PAGE_SIZE - 8)), 8);
        return v;
    }
    return self->read_slow(pa, error);
}

// A table read in a frame with no DMI pointer yet: ask for one (a whole
// readable 4 KiB frame is kept), else read through debug transport. A read
// the memory answers with an error (fewer than 8 bytes, or an error status;
// a target may leave the status TLM_INCOMPLETE_RESPONSE) sets *error (if
// given) and reads 0.
std::uint64_t Iommu::read_slow(std::uint64_t pa, bool *error)
{
    const std::uint64_t fn = pa >> IMS_PAGE_SHIFT, base = fn << IMS_PAGE_SHIFT;
    tlm::tlm_generic_payload &t = m_mtrans;
    t.set_command(tlm::TLM_READ_COMMAND);
    t.set_address(pa);
    tlm::tlm_dmi dmi;
    if (mem->get_direct_mem_ptr(t, dmi) && dmi.is_read_allowed() && dmi.get_start_address() <= base &&
        dmi.get_end_address() >= base + (IMS_PAGE_SIZE - 1)) {
        DmiFrame &f = m_dmi[fn & (kDmiFrames - 1)];
        f.fn = fn;
        f.data = dmi.get_dmi_ptr() + (base - dmi.get_start_address());
        std::uint64_t v;
        std::memcpy(&v, f.data + (pa & (IMS_PAGE_SIZE - 8)), 8);
        return v;
    }
    std::uint64_t v = 0;
    t.set_data_ptr(reinterpret_cast<unsigned char *>(&v));
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    const unsigned n = mem->transport_dbg(t);
    if (__builtin_expect(n < 8 || t.get_response_status() < tlm::TLM_INCOMPLETE_RESPONSE, 0)) {
        if (error)
            *error = true;
        return 0;
    }
    return v;
}

// The memory revoked DMI for [start, end]: forget the frames inside it.
void Iommu::invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end)
{
    const std::uint64_t first = start >> IMS_PAGE_SHIFT, last = end >> IMS_PAGE_SHIFT;
    if (last - first >= kDmiFrames) {
        for (DmiFrame &f : m_dmi)
            f = DmiFrame{};
        return;
    }
    for (std::uint64_t fn = first; fn <= last; fn++) {
        DmiFrame &f = m_dmi[fn & (kDmiFrames - 1)];
        if (f.fn == fn)
            f = DmiFrame{};
    }
}

void Iommu::op_write(void *ctx, std::uint64_t pa, std::uint64_t val, ims_mem_kind kind)
{
    Iommu *self = static_cast<Iommu *>(ctx);
    if (kind == IMS_MEM_FAULT && self->m_ring_off)
        return;  // a register file records faults instead (set_fault_ring_writes)
    tlm::tlm_generic_payload &t = self->m_mtrans;
    t.set_command(tlm::TLM_WRITE_COMMAND);
    t.set_address(pa);
    t.set_data_ptr(reinterpret_cast<unsigned char *>(&val));
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    self->mem->transport_dbg(t);
    self->m_writes.push_back(pa);
}

// One timed access on the memory port at cycle t; returns its completion.
// The data already moved (functionally, by transport_dbg), so this is a
// TLM_IGNORE_COMMAND: the target charges time and moves nothing.
Cycles Iommu::mem_timed(Cycles t, std::uint64_t pa)
{
    // A socket request's pass (the common case) on a memory that charges in
    // cycles: no payload, no sc_time (the annotation below would arrive in cycle t
    // exactly: whole cycles added to the request's own arrival).
    Cycles done;
    if (__builtin_expect(m_flags == kBusy, 1) && t >= m_base_cycle && m_nw_mem &&
        m_nw_mem->ignore_at(m_clk, t, 8, &done))
        return done;
    tlm::tlm_generic_payload &tr = m_ttrans;
    tr.set_command(tlm::TLM_IGNORE_COMMAND);
    tr.set_address(pa);
    tr.set_data_ptr(reinterpret_cast<unsigned char *>(&m_mdata));
    tr.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay;
    if (__builtin_expect(m_flags == kBusy, 1) && t >= m_base_cycle) {  // a socket request's pass
        if (m_base_lazy) {  // time_direct's: it arrived in cycle m_base_cycle exactly
            m_base_delay = m_clk.to_time(m_base_cycle) - m_clk.now();
            m_base_lazy = false;
        }
        delay = m_base_delay + m_clk.to_time(t - m_base_cycle);
    } else {
        if ((m_flags & (kWatch | kBusy)) == (kWatch | kBusy) && m_clk.now().value() != m_stamp)
            time_moved();  // an earlier access waited: annotate from the current time
        delay = m_clk.to_time(std::max(t, m_now) - m_now);
    }
    mem->b_transport(tr, delay);
    return m_clk.arrival(delay);
}

// The memory called wait() in a timed access (docs/vtd.md, "TLM-2.0 rules"):
// later accesses of the same pass are annotated from the new current time.
void Iommu::time_moved()
{
    m_flags |= kMoved;
    m_now = m_clk.to_cycles(m_clk.now());
    m_stamp = m_clk.now().value();
}

void Iommu::translate(Cycles t, const ims_req &req, ReqExt &ext)
{
    m_now = m_clk.to_cycles(m_clk.now());  // time stands still until we return (unless a memory waits)
    if (__builtin_expect(m_pre_on, 0)) {  // the caller ran the core (set_precomputed)
        time_pass(t, req, ext.xlate, m_pre, ext);
        return;
    }
    m_writes.clear();
    ims_translate(m_core, &req, &ext.xlate);
    Precomputed own;  // (the timing below leaves the core alone)
    own.pf = ims_iommu_pf_log(m_core);
    own.writes = m_writes.data();
    own.n_writes = static_cast<unsigned>(m_writes.size());
    time_pass(t, req, ext.xlate, own, ext);
}

// Prefetch walks (a miss's, iotlb.prefetch, or a map hint's,
// iotlb.prefetch_on_map): each a chain of dependent reads from cycle
// `from` through the memory model, holding no walker; an entry it filled is
// usable once its leaf read arrives (a fill in flight since tin).
void Iommu::prefetch_walks(Cycles from, const ims_pf_log &log, Cycles tin)
{
    for (unsigned p = 0; p < log.n; p++) {
        const ims_pf_walk &w = log.w[p];
        Cycles at = from;
        for (unsigned k = 0; k < w.n_reads; k++)
            at = mem_timed(at, w.pa[k]);
        if (w.filled)
            m_fills->put(ims_key{w.iova >> w.shift, w.did, IMS_KEY_IOTLB, w.shift}, at, tin);
    }
}

void Iommu::time_map_hint(Cycles t, const ims_pf_log &log)
{
    if (log.n == 0)
        return;
    // Outside any request's pass: as time_direct enters one where the
    // memory never waits, else through the socket from the current time.
    const bool direct = m_flags == 0 && m_nw_mem;
    if (direct) {
        m_flags = kBusy;
        m_base_cycle = t;
        m_base_lazy = true;
    }
    m_now = m_clk.to_cycles(m_clk.now());
    prefetch_walks(t, log, t);
    if (direct) {
        m_base_lazy = false;
        m_flags = 0;
    }
}

bool Iommu::time_direct(Cycles t, const ims_req &req, const Precomputed &pre, ReqExt &ext)
{
    if (__builtin_expect(m_flags != 0 || !m_sink || !m_nw_mem, 0))
        return false;
    m_flags = kBusy;  // enter() .. leave(), with the pass's base set as translate_at() sets it
    m_base_cycle = t;
    m_base_lazy = true;
    m_now = m_clk.to_cycles(m_clk.now());
    time_pass(t, req, ext.xlate, pre, ext);
    m_base_lazy = false;
    m_flags = 0;  // (a memory that never waits cannot have moved time)
    if (!ext.xlate.fault && ext.xlate.len >= req.size)  // dma()'s tests before dma_out
        m_sink->count(req.size);
    return true;
}

__attribute__((always_inline)) inline void Iommu::time_pass(Cycles t, const ims_req &req, const ims_xlate &x,
                                                            const Precomputed &pre, ReqExt &ext)
{
    const ims_pf_log *const pf = pre.pf;
    const std::uint64_t *const writes = pre.writes;
    const std::size_t n_writes = pre.n_writes;
    m_st.requests++;

    Cycles tin = std::max(t, m_input_ready);
    m_st.input_stall_cycles += tin - t;
    tin = m_port->slot(tin);

    // Context: cache lookup, then root and context entry reads on a miss
    // (an entry's further words are part of the access its first word began).
    Cycles cur = tin + m_cfg.ctx_latency;
    unsigned i = 0;
    bool ctx_read = false;
    for (; i < x.n_reads && x.reads[i].kind != IMS_MEM_PTE; i++) {
        if (x.reads[i].cont)
            continue;
        cur = mem_timed(cur, x.reads[i].pa);
        ctx_read = true;
    }
    ims_key key;
    ims_xlate_ctx_key(&req, &x, &key);
    if (ctx_read)
        m_fills->put(key, cur, tin);
    else if (x.flags & IMS_XLATE_CTX_HIT) {
        const Cycles ready = m_fills->wait_for(key, cur);
        m_st.ctx_merged += ready > cur;
        cur = ready;
    }

    Cycles done = cur, queue = 0;
    bool merged = false;
    if (x.flags & IMS_XLATE_IOTLB_HIT) {
        const Cycles tt = cur + m_cfg.iotlb_latency;
        ims_xlate_leaf_key(&req, &x, &key);
        done = m_fills->wait_for(key, tt);
        merged = done > tt;
        m_st.merged += merged;
    } else if (x.flags & IMS_XLATE_WALKED) {
        const Cycles start = m_walkers->acquire(cur + m_cfg.iotlb_latency, &queue, &m_input_ready, &m_st.queued);
        Cycles w = start + m_cfg.psc_latency;
        if (x.psc_level) {
            ims_xlate_psc_key(&req, &x, &key);
            const Cycles ready = m_fills->wait_for(key, w);
            m_st.psc_merged[x.psc_level] += ready > w;
            w = ready;
        }
        const WalkJob job{&req, &x, i, start, w, ext.record, t};
        if (__builtin_expect(m_walker != nullptr, 0)) {
            done = walk_by(m_walker, job, tin);
        } else {
            // A read above the leaf fills a paging-structure-cache entry when its data arrives.
            done = m_tlm_walker.run(job, m_walk_port, [&](unsigned k, Cycles, Cycles arrived) {
                if (ims_xlate_read_key(&req, &x, i + k, &key))
                    m_fills->put(key, arrived, tin);
            });
        }
        m_walkers->release(done);
        // IOTLB prefetch walks of this miss (iotlb.prefetch; docs/timing.md,
        // "IOTLB prefetch"): each a chain of dependent reads from the demand
        // walk's end, through the memory model, holding no walker; its entry
        // is usable once its leaf read arrives (an earlier hit waits for it).
        if (const ims_pf_log *pl = pf)
            prefetch_walks(done, *pl, tin);

        if (!x.fault) {
            ims_xlate_leaf_key(&req, &x, &key);
            m_fills->put(key, done, tin);
        }
        m_st.walks++;
        m_st.walk_cycles += done - start;
        m_st.queue_cycles += queue;
        m_st.queue_max = std::max(m_st.queue_max, queue);
        if (m_observer)
            m_observer->on_walk(req, x, start, done);
    }
    // Fault records are posted writes: they use bandwidth, not the request's time.
    for (std::size_t k = 0; k < n_writes; k++)
        mem_timed(done, writes[k]);
    m_st.fault_writes += n_writes;

    ext.latency = done - t;
    ext.queue_delay = queue;
    ext.merged = merged;
}

// A walk timed (and perhaps made) by another walker than the built-in one
// (walker.impl rtl or lockstep; kept out of the hot path). Returns the cycle
// its result is ready.
Cycles Iommu::walk_by(Walker *walker, const WalkJob &job, Cycles tin)
{
    const ims_req &req = *job.req;
    ims_xlate &x = *const_cast<ims_xlate *>(job.x);  // the translation being made (translate()'s)
    WalkOutcome wo;
    walker->walk(job, m_walk_port, wo);
    ims_key key;
    for (unsigned k = 0; job.first + k < x.n_reads; k++)
        if (ims_xlate_read_key(&req, &x, job.first + k, &key))
            m_fills->put(key, wo.read_done[k], tin);
    if (wo.replaced)
        replace_result(req, wo, x);
    return wo.done;
}

// The walker made the walk itself (walker.impl = rtl): its answer is the one

// delivered. Where it differs from the core's, the walker has reported a
// mismatch; the caches keep what the core filled.
void Iommu::replace_result(const ims_req &req, const WalkOutcome &wo, ims_xlate &x)
{
    x.fault = wo.fault;
    if (wo.fault) {
        x.pa = 0;
        x.len = 0;
        x.perm = 0;
        x.page_shift = 0;
        return;
    }
    const std::uint64_t size = std::uint64_t{1} << wo.page_shift, left = size - (req.iova & (size - 1));
    x.pa = wo.pa;
    x.page_shift = wo.page_shift;
    x.perm = wo.perm;
    x.len = req.size < left ? req.size : static_cast<std::uint32_t>(left);
}

// translate() for a request arriving through a socket with annotation `delay`.

void Iommu::translate_at(const sc_core::sc_time &delay, const ims_req &req, ReqExt &ext)
{
    const Cycles t = m_clk.arrival(delay);
    m_base_cycle = t;  // valid while kBusy (enter() .. leave())
    m_base_delay = delay;
    translate(t, req, ext);
}

void Iommu::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay)
{
    if (__builtin_expect(m_xlate_off, 0)) {  // GCMD.TE clear: DMA is not remapped (VT-d 11.4.4)
        dma_out->b_transport(trans, delay);
        return;
    }
    ReqExt *ext = nullptr;
    trans.get_extension(ext);
    if (!ext) {
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    dma(trans, delay, ext->rid, ext->pasid, ext->at, *ext);
}

inline void Iommu::dma(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay, std::uint16_t rid,
                       std::uint32_t pasid, std::uint8_t at, ReqExt &ext)
{
    if (!m_core || (!trans.is_read() && !trans.is_write()) || trans.get_data_length() == 0) {
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    const std::uint64_t iova = trans.get_address();
    // The bytes the request touches: [iova, iova + min(streaming width,
    // length)) (IEEE 1666-2011 14.13: a streaming burst repeats the first
    // `streaming width` addresses). Byte enables do not change which page is
    // touched; they go on to dma_out with the request (docs/vtd.md, "TLM-2.0 rules").
    // A streaming width of 0 (which the base protocol does not allow) is taken as none.
    unsigned len = trans.get_data_length();
    const unsigned sw = trans.get_streaming_width();
    if (__builtin_expect(sw != len, 0) && sw - 1 < len - 1)  // 0 < sw < len
        len = sw;
    ims_req req{};
    req.rid = rid;
    req.pasid = pasid;
    req.iova = iova;
    req.size = len;
    req.access = trans.is_write() ? IMS_PERM_W : IMS_PERM_R;
    // AT (docs/vtd.md, "TLM-2.0 rules"): untranslated and translated requests
    // go to the core, which checks a translated one against the context
    // entry's TT (VT-d 9.3: only TT = 1, device TLB, admits it; else fault
    // Dh); a translation request belongs on ats_in.
    req.at = at;
    req.priv = ext.priv;
    req.exec = ext.exec;
    if (__builtin_expect(req.at == IMS_AT_TRANSLATION, 0)) {
        trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return;
    }
    enter(delay);  // TimeOrder::sync: waits until the arrival
    translate_at(delay, req, ext);
    if (__builtin_expect(leave(), 0)) {
        // A memory waited inside the timing pass: simulated time moved, so the
        // completion is annotated from the current time.
        const sc_core::sc_time done = m_clk.to_time(m_base_cycle + ext.latency), &now = m_clk.now();
        delay = done > now ? done - now : sc_core::SC_ZERO_TIME;
    } else {
        delay += m_clk.to_time(ext.latency);
    }
    if (ext.xlate.fault) {
        if (m_fault_sink)
            report_fault(req, ext.xlate);
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    // The translated request goes on to memory. A request crossing the end of
    // the translated page is an error here: initiators split at 4 KiB, as PCIe
    // requires.
    if (ext.xlate.len < len) {
        trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    trans.set_address(ext.xlate.pa);
    dma_out->b_transport(trans, delay);
    trans.set_address(iova);
}

void Iommu::b_transport_ats(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay)
{
    if (__builtin_expect(m_xlate_off, 0)) {  // no translation to give while TE is clear
        trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return;
    }
    ReqExt *ext = nullptr;
    trans.get_extension(ext);
    if (!ext || !m_core) {
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    ims_req req{};
    req.rid = ext->rid;
    req.pasid = ext->pasid;
    req.iova = trans.get_address();
    req.size = std::max(1u, trans.get_data_length());
    req.priv = ext->priv;
    req.exec = ext->exec;
    req.access = trans.is_write() ? IMS_PERM_W : IMS_PERM_R;
    req.at = IMS_AT_TRANSLATION;
    enter(delay);
    translate_at(delay, req, *ext);
    if (__builtin_expect(leave(), 0)) {  // a memory waited (see dma())
        const sc_core::sc_time done = m_clk.to_time(m_base_cycle + ext->latency), &now = m_clk.now();
        delay = done > now ? done - now : sc_core::SC_ZERO_TIME;
    } else {
        delay += m_clk.to_time(ext->latency);
    }
    if (ext->xlate.fault && m_fault_sink)
        report_fault(req, ext->xlate);
    trans.set_response_status(ext->xlate.fault ? tlm::TLM_ADDRESS_ERROR_RESPONSE : tlm::TLM_OK_RESPONSE);
}

}  // namespace ims

// ---- Register-file hookup (iommusim/vtd_regs.hpp) ----
namespace ims {

Cycles Iommu::mem_own(Cycles t, std::uint64_t pa, void *data, unsigned len, tlm::tlm_command cmd)
{
    tlm::tlm_generic_payload tr;
    tr.set_command(cmd);
    tr.set_address(pa);
    tr.set_data_ptr(static_cast<unsigned char *>(data));
    tr.set_data_length(len);
    tr.set_streaming_width(len);
    tr.set_byte_enable_ptr(nullptr);
    tr.set_dmi_allowed(false);
    tr.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time zero = sc_core::SC_ZERO_TIME;
    enter(zero);  // one timed access at a time (a memory may wait)
    // One b_transport that moves the data and is timed (not debug transport
    // plus a timed TLM_IGNORE_COMMAND): these accesses have effects a target
    // must see, an interrupt message above all, and debug transport is by
    // definition free of them (IEEE 1666-2011 11.3). No socket request's
    // arrival to annotate from: the delay counts from the current cycle.
    const Cycles now = m_clk.to_cycles(m_clk.now());
    sc_core::sc_time delay = m_clk.to_time(std::max(t, now) - now);
    mem->b_transport(tr, delay);
    const Cycles done = m_clk.arrival(delay);
    leave();
    return done;
}

Cycles Iommu::mem_read(Cycles t, std::uint64_t pa, void *data, unsigned len)
{
    return mem_own(t, pa, data, len, tlm::TLM_READ_COMMAND);
}

Cycles Iommu::mem_write(Cycles t, std::uint64_t pa, const void *data, unsigned len)
{
    // Debug transport takes a non-const pointer; a write only reads it.
    return mem_own(t, pa, const_cast<void *>(data), len, tlm::TLM_WRITE_COMMAND);
}

}  // namespace ims

namespace ims {

// A socket request faulted: the fault sink sees it unless FPD suppressed it
// (m_base_cycle is still the request's arrival cycle, from translate_at).
void Iommu::report_fault(const ims_req &req, const ims_xlate &x)
{
    if (!(x.flags & IMS_XLATE_FAULT_SUPPRESSED))
        m_fault_sink->on_fault(req, x, m_base_cycle);
}

}  // namespace ims

// ---- Debug transport (IEEE 1666-2011 11.3: no time passes, no side effects) ----
namespace ims {

// The debug core's writes (fault-ring records) go nowhere: a debug access records nothing.
void Iommu::op_discard(void *, std::uint64_t, std::uint64_t, ims_mem_kind) {}

const ims_mem_ops Iommu::kDbgOps = {&Iommu::op_read, &Iommu::op_discard, &Iommu::op_read_err};

void Iommu::set_root_table(std::uint64_t rtaddr)
{
    m_root = rtaddr & ~(IMS_PAGE_SIZE - 1);
    m_root_known = true;
    if (m_core)
        ims_iommu_set_root(m_core, m_root);
}

// A second core with the same configuration translates debug accesses: its
// caches are emptied before each one, so every debug translation is a walk
// of the tables in memory (it sees no stale entry of the real caches and
// leaves them as they were), and its statistics are its own.
ims_iommu *Iommu::debug_core()
{
    if (!m_core || !m_root_known)
        return nullptr;
    if (!m_dbg_core) {
        struct ims_iommu_cfg c = *ims_iommu_cfg(m_core);
        c.miss_classes = false;
        char err[256];
        m_dbg_core = ims_iommu_create(&c, &kDbgOps, this, err, sizeof err);
        if (!m_dbg_core)
            return nullptr;
    }
    ims_iommu_set_root(m_dbg_core, m_root);
    ims_iommu_set_scalable(m_dbg_core, ims_iommu_scalable(m_core));  // the mode SRTP latched (vtd_regs.hpp)
    ims_inv_context(m_dbg_core, IMS_INV_GLOBAL, 0, 0, 0);
    ims_inv_pasid_cache(m_dbg_core, IMS_PINV_GLOBAL, 0, 0);
    ims_inv_iotlb(m_dbg_core, IMS_INV_GLOBAL, 0, 0, 0, false);
    return m_dbg_core;
}

unsigned Iommu::transport_dbg(tlm::tlm_generic_payload &trans)
{
    ReqExt *ext = nullptr;
    trans.get_extension(ext);
    if (!ext) {
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return 0;
    }
    return debug_access(trans, ext->rid, ext->pasid, ext->at);
}

// Translates [address, + data length) page by page with the debug core and
// forwards each piece to dma_out's transport_dbg. Returns the bytes moved;
// a fault answers TLM_ADDRESS_ERROR_RESPONSE with the bytes before it.
unsigned Iommu::debug_access(tlm::tlm_generic_payload &trans, std::uint16_t rid, std::uint32_t pasid, std::uint8_t at)
{
    if (m_xlate_off)  // TE clear: not remapped
        return dma_out->transport_dbg(trans);
    if (!trans.is_read() && !trans.is_write()) {
        trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return 0;
    }
    ims_iommu *dc = debug_core();
    if (!dc) {  // no core, or the root table was set without set_root_table()
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return 0;
    }
    const std::uint64_t iova = trans.get_address();
    unsigned char *const data = trans.get_data_ptr();
    const unsigned len = trans.get_data_length();
    unsigned done = 0;
    tlm::tlm_response_status st = tlm::TLM_OK_RESPONSE;
    while (done < len) {
        ims_req req{};
        req.rid = rid;
        req.pasid = pasid;
        req.iova = iova + done;
        req.size = len - done;
        req.access = trans.is_write() ? IMS_PERM_W : IMS_PERM_R;
        req.at = at;
        ims_xlate x{};
        if (done)  // every piece from a clean cache: the same walk as the first
            debug_core();
        ims_translate(dc, &req, &x);
        if (x.fault || req.at == IMS_AT_TRANSLATION) {
            st = x.fault ? tlm::TLM_ADDRESS_ERROR_RESPONSE : tlm::TLM_COMMAND_ERROR_RESPONSE;
            break;
        }
        const unsigned piece = std::min<unsigned>(x.len, len - done);
        trans.set_address(x.pa);
        trans.set_data_ptr(data + done);
        trans.set_data_length(piece);
        trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        const unsigned n = dma_out->transport_dbg(trans);
        done += std::min(n, piece);
        if (n < piece) {
            st = trans.get_response_status() < tlm::TLM_INCOMPLETE_RESPONSE ? trans.get_response_status()
                                                                             : tlm::TLM_GENERIC_ERROR_RESPONSE;
            break;
        }
    }
    trans.set_address(iova);
    trans.set_data_ptr(data);
    trans.set_data_length(len);
    trans.set_response_status(st);
    return done;
}

}  // namespace ims

// ---- Time order, non-blocking transport, device sockets (docs/timing.md
// "Time order", docs/vtd.md "TLM-2.0 rules") ----
namespace ims {

namespace {
// wait() is allowed: the caller is a thread process of a running simulation.
bool in_thread()
{
    if (!(sc_core::sc_get_status() & sc_core::SC_RUNNING))
        return false;
    const sc_core::sc_process_handle h = sc_core::sc_get_current_process_handle();
    return h.valid() && (h.proc_kind() == sc_core::SC_THREAD_PROC_ || h.proc_kind() == sc_core::SC_CTHREAD_PROC_);
}
}  // namespace

void Iommu::set_time_order(TimeOrder o)
{
    if (o == TimeOrder::sync)
        m_flags |= kSync;
    else
        m_flags &= static_cast<std::uint8_t>(~kSync);
}

bool Iommu::leave_slow()
{
    const bool moved = m_flags & kMoved;
    m_flags &= static_cast<std::uint8_t>(~(kBusy | kMoved));
    if (m_flags & kWaiters)
        m_idle.notify();
    return moved;
}

// An ims::Memory on `mem` never waits: its timed accesses need no check
// that simulated time moved (the trace player's hot path).
void Iommu::end_of_elaboration()
{
    m_nw_mem = dynamic_cast<NeverWaits *>(mem.get_interface());
    if (m_nw_mem == nullptr)
        m_flags |= kWatch;
    if (auto *o = dynamic_cast<SocketOwner *>(dma_out.get_interface()))
        m_sink = dynamic_cast<DataSink *>(o->owner_object());
}

// TimeOrder::sync: a request from a thread waits until its arrival time, so
// requests are timed in the order of their arrival whatever their
// initiators' local time offsets. Then (either order) one request at a time:
// another thread's request still in its timing pass (its memory waited) is
// waited for.
void Iommu::enter_slow(sc_core::sc_time &delay)
{
    const bool thread = in_thread();
    if ((m_flags & kSync) && thread && delay != sc_core::SC_ZERO_TIME) {
        sc_core::wait(delay);
        delay = sc_core::SC_ZERO_TIME;
    }
    while (m_flags & kBusy) {
        if (!thread) {
            SC_REPORT_ERROR(name(), "a request from outside a thread process while another request's memory "
                                    "access waits: call nb_transport_fw (which the IOMMU serves from its own thread)");
            return;
        }
        m_waiters++;
        m_flags |= kWaiters;
        sc_core::wait(m_idle);
        if (--m_waiters == 0)
            m_flags &= static_cast<std::uint8_t>(~kWaiters);
    }
    m_flags |= kBusy;
    m_stamp = m_clk.now().value();  // (kWatch: time_moved() compares with it)
}

// BEGIN_REQ from a process: accepted at once (TLM_UPDATED, END_REQ), served
// at its arrival time by nb_thread (which may wait: the memory's
// b_transport may), answered with BEGIN_RESP on the backward path. Outside
// any process (no scheduler to complete it later) it completes at once.
tlm::tlm_sync_enum Iommu::nb_fw(tlm::tlm_generic_payload &trans, tlm::tlm_phase &phase, sc_core::sc_time &delay,
                                const NbSrc &src)
{
    if (phase == tlm::BEGIN_REQ) {
        if (!(sc_core::sc_get_status() & sc_core::SC_RUNNING)) {
            serve(trans, delay, src);
            phase = tlm::END_RESP;
            return tlm::TLM_COMPLETED;
        }
        if (trans.has_mm())
            trans.acquire();
        m_nb[&trans] = src;
        m_peq.notify(trans, delay);
        phase = tlm::END_REQ;
        return tlm::TLM_UPDATED;
    }
    if (phase == tlm::END_RESP && &trans == m_resp_open) {
        m_resp_open = nullptr;
        if (trans.has_mm())
            trans.release();
        m_end_resp.notify();
        return tlm::TLM_COMPLETED;
    }
    SC_REPORT_ERROR(name(), "nb_transport_fw: unexpected phase (BEGIN_REQ, or END_RESP after BEGIN_RESP)");
    return tlm::TLM_COMPLETED;
}

tlm::tlm_sync_enum Iommu::nb_transport_fw(tlm::tlm_generic_payload &trans, tlm::tlm_phase &phase,
                                          sc_core::sc_time &delay)
{
    return nb_fw(trans, phase, delay, NbSrc{&dma_in, false, 0});
}

void Iommu::serve(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay, const NbSrc &src)
{
    if (src.fixed)
        dev_b_transport(trans, delay, src.rid);
    else
        b_transport(trans, delay);
}

void Iommu::nb_thread()
{
    for (;;) {
        sc_core::wait(m_peq.get_event());
        while (tlm::tlm_generic_payload *t = m_peq.get_next_transaction()) {
            const auto it = m_nb.find(t);
            const NbSrc src = it->second;
            m_nb.erase(it);
            sc_core::sc_time d = sc_core::SC_ZERO_TIME;
            serve(*t, d, src);
            // Response exclusion (IEEE 1666-2011 15.2.6): one BEGIN_RESP open at a time.
            while (m_resp_open)
                sc_core::wait(m_end_resp);
            tlm::tlm_phase ph = tlm::BEGIN_RESP;
            const tlm::tlm_sync_enum r = (*src.sock)->nb_transport_bw(*t, ph, d);
            if (r == tlm::TLM_ACCEPTED || (r == tlm::TLM_UPDATED && ph == tlm::BEGIN_RESP))
                m_resp_open = t;  // END_RESP comes on the forward path
            else if (t->has_mm())
                t->release();
        }
    }
}

// One device's socket: its requests get requester ID `rid`.
class Iommu::DevPort : public tlm::tlm_fw_transport_if<> {
public:
    DevPort(const char *name, Iommu &owner, std::uint16_t rid) : sock(name), m_owner(owner), m_rid(rid)
    {
        sock.bind(*this);
    }
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) override
    {
        m_owner.dev_b_transport(trans, delay, m_rid);
    }
    tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload &trans, tlm::tlm_phase &phase,
                                       sc_core::sc_time &delay) override
    {
        return m_owner.nb_fw(trans, phase, delay, NbSrc{&sock, true, m_rid});
    }
    bool get_direct_mem_ptr(tlm::tlm_generic_payload &, tlm::tlm_dmi &dmi) override
    {
        dmi.allow_none();  // every access must be translated
        return false;
    }
    unsigned transport_dbg(tlm::tlm_generic_payload &trans) override { return m_owner.dev_transport_dbg(trans, m_rid); }
    tlm::tlm_target_socket<32> sock;

private:
    Iommu &m_owner;
    std::uint16_t m_rid;
};

tlm::tlm_target_socket<32> &Iommu::device_socket(std::uint16_t rid)
{
    sc_core::sc_simcontext *ctx = sc_core::sc_get_curr_simcontext();
    if (ctx->elaboration_done())
        SC_REPORT_ERROR(name(), "device_socket: called after elaboration (create device sockets in the platform's "
                                "constructor)");
    char nm[32];
    std::snprintf(nm, sizeof nm, "dev_%04x_%zu", rid, m_dev_ports.size());
    ctx->hierarchy_push(this);  // the socket is the IOMMU's child
    try {
        m_dev_ports.emplace_back(new DevPort(nm, *this, rid));
    } catch (...) {
        ctx->hierarchy_pop();
        throw;
    }
    ctx->hierarchy_pop();
    return m_dev_ports.back()->sock;
}

void Iommu::dev_b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay, std::uint16_t rid)
{
    if (m_xlate_off) {
        dma_out->b_transport(trans, delay);
        return;
    }
    ReqExt *ext = nullptr;
    trans.get_extension(ext);
    if (ext)
        dma(trans, delay, rid, ext->pasid, ext->at, *ext);
    else
        dma(trans, delay, rid, IMS_NO_PASID, IMS_AT_UNTRANSLATED, m_noext);
}

unsigned Iommu::dev_transport_dbg(tlm::tlm_generic_payload &trans, std::uint16_t rid)
{
    ReqExt *ext = nullptr;
    trans.get_extension(ext);
    return ext ? debug_access(trans, rid, ext->pasid, ext->at)
               : debug_access(trans, rid, IMS_NO_PASID, IMS_AT_UNTRANSLATED);
}

}  // namespace ims
