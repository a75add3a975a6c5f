// The platform's modules (platform.hpp).
#include "platform.hpp"

#include <algorithm>
#include <cstring>

namespace vp
{

// ---- SystemMemory ----

SystemMemory::SystemMemory(sc_core::sc_module_name name, std::uint64_t size, sc_core::sc_time latency)
    : sc_module(name), tsock("tsock"), m_ram(size, 0), m_latency(latency)
{
    tsock.register_b_transport(this, &SystemMemory::b_transport);
    tsock.register_transport_dbg(this, &SystemMemory::transport_dbg);
    tsock.register_get_direct_mem_ptr(this, &SystemMemory::get_direct_mem_ptr);
}

// A 32-bit b_transport write into the MSI window is an interrupt message,
// as the IOMMU sends its messages through `mem`. A debug-transport write
// there is refused: debug transport has no side effects (IEEE 1666-2011
// 11.3), so it cannot raise an interrupt.
void SystemMemory::msi(std::uint64_t a, const tlm::tlm_generic_payload &t, const sc_core::sc_time &at)
{
    std::uint32_t data = 0;
    std::memcpy(&data, t.get_data_ptr(), 4);
    m_msis.push_back(Msi{a, data, at});
    msi_event.notify(at - sc_core::sc_time_stamp());
}

void SystemMemory::b_transport(int, tlm::tlm_generic_payload &t, sc_core::sc_time &delay)
{
    const std::uint64_t a = t.get_address();
    const unsigned len = t.get_data_length();
    const tlm::tlm_command cmd = t.get_command();
    if (in_msi(a)) {
        // Interrupt messages are 32-bit writes; reads of the window are errors.
        if (cmd == tlm::TLM_WRITE_COMMAND && len == 4 && !t.get_byte_enable_ptr()) {
            msi(a, t, sc_core::sc_time_stamp() + delay);
            t.set_response_status(tlm::TLM_OK_RESPONSE);
        } else if (cmd == tlm::TLM_IGNORE_COMMAND) {
            t.set_response_status(tlm::TLM_OK_RESPONSE);
        } else {
            m_st.errors++;
            t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        }
        return;
    }
    if (cmd == tlm::TLM_IGNORE_COMMAND) {
        // The IOMMU's timed replay of a table read whose data moved by debug
        // transport or DMI (its length is not the read's: only time counts).
        m_st.ignores++;
        delay += m_latency;
        t.set_response_status(a < m_ram.size() ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    if (!in_ram(a, len)) {
        m_st.errors++;
        t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    if (t.get_streaming_width() < len) { // no streaming (FIFO-like) accesses to RAM
        m_st.errors++;
        t.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    if (t.get_byte_enable_ptr()) {
        m_st.errors++;
        t.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }
    if (cmd == tlm::TLM_READ_COMMAND) {
        std::memcpy(t.get_data_ptr(), &m_ram[a], len);
        m_st.reads++;
    } else {
        std::memcpy(&m_ram[a], t.get_data_ptr(), len);
        m_st.writes++;
    }
    delay += m_latency;
    t.set_dmi_allowed(true);
    t.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned SystemMemory::transport_dbg(int, tlm::tlm_generic_payload &t)
{
    const std::uint64_t a = t.get_address();
    const unsigned len = t.get_data_length();
    if (in_msi(a) || !in_ram(a, len) || (!t.is_read() && !t.is_write())) {
        m_st.errors++;
        t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return 0;
    }
    if (t.is_read()) {
        std::memcpy(t.get_data_ptr(), &m_ram[a], len);
        m_st.dbg_reads++;
    } else {
        std::memcpy(&m_ram[a], t.get_data_ptr(), len);
        m_st.dbg_writes++;
    }
    t.set_response_status(tlm::TLM_OK_RESPONSE);
    return len;
}

bool SystemMemory::get_direct_mem_ptr(int, tlm::tlm_generic_payload &t, tlm::tlm_dmi &dmi)
{
    if (t.get_address() >= m_ram.size()) {
        dmi.allow_none();
        return false;
    }
    dmi.set_dmi_ptr(m_ram.data());
    dmi.set_start_address(0);
    dmi.set_end_address(m_ram.size() - 1);
    dmi.allow_read_write();
    dmi.set_read_latency(m_latency);
    dmi.set_write_latency(m_latency);
    return true;
}

// ---- CpuBus ----

CpuBus::CpuBus(sc_core::sc_module_name name, std::uint64_t regs_base, std::uint64_t regs_size)
    : sc_module(name), cpu("cpu"), mem("mem"), regs("regs"), m_base(regs_base), m_size(regs_size)
{
    cpu.register_b_transport(this, &CpuBus::b_transport);
    cpu.register_transport_dbg(this, &CpuBus::transport_dbg);
}

void CpuBus::b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &delay)
{
    if (is_regs(t.get_address()))
        regs->b_transport(t, delay);
    else
        mem->b_transport(t, delay);
}

unsigned CpuBus::transport_dbg(tlm::tlm_generic_payload &t)
{
    return is_regs(t.get_address()) ? regs->transport_dbg(t) : mem->transport_dbg(t);
}

// ---- RootPort ----

RootPort::RootPort(sc_core::sc_module_name name) : sc_module(name), down("down"), up("up"), ats("ats")
{
    down.register_b_transport(this, &RootPort::b_transport);
}

void RootPort::b_transport(int, tlm::tlm_generic_payload &t, sc_core::sc_time &delay)
{
    ims::ReqExt *ext = nullptr;
    t.get_extension(ext);
    if (!ext) {
        t.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    up->b_transport(t, delay);
}

// ---- DmaEngine ----

DmaEngine::DmaEngine(sc_core::sc_module_name name, std::uint16_t rid) : sc_module(name), dma("dma"), m_rid(rid)
{
    SC_THREAD(run);
}

void DmaEngine::start(const Job &job)
{
    m_jobs.push_back(job);
    m_busy = true;
    m_kick.notify(sc_core::SC_ZERO_TIME);
}

// One DMA transaction with this device's requester id; false if refused.
bool DmaEngine::transfer(tlm::tlm_command cmd, std::uint64_t iova, unsigned char *buf, unsigned len)
{
    ims::ReqExt ext;
    ext.rid = m_rid;
    tlm::tlm_generic_payload t;
    t.set_extension(&ext);
    t.set_command(cmd);
    t.set_address(iova);
    t.set_data_ptr(buf);
    t.set_data_length(len);
    t.set_streaming_width(len);
    t.set_byte_enable_ptr(nullptr);
    t.set_dmi_allowed(false);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    dma->b_transport(t, delay);
    t.clear_extension(&ext); // the device's, not the payload's to delete
    wait(delay);
    if (t.is_response_ok())
        return true;
    m_result.ok = false;
    m_result.error_iova = iova;
    m_result.error_write = cmd == tlm::TLM_WRITE_COMMAND;
    m_result.error = t.get_response_status();
    return false;
}

void DmaEngine::run()
{
    constexpr unsigned kChunk = 64;
    for (;;) {
        while (m_jobs.empty())
            wait(m_kick);
        const Job job = m_jobs.front();
        m_jobs.pop_front();
        m_result = Result{};
        unsigned char buf[kChunk];
        for (std::uint64_t off = 0; off < job.len; off += kChunk) {
            const unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(kChunk, job.len - off));
            if (!transfer(tlm::TLM_READ_COMMAND, job.src + off, buf, n) ||
                !transfer(tlm::TLM_WRITE_COMMAND, job.dst + off, buf, n))
                break;
            m_result.bytes += n;
        }
        m_busy = !m_jobs.empty();
        done.notify(sc_core::SC_ZERO_TIME);
    }
}

} // namespace vp
