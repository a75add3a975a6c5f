// Pieces shared by the VT-d register-file tests (test_vtd_regs.cpp,
// test_vtd_iommu.cpp): the data sink, the tables a driver writes for
// 00:03.0, and the two kinds of transaction a driver and a device make.
#ifndef IMS_TESTS_VTD_TB_HPP
#define IMS_TESTS_VTD_TB_HPP

#include <cstdint>

#include "iommusim/mem.h"
#include "iommusim/tlm.hpp"
#include "iommusim/vtd.h"

namespace vtdtb {

constexpr std::uint16_t kRid = 0x0018;  // 00:03.0
constexpr std::uint16_t kDid = 1;
constexpr std::uint64_t kRoot = 0x100000, kCtx = 0x101000, kPml4 = 0x102000;

// Where translated (or untranslated) DMA arrives: remembers the last address.
struct Sink : sc_core::sc_module {
    void b_transport(tlm::tlm_generic_payload &t, sc_core::sc_time &)
    {
        last = t.get_address();
        count++;
        t.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    ims::TargetSocket<Sink, &Sink::b_transport> tsock;
    std::uint64_t last = 0, count = 0;
    explicit Sink(sc_core::sc_module_name n) : sc_module(n), tsock("tsock", *this) {}
};

// Maps 4 KiB IOVA iova to pa, read-write, in the table build_tables() wrote.
inline void map(ims_mem *mem, std::uint64_t iova, std::uint64_t pa)
{
    ims_mem_write64(mem, kPml4 + 0x3000 + (iova >> 12) * 8, pa | 3);
}

// Root -> context (00:03.0, domain kDid, 4 levels) -> 4-level table mapping
// 4 KiB IOVA 0x10000 to 0x80000000, read-write.
inline void build_tables(ims_mem *mem)
{
    ims_mem_write64(mem, kRoot + ims_root_offset(0), kCtx | 1);
    ims_ctx_entry c{};
    ims_ctx_set_present(&c, true);
    ims_ctx_set_slptptr(&c, kPml4);
    ims_ctx_set_aw(&c, IMS_AW_48);
    ims_ctx_set_did(&c, kDid);
    ims_mem_write64(mem, kCtx + ims_ctx_offset(kRid & 0xff), c.lo);
    ims_mem_write64(mem, kCtx + ims_ctx_offset(kRid & 0xff) + 8, c.hi);
    ims_mem_write64(mem, kPml4, (kPml4 + 0x1000) | 3);
    ims_mem_write64(mem, kPml4 + 0x1000, (kPml4 + 0x2000) | 3);
    ims_mem_write64(mem, kPml4 + 0x2000, (kPml4 + 0x3000) | 3);
    map(mem, 0x10000, 0x80000000);
}

// One MMIO access through an initiator socket; returns the response status.
// be: byte enables (len of them) or none; sw: streaming width, 0 for len.
template <class Socket>
tlm::tlm_response_status mmio_access(Socket &sock, tlm::tlm_command cmd, std::uint64_t addr, unsigned len,
                                     void *data, unsigned char *be = nullptr, unsigned sw = 0)
{
    tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(addr);
    t.set_data_ptr(static_cast<unsigned char *>(data));
    t.set_data_length(len);
    t.set_streaming_width(sw ? sw : len);
    t.set_byte_enable_ptr(be);
    if (be)
        t.set_byte_enable_length(len);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    sock->b_transport(t, d);
    return t.get_response_status();
}

// A device read of len bytes (at most 64) at iova carrying ext (requester id,
// PASID, priv, exec; its xlate then says what happened), by b_transport or,
// with dbg, by transport_dbg; returns the response.
template <class Socket>
tlm::tlm_response_status dma_read_ext(Socket &sock, std::uint64_t iova, ims::ReqExt &ext, unsigned len = 64,
                                      bool dbg = false)
{
    unsigned char buf[64] = {};
    sc_assert(len <= sizeof buf);
    tlm::tlm_generic_payload t;
    t.set_extension(&ext);
    t.set_command(tlm::TLM_READ_COMMAND);
    t.set_address(iova);
    t.set_data_ptr(buf);
    t.set_data_length(len);
    t.set_streaming_width(len);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    if (dbg) {
        sock->transport_dbg(t);
    } else {
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        sock->b_transport(t, d);
    }
    t.clear_extension(&ext);
    return t.get_response_status();
}

// A device read of 64 bytes at iova from requester rid; returns the response.
template <class Socket> tlm::tlm_response_status dma_read(Socket &sock, std::uint64_t iova, std::uint16_t rid = kRid)
{
    ims::ReqExt ext;
    ext.rid = rid;
    return dma_read_ext(sock, iova, ext);
}

}  // namespace vtdtb

#endif  // IMS_TESTS_VTD_TB_HPP
