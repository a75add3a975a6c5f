// How the RTL walker is clocked, measured (docs/rtl.md, "Clocking
// measurements"): one stimulus, a stream of 4-level walks over a synthetic
// table with a fixed memory latency, through the walker
//   --cc  (bench_rtl_clock):    Vims_walker of ims_rtl_walker, ticked from a
//                               plain C++ loop (two evals per cycle, as the
//                               co-simulation does);
//   --sc  (bench_rtl_clock_sc): the same RTL verilated with --sc, on an
//                               sc_clock, driven by an SC_METHOD testbench.
// Both verilate with the shipped arguments (--assert, 16 slots). Each prints
// one line: model, cycles, walks, seconds, cycles/s, walks/s.
//   bench_rtl_clock[_sc] [CYCLES]     (default 1000000)
// Built only with -DIMS_BENCH_RTL_SC=ON; bench/bench_rtl_clock.sh runs both.
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#if IMS_BENCH_SC
#include <systemc>
#include "Vims_walker_sc.h"
#else
#include "Vims_walker.h"
#endif
#include "verilated.h"
#pragma GCC diagnostic pop

namespace
{

constexpr unsigned kLatency = 20;                        // memory latency, cycles
constexpr uint64_t kRoot = 0x10000000ull;                // the first table
constexpr uint64_t kRsvd = 0xfff0000000000000ull;        // bits 63:52 reserved
constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;

// The synthetic table: the entry at address a points to the next frame up
// (R/W set, PS clear), so every walk reads 4 levels and ends in a 4 KiB leaf.
uint64_t entry(uint64_t addr) { return (((addr & kAddrMask) + 0x1000) & kAddrMask) | 3; }

struct TbIn {
    bool req_valid = false;
    uint8_t tag = 0;
    uint64_t iova = 0;
    bool rsp_valid = false;
    unsigned rsp_id = 0;
    uint64_t rsp_data = 0;
};

struct TbOut {
    bool req_ready = false, mem_req_valid = false, rsp_valid = false;
    unsigned mem_req_id = 0;
    uint64_t mem_req_addr = 0;
};

// The testbench, the same for both models: a request always presented (tags
// in order), every read answered kLatency cycles later (one per cycle: reads
// leave one per cycle), both ready inputs always 1.
class Tb
{
  public:
    // This cycle's inputs.
    const TbIn &drive()
    {
        m_in.req_valid = true;
        m_in.tag = (uint8_t)(m_next & 0xff);
        m_in.iova = (m_next * 0x40201000ull) & ((1ull << 48) - 1);
        m_in.rsp_valid = !m_pend.empty() && m_pend.front().due <= m_cycle;
        if (m_in.rsp_valid) {
            m_in.rsp_id = m_pend.front().id;
            m_in.rsp_data = entry(m_pend.front().addr);
        }
        return m_in;
    }
    // This cycle's outputs (before the edge that ends it).
    void sample(const TbOut &o)
    {
        if (m_in.req_valid && o.req_ready)
            m_next++;
        if (m_in.rsp_valid)
            m_pend.pop_front();
        if (o.mem_req_valid)
            m_pend.push_back({m_cycle + kLatency, o.mem_req_id, o.mem_req_addr});
        if (o.rsp_valid)
            m_walks++;
        m_cycle++;
    }
    uint64_t cycles() const { return m_cycle; }
    uint64_t walks() const { return m_walks; }

  private:
    struct Read {
        uint64_t due;
        unsigned id;
        uint64_t addr;
    };
    TbIn m_in;
    std::deque<Read> m_pend;
    uint64_t m_cycle = 0, m_next = 0, m_walks = 0;
};

void report(const char *model, const Tb &tb, double s)
{
    std::printf("%-40s cycles %10" PRIu64 "  walks %8" PRIu64 "  %.3f s  %.3f M cycles/s  %.3f M walks/s\n", model,
                tb.cycles(), tb.walks(), s, tb.cycles() / s / 1e6, tb.walks() / s / 1e6);
}

uint64_t cycles_arg(int argc, char **argv)
{
    if (argc > 2) {
        std::fprintf(stderr, "usage: %s [CYCLES]\n", argv[0]);
        std::exit(2);
    }
    if (argc < 2)
        return 1000000;
    char *end = nullptr;
    unsigned long long n = std::strtoull(argv[1], &end, 10);
    if (!*argv[1] || *end || n == 0) {
        std::fprintf(stderr, "%s: CYCLES: '%s' is not a positive number\n", argv[0], argv[1]);
        std::exit(2);
    }
    return n;
}

} // namespace

#if IMS_BENCH_SC

// The testbench as an SC_METHOD on the clock's rising edge: it reads the
// outputs of the cycle that ends (signals still hold them in this delta),
// then writes the next cycle's inputs (seen after the edge has been taken).
SC_MODULE(TbSc)
{
    sc_core::sc_in<bool> clk;
    sc_core::sc_signal<bool> rst_n, req_valid, req_ready, rsp_valid, rsp_ready, mem_req_valid, mem_req_ready,
        mem_rsp_valid, mem_rsp_err, active;
    sc_core::sc_signal<uint32_t> cfg_walkers, cfg_sllps, req_tag, req_did, req_levels, req_start, req_perm,
        req_access, rsp_tag, rsp_did, rsp_shift, rsp_perm, rsp_fault, rsp_reads, mem_req_id, mem_req_level,
        mem_rsp_id, busy;
    sc_core::sc_signal<uint64_t> cfg_rsvd, req_table, req_iova, rsp_pa, mem_req_addr, mem_rsp_data;
    Tb tb;
    uint64_t limit = 0;
    unsigned resets = 2;

    void apply(const TbIn &in)
    {
        req_valid.write(in.req_valid);
        req_tag.write(in.tag);
        req_iova.write(in.iova);
        mem_rsp_valid.write(in.rsp_valid);
        mem_rsp_id.write(in.rsp_id);
        mem_rsp_data.write(in.rsp_data);
    }

    void edge()
    {
        if (resets) {
            if (--resets == 0) {
                rst_n.write(true);
                apply(tb.drive());
            }
            return;
        }
        TbOut o;
        o.req_ready = req_ready.read();
        o.mem_req_valid = mem_req_valid.read();
        o.mem_req_id = mem_req_id.read();
        o.mem_req_addr = mem_req_addr.read();
        o.rsp_valid = rsp_valid.read();
        tb.sample(o);
        if (tb.cycles() >= limit) {
            sc_core::sc_stop();
            return;
        }
        apply(tb.drive());
    }

    SC_CTOR(TbSc)
    {
        rst_n.write(false);
        cfg_walkers.write(16);
        cfg_rsvd.write(kRsvd);
        cfg_sllps.write(3);
        req_did.write(1);
        req_table.write(kRoot);
        req_levels.write(4);
        req_start.write(4);
        req_perm.write(3);
        req_access.write(1);
        rsp_ready.write(true);
        mem_req_ready.write(true);
        SC_METHOD(edge);
        sensitive << clk.pos();
        dont_initialize();
    }
};

int sc_main(int argc, char **argv)
{
    const uint64_t cycles = cycles_arg(argc, argv);
    Verilated::commandArgs(argc, argv);
    sc_core::sc_clock clk("clk", 1, sc_core::SC_NS);
    TbSc tb("tb");
    tb.limit = cycles;
    tb.clk(clk);
    Vims_walker_sc w("walker");
    w.clk_i(clk);
    w.rst_ni(tb.rst_n);
    w.cfg_walkers_i(tb.cfg_walkers);
    w.cfg_rsvd_i(tb.cfg_rsvd);
    w.cfg_sllps_i(tb.cfg_sllps);
    w.req_valid_i(tb.req_valid);
    w.req_ready_o(tb.req_ready);
    w.req_tag_i(tb.req_tag);
    w.req_did_i(tb.req_did);
    w.req_table_i(tb.req_table);
    w.req_levels_i(tb.req_levels);
    w.req_start_i(tb.req_start);
    w.req_perm_i(tb.req_perm);
    w.req_iova_i(tb.req_iova);
    w.req_access_i(tb.req_access);
    w.rsp_valid_o(tb.rsp_valid);
    w.rsp_ready_i(tb.rsp_ready);
    w.rsp_tag_o(tb.rsp_tag);
    w.rsp_did_o(tb.rsp_did);
    w.rsp_pa_o(tb.rsp_pa);
    w.rsp_shift_o(tb.rsp_shift);
    w.rsp_perm_o(tb.rsp_perm);
    w.rsp_fault_o(tb.rsp_fault);
    w.rsp_reads_o(tb.rsp_reads);
    w.mem_req_valid_o(tb.mem_req_valid);
    w.mem_req_ready_i(tb.mem_req_ready);
    w.mem_req_id_o(tb.mem_req_id);
    w.mem_req_addr_o(tb.mem_req_addr);
    w.mem_req_level_o(tb.mem_req_level);
    w.mem_rsp_valid_i(tb.mem_rsp_valid);
    w.mem_rsp_id_i(tb.mem_rsp_id);
    w.mem_rsp_data_i(tb.mem_rsp_data);
    w.mem_rsp_err_i(tb.mem_rsp_err);
    w.busy_o(tb.busy);
    w.active_o(tb.active);
    const auto t0 = std::chrono::steady_clock::now();
    sc_core::sc_start();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report("--sc, sc_clock + SC_METHOD testbench", tb.tb, s);
    w.final();
    return 0;
}

#else

int main(int argc, char **argv)
{
    const uint64_t cycles = cycles_arg(argc, argv);
    VerilatedContext ctx;
    ctx.commandArgs(argc, argv);
    Vims_walker w(&ctx);
    w.cfg_walkers_i = 16;
    w.cfg_rsvd_i = kRsvd;
    w.cfg_sllps_i = 3;
    w.req_did_i = 1;
    w.req_table_i = kRoot;
    w.req_levels_i = 4;
    w.req_start_i = 4;
    w.req_perm_i = 3;
    w.req_access_i = 1;
    w.rsp_ready_i = 1;
    w.mem_req_ready_i = 1;
    w.mem_rsp_err_i = 0;
    w.clk_i = 0;
    w.rst_ni = 0;
    w.eval();
    w.rst_ni = 1;
    w.eval();
    Tb tb;
    const auto t0 = std::chrono::steady_clock::now();
    while (tb.cycles() < cycles) {
        const TbIn &in = tb.drive();
        w.req_valid_i = in.req_valid;
        w.req_tag_i = in.tag;
        w.req_iova_i = in.iova;
        w.mem_rsp_valid_i = in.rsp_valid;
        w.mem_rsp_id_i = (uint8_t)in.rsp_id;
        w.mem_rsp_data_i = in.rsp_data;
        w.clk_i = 0;
        w.eval();
        TbOut o;
        o.req_ready = w.req_ready_o;
        o.mem_req_valid = w.mem_req_valid_o;
        o.mem_req_id = w.mem_req_id_o;
        o.mem_req_addr = w.mem_req_addr_o;
        o.rsp_valid = w.rsp_valid_o;
        tb.sample(o);
        w.clk_i = 1;
        w.eval();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report("--cc, C++ loop (two evals per cycle)", tb, s);
    w.final();
    return 0;
}

#endif
