// Simulation top of the page walker for the co-simulation
// (model/rtl/rtl_sim.cpp; docs/rtl.md, "How the RTL is clocked"): the
// walker, unchanged, behind one register on every input. Not for synthesis.
//
// Why. A verilated model evaluates the logic that depends on its inputs
// each time it is evaluated, and the logic that depends on its flops after
// each clock edge. The bare walker's combinational logic depends on both,
// so a cycle (inputs set with the clock low, then the edge) evaluated it
// three times, where once is enough. Here the walker's inputs are flops: the
// driver sets the inputs of cycle c and raises the clock; that edge ends the
// walker's previous cycle and loads the inputs of c, and the one evaluation
// after it gives the walker's outputs of cycle c (its state and inputs of
// c). The walker sees exactly the pin sequence a driver of the bare walker
// gives it; its assertions and cover points sample each cycle at the edge
// that ends it (so a cycle's assertions are checked when the next cycle is
// evaluated).
//
// Besides the walker's ports: next_active_o and next_ready_o, the walker's
// active_o and req_ready_o of the next cycle as the state it goes to makes
// them with no new request or memory response (from the walker's next-state
// signals): the driver skips the quiet cycles after this one without
// evaluating the first of them.
module iommusim_walker_sim
  import iommusim_pkg::*;
#(
  parameter int unsigned NumWalkers = 4,
  parameter int unsigned TagWidth   = 8,
  localparam int unsigned IdWidth   = NumWalkers > 1 ? $clog2(NumWalkers) : 1,
  localparam int unsigned CntWidth  = $clog2(NumWalkers + 1)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic [CntWidth-1:0]   cfg_walkers_i,
  input  logic [63:0]           cfg_rsvd_i,
  input  logic [1:0]            cfg_sllps_i,
  input  logic                  req_valid_i,
  output logic                  req_ready_o,
  input  logic [TagWidth-1:0]   req_tag_i,
  input  logic [15:0]           req_did_i,
  input  logic [63:0]           req_table_i,
  input  logic [2:0]            req_levels_i,
  input  logic [2:0]            req_start_i,
  input  logic [1:0]            req_perm_i,
  input  logic [63:0]           req_iova_i,
  input  logic [1:0]            req_access_i,
  output logic                  rsp_valid_o,
  input  logic                  rsp_ready_i,
  output logic [TagWidth-1:0]   rsp_tag_o,
  output logic [15:0]           rsp_did_o,
  output logic [63:0]           rsp_pa_o,
  output logic [4:0]            rsp_shift_o,
  output logic [1:0]            rsp_perm_o,
  output logic [7:0]            rsp_fault_o,
  output logic [2:0]            rsp_reads_o,
  output logic                  mem_req_valid_o,
  input  logic                  mem_req_ready_i,
  output logic [IdWidth-1:0]    mem_req_id_o,
  output logic [63:0]           mem_req_addr_o,
  output logic [2:0]            mem_req_level_o,
  input  logic                  mem_rsp_valid_i,
  input  logic [IdWidth-1:0]    mem_rsp_id_i,
  input  logic [63:0]           mem_rsp_data_i,
  input  logic                  mem_rsp_err_i,
  output logic [NumWalkers-1:0] busy_o,
  output logic                  active_o,
  output logic                  next_active_o,
  output logic                  next_ready_o
);

  logic [CntWidth-1:0] cfg_walkers_q;
  logic [63:0]         cfg_rsvd_q;
  logic [1:0]          cfg_sllps_q;
  logic                req_valid_q;
  logic [TagWidth-1:0] req_tag_q;
  logic [15:0]         req_did_q;
  logic [63:0]         req_table_q;
  logic [2:0]          req_levels_q;
  logic [2:0]          req_start_q;
  logic [1:0]          req_perm_q;
  logic [63:0]         req_iova_q;
  logic [1:0]          req_access_q;
  logic                rsp_ready_q;
  logic                mem_req_ready_q;
  logic                mem_rsp_valid_q;
  logic [IdWidth-1:0]  mem_rsp_id_q;
  logic [63:0]         mem_rsp_data_q;
  logic                mem_rsp_err_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cfg_walkers_q   <= '0;
      cfg_rsvd_q      <= '0;
      cfg_sllps_q     <= '0;
      req_valid_q     <= 1'b0;
      req_tag_q       <= '0;
      req_did_q       <= '0;
      req_table_q     <= '0;
      req_levels_q    <= '0;
      req_start_q     <= '0;
      req_perm_q      <= '0;
      req_iova_q      <= '0;
      req_access_q    <= '0;
      rsp_ready_q     <= 1'b0;
      mem_req_ready_q <= 1'b0;
      mem_rsp_valid_q <= 1'b0;
      mem_rsp_id_q    <= '0;
      mem_rsp_data_q  <= '0;
      mem_rsp_err_q   <= 1'b0;
    end else begin
      cfg_walkers_q   <= cfg_walkers_i;
      cfg_rsvd_q      <= cfg_rsvd_i;
      cfg_sllps_q     <= cfg_sllps_i;
      req_valid_q     <= req_valid_i;
      req_tag_q       <= req_tag_i;
      req_did_q       <= req_did_i;
      req_table_q     <= req_table_i;
      req_levels_q    <= req_levels_i;
      req_start_q     <= req_start_i;
      req_perm_q      <= req_perm_i;
      req_iova_q      <= req_iova_i;
      req_access_q    <= req_access_i;
      rsp_ready_q     <= rsp_ready_i;
      mem_req_ready_q <= mem_req_ready_i;
      mem_rsp_valid_q <= mem_rsp_valid_i;
      mem_rsp_id_q    <= mem_rsp_id_i;
      mem_rsp_data_q  <= mem_rsp_data_i;
      mem_rsp_err_q   <= mem_rsp_err_i;
    end
  end

  iommusim_walker #(
    .NumWalkers(NumWalkers),
    .TagWidth  (TagWidth)
  ) u_walker (
    .clk_i,
    .rst_ni,
    .cfg_walkers_i  (cfg_walkers_q),
    .cfg_rsvd_i     (cfg_rsvd_q),
    .cfg_sllps_i    (cfg_sllps_q),
    .req_valid_i    (req_valid_q),
    .req_ready_o,
    .req_tag_i      (req_tag_q),
    .req_did_i      (req_did_q),
    .req_table_i    (req_table_q),
    .req_levels_i   (req_levels_q),
    .req_start_i    (req_start_q),
    .req_perm_i     (req_perm_q),
    .req_iova_i     (req_iova_q),
    .req_access_i   (req_access_q),
    .rsp_valid_o,
    .rsp_ready_i    (rsp_ready_q),
    .rsp_tag_o,
    .rsp_did_o,
    .rsp_pa_o,
    .rsp_shift_o,
    .rsp_perm_o,
    .rsp_fault_o,
    .rsp_reads_o,
    .mem_req_valid_o,
    .mem_req_ready_i(mem_req_ready_q),
    .mem_req_id_o,
    .mem_req_addr_o,
    .mem_req_level_o,
    .mem_rsp_valid_i(mem_rsp_valid_q),
    .mem_rsp_id_i   (mem_rsp_id_q),
    .mem_rsp_data_i (mem_rsp_data_q),
    .mem_rsp_err_i  (mem_rsp_err_q),
    .busy_o,
    .active_o
  );

  // The walker's active_o (a slot with a read or an answer pending) and
  // req_ready_o (a free slot among the first cfg_walkers_i) of the state its
  // next edge stores: those of the next cycle when that cycle has no memory
  // response (active_o's read part then is the pending reads alone).
  always_comb begin
    next_active_o = 1'b0;
    next_ready_o  = 1'b0;
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      if (u_walker.state_d[i] == SlotRead || u_walker.state_d[i] == SlotDone) next_active_o = 1'b1;
      if (u_walker.state_d[i] == SlotIdle && CntWidth'(i) < cfg_walkers_q) next_ready_o = 1'b1;
    end
  end

endmodule
