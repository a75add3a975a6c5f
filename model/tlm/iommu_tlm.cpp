// The IOMMU module: sockets and timing around the C core.
//
// Each request is first translated functionally by ims_translate() (table
// reads go out as transport_dbg), then timed from what the core reports:
// which caches hit, and the table reads it made, in order. Resources are
// availability timestamps, so no request ever waits in the SystemC scheduler.
#include "iommusim/tlm.hpp"

#include <algorithm>
#include <cstring>

namespace ims {

// Entries being filled by walks in flight: (kind, dom, tag, shift) -> the
// cycle the filled entry becomes usable. A lookup that hits an entry before
// that cycle waits for it: that is how misses to one page merge into one walk.
// Open addressing; expired entries are dropped when the table is rebuilt.
class Iommu::Pending {
public:
    enum Kind : std::uint8_t { kCtx = 0, kIotlb = 1, kPsc = 2 /* + level */ };

    Pending() : m_tab(1024) {}

    void put(std::uint8_t kind, std::uint32_t dom, std::uint64_t tag, std::uint8_t shift, Cycles ready, Cycles now)
    {
        if (2 * (m_count + 1) > m_tab.size())
            rebuild(now);
        Entry *e = find(kind, dom, tag, shift);
        if (!e->used) {
            *e = Entry{tag, ready, dom, kind, shift, 1};
            m_count++;
        } else {
            e->ready = std::max(e->ready, ready);
        }
        m_max_ready = std::max(m_max_ready, ready);
        Cycles &m = m_class_max[kind][shift & 63];
        m = std::max(m, ready);
    }

    // Is any fill still in flight after cycle t?
    bool busy_after(Cycles t) const { return m_max_ready > t; }

    // max(t, ready of (kind, dom, tag, shift)): the hash probe is skipped
    // when no fill of this kind and shift can still be in flight at t.
    Cycles wait_for(std::uint8_t kind, std::uint32_t dom, std::uint64_t tag, std::uint8_t shift, Cycles t)
    {
        if (m_class_max[kind][shift & 63] <= t)
            return t;
        const Entry *e = find(kind, dom, tag, shift);
        return e->used ? std::max(t, e->ready) : t;
    }

    // Latest ready cycle after `now` among entries of `kinds` (bit mask) in
    // domain `dom` (any if dom < 0) overlapping [lo, hi]; 0 if none.
    Cycles latest(unsigned kinds, long dom, std::uint64_t lo, std::uint64_t hi, Cycles now) const
    {
        if (m_max_ready <= now)
            return 0;  // nothing is in flight: the common case
        Cycles r = 0;
        for (const Entry &e : m_tab) {
            if (!e.used || !(kinds & (1u << e.kind)) || (dom >= 0 && e.dom != static_cast<std::uint32_t>(dom)))
                continue;
            const std::uint64_t first = e.tag << e.shift;
            const std::uint64_t last = first + ((std::uint64_t{1} << e.shift) - 1);
            if (first <= hi && last >= lo)
                r = std::max(r, e.ready);
        }
        return r;
    }

private:
    struct Entry {
        std::uint64_t tag;
        Cycles ready;
        std::uint32_t dom;
        std::uint8_t kind, shift, used;
    };

    Entry *find(std::uint8_t kind, std::uint32_t dom, std::uint64_t tag, std::uint8_t shift)
    {
        std::uint64_t h = (tag * 0x9e3779b97f4a7c15ull) ^ (static_cast<std::uint64_t>(dom) << 20) ^
                          (static_cast<std::uint64_t>(kind) << 8) ^ shift;
        h ^= h >> 29;
        const std::size_t mask = m_tab.size() - 1;
        for (std::size_t i = h & mask;; i = (i + 1) & mask) {
            Entry &e = m_tab[i];
            if (!e.used || (e.tag == tag && e.dom == dom && e.kind == kind && e.shift == shift))
                return &e;
        }
    }

    void rebuild(Cycles now)
    {
        std::vector<Entry> old;
        old.swap(m_tab);
        std::size_t live = 0;
        for (const Entry &e : old)
            live += e.used && e.ready > now;
        std::size_t size = old.size();
        while (4 * (live + 1) > size)
            size *= 2;
        m_tab.assign(size, Entry{});
        m_count = 0;
        for (const Entry &e : old) {
            if (e.used && e.ready > now) {
                *find(e.kind, e.dom, e.tag, e.shift) = e;
                m_count++;
            }
        }
    }

    std::vector<Entry> m_tab;
    std::size_t m_count = 0;
    Cycles m_max_ready = 0;  // latest ready cycle ever put
    static constexpr unsigned kKinds = kPsc + IMS_MAX_LEVELS + 1;
    Cycles m_class_max[kKinds][64] = {};  // the same, per kind and shift
};

const ims_mem_ops Iommu::kMemOps = {&Iommu::op_read, &Iommu::op_write};

Iommu::Iommu(sc_core::sc_module_name name, const ims_sim_cfg &cfg, const Clock &clk)
    : sc_module(name),
      dma_in("dma_in", *this),
      ats_in("ats_in", *this),
      dma_out("dma_out"),
      mem("mem"),
      m_cfg(cfg),
      m_clk(clk),
      m_pending(new Pending),
      m_walker_free(cfg.walkers, 0),
      m_dmi(kDmiFrames)
{
    mem.register_invalidate_direct_mem_ptr(this, &Iommu::invalidate_dmi);
    m_mtrans.set_data_length(8);
    m_mtrans.set_streaming_width(8);
    m_mtrans.set_byte_enable_ptr(nullptr);
    m_mtrans.set_dmi_allowed(false);
}

Iommu::~Iommu() { m_mtrans.set_data_ptr(nullptr); }

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
    return self->read_slow(pa);
}

// A table read in a frame with no DMI pointer yet: ask for one (a whole
// readable 4 KiB frame is kept), else read through debug transport.
std::uint64_t Iommu::read_slow(std::uint64_t pa)
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
    mem->transport_dbg(t);
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

void Iommu::op_write(void *ctx, std::uint64_t pa, std::uint64_t val, ims_mem_kind)
{
    Iommu *self = static_cast<Iommu *>(ctx);
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
    tlm::tlm_generic_payload &tr = m_mtrans;
    tr.set_command(tlm::TLM_IGNORE_COMMAND);
    tr.set_address(pa);
    tr.set_data_ptr(reinterpret_cast<unsigned char *>(&m_mdata));
    tr.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay;
    if (m_base_valid && t >= m_base_cycle)
        delay = m_base_delay + m_clk.to_time(t - m_base_cycle);
    else
        delay = m_clk.to_time(std::max(t, m_now) - m_now);
    mem->b_transport(tr, delay);
    return m_clk.arrival(delay);
}

// The lookup pipeline accepts iotlb_ports lookups per cycle.
Cycles Iommu::port_slot(Cycles t)
{
    if (t > m_port_cycle) {
        m_port_cycle = t;
        m_port_used = 0;
    }
    if (m_port_used >= m_cfg.iotlb_ports) {
        m_port_cycle++;
        m_port_used = 0;
    }
    m_port_used++;
    return m_port_cycle;
}

// Takes the walker that frees first. Misses that must wait sit in a bounded
// FIFO; when it is full the input stalls until the oldest waiting walk starts.
Cycles Iommu::acquire_walker(Cycles t, Cycles *queue_wait)
{
    auto it = std::min_element(m_walker_free.begin(), m_walker_free.end());
    m_walker = static_cast<std::size_t>(it - m_walker_free.begin());
    const Cycles start = std::max(t, *it);
    if (start > t) {
        while (m_queue_head < m_queue.size() && m_queue[m_queue_head] <= t)
            m_queue_head++;
        if (m_queue_head > 4096 && 2 * m_queue_head > m_queue.size()) {
            m_queue.erase(m_queue.begin(), m_queue.begin() + static_cast<long>(m_queue_head));
            m_queue_head = 0;
        }
        const std::size_t waiting = m_queue.size() - m_queue_head;
        if (waiting >= m_cfg.walk_queue) {
            const Cycles until = m_cfg.walk_queue ? m_queue[m_queue_head] : start;
            m_input_ready = std::max(m_input_ready, until);
        }
        if (m_cfg.walk_queue)
            m_queue.push_back(start);
        m_st.queued++;
    }
    *queue_wait = start - t;
    return start;
}

void Iommu::translate(Cycles t, const ims_req &req, ReqExt &ext)
{
    ims_xlate &x = ext.xlate;
    m_now = m_clk.to_cycles(m_clk.now());  // time stands still until we return
    m_writes.clear();
    ims_translate(m_core, &req, &x);
    m_st.requests++;

    Cycles tin = std::max(t, m_input_ready);
    m_st.input_stall_cycles += tin - t;
    tin = port_slot(tin);

    // Context: cache lookup, then root and context entry reads on a miss.
    Cycles cur = tin + m_cfg.ctx_latency;
    unsigned i = 0;
    bool ctx_read = false;
    // A 128-bit root or context entry is one memory access, even if the core
    // reads it as two 64-bit words.
    for (; i < x.n_reads && x.reads[i].kind != IMS_MEM_PTE; i++) {
        if (i > 0 && x.reads[i].kind == x.reads[i - 1].kind && (x.reads[i].pa >> 4) == (x.reads[i - 1].pa >> 4))
            continue;
        cur = mem_timed(cur, x.reads[i].pa);
        ctx_read = true;
    }
    if (ctx_read)
        m_pending->put(Pending::kCtx, req.rid, x.did, 0, cur, tin);
    else if (x.flags & IMS_XLATE_CTX_HIT)
        cur = m_pending->wait_for(Pending::kCtx, req.rid, x.did, 0, cur);

    Cycles done = cur, queue = 0;
    bool merged = false;
    if (x.flags & IMS_XLATE_IOTLB_HIT) {
        const Cycles tt = cur + m_cfg.iotlb_latency;
        done = m_pending->wait_for(Pending::kIotlb, x.did, req.iova >> x.page_shift, x.page_shift, tt);
        merged = done > tt;
        m_st.merged += merged;
    } else if (x.flags & IMS_XLATE_WALKED) {
        const Cycles start = acquire_walker(cur + m_cfg.iotlb_latency, &queue);
        Cycles w = start + m_cfg.psc_latency;
        if (x.psc_level) {
            const unsigned l = x.psc_level;
            w = m_pending->wait_for(static_cast<std::uint8_t>(Pending::kPsc + l), x.did, req.iova >> ims_level_shift(l),
                                    static_cast<std::uint8_t>(ims_level_shift(l)), w);
        }
        for (; i < x.n_reads; i++) {
            w = mem_timed(w + m_cfg.walk_step, x.reads[i].pa);
            const unsigned l = x.reads[i].level;
            if (l >= 2)
                m_pending->put(static_cast<std::uint8_t>(Pending::kPsc + l), x.did, req.iova >> ims_level_shift(l),
                               static_cast<std::uint8_t>(ims_level_shift(l)), w, tin);
        }
        done = w + m_cfg.fill_latency;
        m_walker_free[m_walker] = done;
        if (!x.fault)
            m_pending->put(Pending::kIotlb, x.did, req.iova >> x.page_shift, x.page_shift, done, tin);
        m_st.walks++;
        m_st.walk_cycles += done - start;
        m_st.queue_cycles += queue;
        m_st.queue_max = std::max(m_st.queue_max, queue);
        if (m_observer)
            m_observer->on_walk(req, x, start, done);
    }
    // Fault records are posted writes: they use bandwidth, not the request's time.
    for (const std::uint64_t pa : m_writes)
        mem_timed(done, pa);
    m_st.fault_writes += m_writes.size();

    ext.latency = done - t;
    ext.queue_delay = queue;
    ext.merged = merged;
}

// translate() for a request arriving through a socket with annotation `delay`.
void Iommu::translate_at(const sc_core::sc_time &delay, const ims_req &req, ReqExt &ext)
{
    const Cycles t = m_clk.arrival(delay);
    m_base_valid = true;
    m_base_cycle = t;
    m_base_delay = delay;
    translate(t, req, ext);
    m_base_valid = false;
}

void Iommu::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay)
{
    ReqExt *ext = nullptr;
    trans.get_extension(ext);
    if (!ext || !m_core || (!trans.is_read() && !trans.is_write()) || trans.get_data_length() == 0) {
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    const std::uint64_t iova = trans.get_address();
    const unsigned len = trans.get_data_length();
    ims_req req{};
    req.rid = ext->rid;
    req.pasid = ext->pasid;
    req.iova = iova;
    req.size = len;
    req.access = trans.is_write() ? IMS_PERM_W : IMS_PERM_R;
    req.at = IMS_AT_UNTRANSLATED;
    translate_at(delay, req, *ext);
    delay += m_clk.to_time(ext->latency);
    if (ext->xlate.fault) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    // The translated request goes on to memory. A request crossing the end of
    // the translated page is an error here: initiators split at 4 KiB, as PCIe
    // requires.
    if (ext->xlate.len < len) {
        trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    trans.set_address(ext->xlate.pa);
    dma_out->b_transport(trans, delay);
    trans.set_address(iova);
}

void Iommu::b_transport_ats(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay)
{
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
    req.access = trans.is_write() ? IMS_PERM_W : IMS_PERM_R;
    req.at = IMS_AT_TRANSLATION;
    translate_at(delay, req, *ext);
    delay += m_clk.to_time(ext->latency);
    trans.set_response_status(ext->xlate.fault ? tlm::TLM_ADDRESS_ERROR_RESPONSE : tlm::TLM_OK_RESPONSE);
}

Cycles Iommu::invalidate_iotlb(Cycles t, ims_inv_gran gran, std::uint16_t did, std::uint64_t addr, std::uint8_t am,
                               bool ih)
{
    const Cycles tin = std::max(t, m_input_ready);
    Cycles drained = tin;
    if (m_cfg.inv_policy == IMS_INV_DRAIN && m_pending->busy_after(tin)) {
        // With the hint (ih) only leaves change: paging-structure fills in
        // flight are out of scope.
        unsigned kinds = 1u << Pending::kIotlb;
        if (!ih || gran != IMS_INV_PAGE)
            for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
                kinds |= 1u << (Pending::kPsc + l);
        std::uint64_t lo = 0, hi = UINT64_MAX;
        if (gran == IMS_INV_PAGE) {
            const unsigned s = 12u + am;
            lo = s >= 64 ? 0 : (addr >> s) << s;
            hi = s >= 64 ? UINT64_MAX : lo + ((std::uint64_t{1} << s) - 1);
        }
        if (gran == IMS_INV_PAGE && am == 0) {
            // One 4 KiB page (what a strict-mode driver sends per unmapped
            // page): one tag per page size and per level can overlap it.
            for (unsigned s = 12; s <= 30; s += 9)
                drained = m_pending->wait_for(Pending::kIotlb, did, addr >> s, static_cast<std::uint8_t>(s), drained);
            if (!ih)
                for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++)
                    drained = m_pending->wait_for(static_cast<std::uint8_t>(Pending::kPsc + l), did,
                                                  addr >> ims_level_shift(l),
                                                  static_cast<std::uint8_t>(ims_level_shift(l)), drained);
        } else if (gran == IMS_INV_PAGE && am <= 9) {
            // A small range: look up the few fills that could overlap it
            // (each page size's tags, each level's tag) instead of scanning.
            for (unsigned s = 12; s <= 30; s += 9)
                for (std::uint64_t tag = lo >> s; tag <= hi >> s; tag++)
                    drained = m_pending->wait_for(Pending::kIotlb, did, tag, static_cast<std::uint8_t>(s), drained);
            for (unsigned l = 2; l <= IMS_MAX_LEVELS; l++) {
                if (!(kinds & (1u << (Pending::kPsc + l))))
                    continue;
                const unsigned s = ims_level_shift(l);
                for (std::uint64_t tag = lo >> s; tag <= hi >> s; tag++)
                    drained = m_pending->wait_for(static_cast<std::uint8_t>(Pending::kPsc + l), did, tag,
                                                  static_cast<std::uint8_t>(s), drained);
            }
        } else {
            drained = std::max(drained, m_pending->latest(kinds, gran == IMS_INV_GLOBAL ? -1 : did, lo, hi, tin));
        }
    }
    ims_inv_iotlb(m_core, gran, did, addr, am, ih);
    const Cycles done = drained + m_cfg.inv_latency;
    m_input_ready = std::max(m_input_ready, tin + m_cfg.inv_latency);
    m_st.inv_iotlb++;
    m_st.inv_cycles += done - t;
    return done;
}

Cycles Iommu::invalidate_context(Cycles t, ims_inv_gran gran, std::uint16_t did, std::uint16_t sid, std::uint8_t fm)
{
    const Cycles tin = std::max(t, m_input_ready);
    Cycles drained = tin;
    if (m_cfg.inv_policy == IMS_INV_DRAIN) {
        // Context fills in flight are kept as (dom = rid, tag = did).
        Cycles r = 0;
        if (gran == IMS_INV_DOMAIN)
            r = m_pending->latest(1u << Pending::kCtx, -1, did, did, tin);
        else if (gran == IMS_INV_DEVICE && fm == 0)
            r = m_pending->latest(1u << Pending::kCtx, sid, 0, UINT64_MAX, tin);
        else  // global, or a function mask: all of them (conservative)
            r = m_pending->latest(1u << Pending::kCtx, -1, 0, UINT64_MAX, tin);
        drained = std::max(drained, r);
    }
    ims_inv_context(m_core, gran, did, sid, fm);
    const Cycles done = drained + m_cfg.inv_latency;
    m_input_ready = std::max(m_input_ready, tin + m_cfg.inv_latency);
    m_st.inv_ctx++;
    m_st.inv_cycles += done - t;
    return done;
}

}  // namespace ims
