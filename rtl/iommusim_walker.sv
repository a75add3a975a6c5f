// VT-d second-level page walker (legacy mode; VT-d spec rev. 3.x, 3.6
// second-level translation, 9.8 second-level paging entries): NumWalkers
// walks in flight, one table read per level, the reserved-bit and
// permission checks of model/core/walk.c (sl_walk) bit for bit, from the
// paging-structure-cache result on.
//
// Contract: /work/notes/rtl-if.txt as recorded in docs/rtl.md ("Interfaces",
// "Timing"). In short:
// - A request accepted in cycle 0 issues its first read in cycle 1. A read
//   answered in cycle c issues the next level's read in cycle c
//   (combinationally from mem_rsp_*); the read that ends a walk makes
//   rsp_valid_o rise in cycle c + 1. n reads at a fixed latency L with the
//   ports always ready: n * L + 2 cycles from accept to response.
// - The memory request port and the response port serve the walk whose tag
//   is earliest in serial-number order first (tags are given in arrival
//   order; those in flight lie within half the tag space), whatever order the
//   walks were accepted in: a walk never delays one with an earlier tag. A
//   slot that lost
//   arbitration or met mem_req_ready_i = 0 keeps its read pending (same
//   address) and competes again the next cycle.
// - A new request takes the lowest-numbered free slot below cfg_walkers_i;
//   a slot freed by a response handshake in cycle c takes a request in c + 1.
// - No free-running state: an idle slot holds the reset state (zeros).
module iommusim_walker
  import iommusim_pkg::*;
  import iommusim_vtd_pkg::*;
#(
  parameter int unsigned NumWalkers = 4,  // walks in flight (slots)
  parameter int unsigned TagWidth   = 8,
  localparam int unsigned IdWidth   = NumWalkers > 1 ? $clog2(NumWalkers) : 1,
  localparam int unsigned CntWidth  = $clog2(NumWalkers + 1)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,           // async active-low reset
  // Configuration: static while any walk is in flight.
  input  logic [CntWidth-1:0]   cfg_walkers_i,    // slots in use, 1..NumWalkers
  input  logic [63:0]           cfg_rsvd_i,       // reserved bits of every paging entry at every level
  input  logic [1:0]            cfg_sllps_i,      // [0] 2 MiB leaves allowed, [1] 1 GiB leaves allowed
  // Walk request (valid/ready).
  input  logic                  req_valid_i,
  output logic                  req_ready_o,      // a slot among the first cfg_walkers_i is free
  input  logic [TagWidth-1:0]   req_tag_i,        // unique among walks in flight
  input  logic [15:0]           req_did_i,        // domain id, echoed in the response
  input  logic [63:0]           req_table_i,      // 4 KiB-aligned table read first
  input  logic [2:0]            req_levels_i,     // 3, 4 or 5
  input  logic [2:0]            req_start_i,      // level of req_table_i's entries, 1..levels
  input  logic [1:0]            req_perm_i,       // R/W accumulated above start (2'b11: no PSC hit)
  input  logic [63:0]           req_iova_i,       // input address, bytes
  input  logic [1:0]            req_access_i,     // R = 2'b01, W = 2'b10, both = 2'b11
  // Walk response (valid/ready).
  output logic                  rsp_valid_o,
  input  logic                  rsp_ready_i,
  output logic [TagWidth-1:0]   rsp_tag_o,
  output logic [15:0]           rsp_did_o,
  output logic [63:0]           rsp_pa_o,         // page base | iova offset (0 on a fault)
  output logic [4:0]            rsp_shift_o,      // page size 2^shift: 12, 21, 30 (0 on a fault)
  output logic [1:0]            rsp_perm_o,       // accumulated R/W of the leaf (0 on a fault)
  output logic [7:0]            rsp_fault_o,      // 0, or the VT-d fault reason
  output logic [2:0]            rsp_reads_o,      // table reads this walk made
  // Memory read port: requests valid/ready, responses by id in any order.
  output logic                  mem_req_valid_o,
  input  logic                  mem_req_ready_i,
  output logic [IdWidth-1:0]    mem_req_id_o,     // the slot number
  output logic [63:0]           mem_req_addr_o,   // 8-byte aligned entry address
  output logic [2:0]            mem_req_level_o,  // level of the entry read
  input  logic                  mem_rsp_valid_i,
  input  logic [IdWidth-1:0]    mem_rsp_id_i,
  input  logic [63:0]           mem_rsp_data_i,
  input  logic                  mem_rsp_err_i,    // the read failed: fault 0x7
  // Status.
  output logic [NumWalkers-1:0] busy_o,           // slot holds a walk
  output logic                  active_o          // some slot may change state with no new request
                                                  // or memory response (a read or a response pending)
);

  // 512 entries of 8 bytes fill one 4 KiB table: the low address bits of an entry.
  localparam int unsigned EntryAddrBits = PageShift - IndexBits;

  // One walk slot. Fields other than state are zero while the slot is idle.
  typedef struct packed {
    slot_state_e         state;
    logic [TagWidth-1:0] tag;
    logic [15:0]         did;
    logic [VaBits-1:0]   iova;    // the bits any level indexes or a leaf offsets
    logic [2:0]          levels;  // of the table (checks and coverage only)
    logic [2:0]          start;   // level of the first entry read (checks and coverage only)
    logic [2:0]          level;   // SlotRead/SlotWait: level of the entry read
    perm_t               perm;    // accumulated R/W; SlotDone: the response's
    perm_t               access;
    logic [2:0]          reads;   // table reads issued so far
    logic [63:0]         addr;    // SlotRead/SlotWait: entry address; SlotDone: the response's PA
    logic [4:0]          shift;   // SlotDone: the response's page shift
    logic [7:0]          fault;   // SlotDone: the response's fault reason
  } slot_t;

  slot_t [NumWalkers-1:0] slot_q, slot_d;
  // first_q[i][j]: slot i's walk has priority over slot j's: its tag is earlier in
  // serial-number order (valid for busy slots; set when either is accepted).
  logic [NumWalkers-1:0][NumWalkers-1:0] first_q, first_d;

  // Serial-number order of tags (RFC 1982 style, modulo 2^TagWidth): a is earlier
  // than b if b - a lies in 1 .. 2^(TagWidth-1) - 1. A total order on the tags in
  // flight as long as they lie within half the tag space (ReqTagWindow_A).
  function automatic logic tag_before(logic [TagWidth-1:0] a, logic [TagWidth-1:0] b);
    logic [TagWidth-1:0] diff;
    diff       = b - a;
    tag_before = diff != '0 && !diff[TagWidth-1];
  endfunction

  // Index of a level's entry in its table (model/core/walk.c: (iova >> shift) & 511).
  function automatic logic [IndexBits-1:0] table_index(logic [VaBits-1:0] iova, logic [2:0] level);
    table_index = IndexBits'(iova >> level_shift(level));
  endfunction

  // ---------------------------------------------------------------------------
  // Request side: the lowest-numbered free slot below cfg_walkers_i.
  logic [NumWalkers-1:0] free, alloc;
  logic                  accept;
  logic                  start_ok;
  logic [63:0]           start_addr;

  always_comb begin
    alloc = '0;
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      free[i] = slot_q[i].state == SlotIdle && CntWidth'(i) < cfg_walkers_i;
    end
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      if (free[i] && (free & ((NumWalkers'(1) << i) - NumWalkers'(1))) == '0) begin
        alloc[i] = 1'b1;
      end
    end
  end

  assign req_ready_o = |free;
  assign accept      = req_valid_i && req_ready_o;
  // walk.c: a paging-structure-cache hit that already denies the access
  // faults before any read.
  assign start_ok    = (req_perm_i & req_access_i) != '0;
  assign start_addr  = req_table_i +
                       64'({table_index(req_iova_i[VaBits-1:0], req_start_i), EntryAddrBits'(0)});

  logic unused_iova;
  assign unused_iova = ^req_iova_i[63:VaBits];

  // ---------------------------------------------------------------------------
  // Memory response: at most one per cycle, so one entry checker serves all
  // slots (VT-d 9.8; the checks and their order are walk.c's).
  logic [NumWalkers-1:0] rsp_hit;
  logic [2:0]            hit_level;
  perm_t                 hit_perm;
  perm_t                 hit_access;
  logic [VaBits-1:0]     hit_iova;
  logic [63:0]           entry;
  logic [63:0]           rsvd;
  logic [63:0]           next_table;
  logic [5:0]            chk_shift;
  logic                  leaf;
  perm_t                 entry_perm;
  perm_t                 chk_perm;
  chk_e                  chk;
  logic [7:0]            chk_fault;
  logic [63:0]           chk_addr;    // ChkNext: the next entry's address; ChkLeaf: the PA
  logic [2:0]            chk_level;

  always_comb begin
    hit_level  = '0;
    hit_perm   = '0;
    hit_access = '0;
    hit_iova   = '0;
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      rsp_hit[i] = mem_rsp_valid_i && mem_rsp_id_i == IdWidth'(i) && slot_q[i].state == SlotWait;
      if (rsp_hit[i]) begin
        hit_level  = slot_q[i].level;
        hit_perm   = slot_q[i].perm;
        hit_access = slot_q[i].access;
        hit_iova   = slot_q[i].iova;
      end
    end

    // A read answered with an error reads as 0 (not present) and faults 0x7.
    entry      = mem_rsp_err_i ? '0 : mem_rsp_data_i;
    chk_shift  = level_shift(hit_level);
    rsvd       = cfg_rsvd_i;
    leaf       = hit_level == 3'd1;
    if (hit_level >= 3'd4) begin
      rsvd = rsvd | SlptePs | SlpteTm;
    end else if (hit_level >= 3'd2) begin
      if (entry[SlptePsBit]) begin
        if (hit_level == 3'd2 ? !cfg_sllps_i[0] : !cfg_sllps_i[1]) begin
          rsvd = rsvd | SlptePs;
        end
        // A superpage frame's address bits below its size are reserved.
        rsvd = rsvd | (((64'd1 << chk_shift) - 64'd1) & ~((64'd1 << PageShift) - 64'd1));
        leaf = 1'b1;
      end else begin
        rsvd = rsvd | SlpteTm;
      end
    end
    entry_perm = {entry[SlpteWBit], entry[SlpteRBit]};
`ifdef IMS_RTL_BUG_DROP_W_L2
    // Planted bug (tests only): a level-2 entry's W bit is ignored.
    if (hit_level == 3'd2) begin
      entry_perm[1] = 1'b1;
    end
`endif
    chk_perm   = hit_perm & entry_perm;
    next_table = entry & SlpteAddrMask;
    chk_level  = hit_level - 3'd1;
    chk_addr   = '0;
    chk_fault  = FrNone;
    if (entry[SlpteWBit:SlpteRBit] == '0) begin
      chk       = ChkFault;
      chk_fault = mem_rsp_err_i ? FrPagingEntryInv : perm_fault(hit_access);
    end else if ((entry & rsvd) != '0) begin
      chk       = ChkFault;
      chk_fault = FrPagingEntryRsvd;
    end else if ((chk_perm & hit_access) == '0) begin
      chk       = ChkFault;
      chk_fault = perm_fault(hit_access);
    end else if (leaf) begin
      chk      = ChkLeaf;
      chk_addr = next_table | (64'(hit_iova) & ((64'd1 << chk_shift) - 64'd1));
    end else begin
      chk      = ChkNext;
      chk_addr = next_table | 64'({table_index(hit_iova, chk_level), EntryAddrBits'(0)});
    end
  end

  // ---------------------------------------------------------------------------
  // Arbitration, earliest tag first (first_q), for the memory request port
  // (slots with a pending read, and the slot whose entry arrives this cycle
  // and needs the next level) and for the response port.
  logic [NumWalkers-1:0]   rd_want, rd_gnt, done, rsp_gnt;
  logic [NumWalkers-1:0][63:0] rd_addr;
  logic [NumWalkers-1:0][2:0]  rd_level;

  always_comb begin
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      rd_want[i]  = slot_q[i].state == SlotRead || (rsp_hit[i] && chk == ChkNext);
      rd_addr[i]  = rsp_hit[i] ? chk_addr : slot_q[i].addr;
      rd_level[i] = rsp_hit[i] ? chk_level : slot_q[i].level;
      done[i]     = slot_q[i].state == SlotDone;
    end
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      rd_gnt[i]  = rd_want[i];
      rsp_gnt[i] = done[i];
      for (int unsigned j = 0; j < NumWalkers; j++) begin
        if (j != i && first_q[j][i]) begin
          if (rd_want[j]) rd_gnt[i] = 1'b0;
          if (done[j])    rsp_gnt[i] = 1'b0;
        end
      end
    end
  end

  always_comb begin
    mem_req_valid_o = |rd_want;
    mem_req_id_o    = '0;
    mem_req_addr_o  = '0;
    mem_req_level_o = '0;
    rsp_valid_o     = |done;
    rsp_tag_o       = '0;
    rsp_did_o       = '0;
    rsp_pa_o        = '0;
    rsp_shift_o     = '0;
    rsp_perm_o      = '0;
    rsp_fault_o     = '0;
    rsp_reads_o     = '0;
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      if (rd_gnt[i]) begin
        mem_req_id_o    = IdWidth'(i);
        mem_req_addr_o  = rd_addr[i];
        mem_req_level_o = rd_level[i];
      end
      if (rsp_gnt[i]) begin
        rsp_tag_o   = slot_q[i].tag;
        rsp_did_o   = slot_q[i].did;
        rsp_pa_o    = slot_q[i].addr;
        rsp_shift_o = slot_q[i].shift;
        rsp_perm_o  = slot_q[i].perm;
        rsp_fault_o = slot_q[i].fault;
        rsp_reads_o = slot_q[i].reads;
      end
    end
  end

  // ---------------------------------------------------------------------------
  // Slot state machines and the age matrix.
  always_comb begin
    slot_d  = slot_q;
    first_d = first_q;
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      unique case (slot_q[i].state)
        SlotIdle: begin
          if (accept && alloc[i]) begin
            slot_d[i].tag    = req_tag_i;
            slot_d[i].did    = req_did_i;
            slot_d[i].iova   = req_iova_i[VaBits-1:0];
            slot_d[i].levels = req_levels_i;
            slot_d[i].start  = req_start_i;
            slot_d[i].access = req_access_i;
            if (start_ok) begin
              slot_d[i].state = SlotRead;
              slot_d[i].level = req_start_i;
              slot_d[i].perm  = req_perm_i;
              slot_d[i].addr  = start_addr;
            end else begin
              slot_d[i].state = SlotDone;
              slot_d[i].fault = perm_fault(req_access_i);
            end
            // Its priority against every other slot, by tag order (the row and
            // column of free slots are set again when they are taken).
            for (int unsigned j = 0; j < NumWalkers; j++) begin
              if (j != i) begin
                first_d[i][j] = tag_before(req_tag_i, slot_q[j].tag);
                first_d[j][i] = !first_d[i][j];
              end
            end
          end
        end
        SlotRead: begin
          if (rd_gnt[i] && mem_req_ready_i) begin
            slot_d[i].state = SlotWait;
            slot_d[i].reads = slot_q[i].reads + 3'd1;
          end
        end
        SlotWait: begin
          if (rsp_hit[i]) begin
            unique case (chk)
              ChkNext: begin
                slot_d[i].level = chk_level;
                slot_d[i].perm  = chk_perm;
                slot_d[i].addr  = chk_addr;
                if (rd_gnt[i] && mem_req_ready_i) begin
                  slot_d[i].reads = slot_q[i].reads + 3'd1;
                end else begin
                  slot_d[i].state = SlotRead;
                end
              end
              ChkLeaf: begin
                slot_d[i].state = SlotDone;
                slot_d[i].perm  = chk_perm;
                slot_d[i].addr  = chk_addr;
                slot_d[i].shift = chk_shift[4:0];
              end
              default: begin  // ChkFault
                slot_d[i].state = SlotDone;
                slot_d[i].perm  = '0;
                slot_d[i].addr  = '0;
                slot_d[i].fault = chk_fault;
              end
            endcase
          end
        end
        SlotDone: begin
          if (rsp_gnt[i] && rsp_ready_i) begin
            slot_d[i] = '0;
          end
        end
        // verilator coverage_off
        default: begin  // unreachable: the four states are all listed
          slot_d[i] = '0;
        end
        // verilator coverage_on
      endcase
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      slot_q  <= '0;
      first_q <= '0;
    end else begin
      slot_q  <= slot_d;
      first_q <= first_d;
    end
  end

  always_comb begin
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      busy_o[i] = slot_q[i].state != SlotIdle;
    end
  end
  assign active_o = |rd_want || |done;

  // ---------------------------------------------------------------------------
  // Assertions and cover points (verilator --assert; --coverage for covers).
`ifndef SYNTHESIS
  // Shadow of the walks in flight, kept apart from the slot state.
  logic [NumWalkers-1:0] inflight_q;
  // rd_before_q[i][j]: slot i's outstanding read was issued before slot j's.
  logic [NumWalkers-1:0][NumWalkers-1:0] rd_before_q;
  logic [NumWalkers-1:0] rd_issue;
  logic                  tag_dup, req_tag_dup, rsp_from_inflight, reads_ok, rsp_out_of_order;
  logic                  req_tag_window;
  logic [NumWalkers:0]   base_ok;

  // t lies at or after base and less than half the tag space from it.
  function automatic logic tag_in_window(logic [TagWidth-1:0] base, logic [TagWidth-1:0] t);
    logic [TagWidth-1:0] diff;
    diff          = t - base;
    tag_in_window = !diff[TagWidth-1];
  endfunction
  logic [2:0]            rsp_levels, rsp_start;

  always_comb begin
    rd_issue          = rd_gnt & {NumWalkers{mem_req_ready_i}};
    tag_dup           = 1'b0;
    req_tag_dup       = 1'b0;
    rsp_from_inflight = 1'b0;
    reads_ok          = 1'b1;
    rsp_out_of_order  = 1'b0;
    rsp_levels        = '0;
    rsp_start         = '0;
    // The request's tag and the tags in flight lie within half the tag space:
    // one of them (the earliest) has all the others in its window. Tried only
    // while a request is presented.
    // base_ok[k]: slot k's tag is such a base; base_ok[NumWalkers]: the request's.
    base_ok           = '0;
    if (req_valid_i) begin
      base_ok[NumWalkers] = 1'b1;
      for (int unsigned j = 0; j < NumWalkers; j++) begin
        if (busy_o[j] && !tag_in_window(req_tag_i, slot_q[j].tag)) base_ok[NumWalkers] = 1'b0;
      end
      for (int unsigned k = 0; k < NumWalkers; k++) begin
        base_ok[k] = busy_o[k] && tag_in_window(slot_q[k].tag, req_tag_i);
        for (int unsigned j = 0; j < NumWalkers; j++) begin
          if (busy_o[j] && !tag_in_window(slot_q[k].tag, slot_q[j].tag)) base_ok[k] = 1'b0;
        end
      end
    end
    req_tag_window    = !req_valid_i || base_ok != '0;
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      if (busy_o[i] && slot_q[i].tag == req_tag_i) req_tag_dup = 1'b1;
      for (int unsigned j = i + 1; j < NumWalkers; j++) begin
        if (busy_o[i] && busy_o[j] && slot_q[i].tag == slot_q[j].tag) tag_dup = 1'b1;
      end
      if (rsp_gnt[i]) begin
        rsp_levels        = slot_q[i].levels;
        rsp_start         = slot_q[i].start;
        rsp_from_inflight = inflight_q[i];
      end
      // Reads so far against the levels walked (a read pending at `level`
      // has not been counted yet).
      unique case (slot_q[i].state)
        SlotRead: reads_ok &= slot_q[i].level >= 3'd1 && slot_q[i].level <= slot_q[i].start &&
                             slot_q[i].reads == slot_q[i].start - slot_q[i].level;
        SlotWait: reads_ok &= slot_q[i].level >= 3'd1 && slot_q[i].level <= slot_q[i].start &&
                             slot_q[i].reads == slot_q[i].start - slot_q[i].level + 3'd1;
        SlotDone: reads_ok &= slot_q[i].reads <= slot_q[i].start;
        default:  reads_ok &= slot_q[i] == '0;
      endcase
      if (busy_o[i]) reads_ok &= slot_q[i].start <= slot_q[i].levels;
      if (rsp_hit[i]) begin
        for (int unsigned j = 0; j < NumWalkers; j++) begin
          if (j != i && slot_q[j].state == SlotWait && rd_before_q[j][i]) rsp_out_of_order = 1'b1;
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      inflight_q  <= '0;
      rd_before_q <= '0;
    end else begin
      for (int unsigned i = 0; i < NumWalkers; i++) begin
        if (accept && alloc[i]) inflight_q[i] <= 1'b1;
        else if (rsp_gnt[i] && rsp_ready_i) inflight_q[i] <= 1'b0;
        if (rd_issue[i]) begin
          rd_before_q[i] <= '0;
          for (int unsigned j = 0; j < NumWalkers; j++) begin
            if (j != i) rd_before_q[j][i] <= 1'b1;
          end
        end
      end
    end
  end

  // The requester's duties (checked: Verilator treats assumptions as assertions).
  ReqTagUnique_A: assume property (@(posedge clk_i) disable iff (!rst_ni)
      req_valid_i |-> !req_tag_dup);
  // Tags are compared in serial-number order: those in flight and the
  // request's lie within half the tag space.
  ReqTagWindow_A: assume property (@(posedge clk_i) disable iff (!rst_ni)
      req_valid_i |-> req_tag_window);
  ReqHeld_A: assume property (@(posedge clk_i) disable iff (!rst_ni)
      req_valid_i && !req_ready_o |=> req_valid_i && $stable({req_tag_i, req_did_i, req_table_i,
      req_levels_i, req_start_i, req_perm_i, req_iova_i, req_access_i}));
  ReqLevels_A: assume property (@(posedge clk_i) disable iff (!rst_ni)
      req_valid_i |-> req_levels_i >= 3'd3 && req_levels_i <= 3'(MaxLevels) &&
                      req_start_i >= 3'd1 && req_start_i <= req_levels_i);
  // No response without a request in flight.
  RspInFlight_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      rsp_valid_o |-> rsp_from_inflight);
  // Tags unique among the walks in flight.
  TagUnique_A: assert property (@(posedge clk_i) disable iff (!rst_ni) !tag_dup);
  // No read past the last level: reads match the levels walked, never below
  // level 1 or above the start level, never more than the table has.
  ReadsLevels_A: assert property (@(posedge clk_i) disable iff (!rst_ni) reads_ok);
  MemReqLevel_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      mem_req_valid_o |-> mem_req_level_o >= 3'd1 && mem_req_level_o <= 3'(MaxLevels));
  // Valid held until ready, and each slot's pending read and result held.
  RspHeld_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      rsp_valid_o && !rsp_ready_i |=> rsp_valid_o);
  MemReqHeld_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      mem_req_valid_o && !mem_req_ready_i |=> mem_req_valid_o);
  for (genvar i = 0; i < NumWalkers; i++) begin : gen_slot_sva
    SlotReadHeld_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
        slot_q[i].state == SlotRead && !(rd_gnt[i] && mem_req_ready_i) |=>
        slot_q[i].state == SlotRead && $stable(slot_q[i].addr));
    SlotDoneHeld_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
        slot_q[i].state == SlotDone && !(rsp_gnt[i] && rsp_ready_i) |=> $stable(slot_q[i]));
  end
  // Quiet means quiet: the adapter may skip such cycles.
  Quiet_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      !active_o && !req_valid_i && !mem_rsp_valid_i |=> $stable(slot_q) && $stable(first_q));
  // A memory response belongs to a slot waiting for a read.
  MemRspSlot_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      mem_rsp_valid_i |-> rsp_hit != '0);

  // Cover points: levels x start level x outcome (leaf size or fault code),
  // every architecturally possible combination: a 2 MiB leaf needs a walk
  // starting at level 2 or above, a 1 GiB leaf at level 3 or above. Written
  // out one by one (not in a generate loop): Verilator's coverage merges the
  // instances of a generate loop into one point. Names: OUTCOME_L<levels>S<start>_C.
`define IMS_COV(name, lv, st, cond) \
  name``_L``lv``S``st``_C: cover property (@(posedge clk_i) disable iff (!rst_ni) \
      rsp_valid_o && rsp_ready_i && rsp_levels == 3'd``lv && rsp_start == 3'd``st && (cond));
`define IMS_COV_4K(lv, st) `IMS_COV(Leaf4k, lv, st, rsp_fault_o == FrNone && rsp_shift_o == 5'(LevelShift1))
`define IMS_COV_2M(lv, st) `IMS_COV(Leaf2m, lv, st, rsp_fault_o == FrNone && rsp_shift_o == 5'(LevelShift2))
`define IMS_COV_1G(lv, st) `IMS_COV(Leaf1g, lv, st, rsp_fault_o == FrNone && rsp_shift_o == 5'(LevelShift3))
`define IMS_COV_FAULTS(lv, st) \
  `IMS_COV(Fault5, lv, st, rsp_fault_o == FrWrite) \
  `IMS_COV(Fault6, lv, st, rsp_fault_o == FrRead) \
  `IMS_COV(Fault7, lv, st, rsp_fault_o == FrPagingEntryInv) \
  `IMS_COV(FaultC, lv, st, rsp_fault_o == FrPagingEntryRsvd)
  `IMS_COV_4K(3, 1)  `IMS_COV_FAULTS(3, 1)
  `IMS_COV_4K(3, 2)  `IMS_COV_2M(3, 2)  `IMS_COV_FAULTS(3, 2)
  `IMS_COV_4K(3, 3)  `IMS_COV_2M(3, 3)  `IMS_COV_1G(3, 3)  `IMS_COV_FAULTS(3, 3)
  `IMS_COV_4K(4, 1)  `IMS_COV_FAULTS(4, 1)
  `IMS_COV_4K(4, 2)  `IMS_COV_2M(4, 2)  `IMS_COV_FAULTS(4, 2)
  `IMS_COV_4K(4, 3)  `IMS_COV_2M(4, 3)  `IMS_COV_1G(4, 3)  `IMS_COV_FAULTS(4, 3)
  `IMS_COV_4K(4, 4)  `IMS_COV_2M(4, 4)  `IMS_COV_1G(4, 4)  `IMS_COV_FAULTS(4, 4)
  `IMS_COV_4K(5, 1)  `IMS_COV_FAULTS(5, 1)
  `IMS_COV_4K(5, 2)  `IMS_COV_2M(5, 2)  `IMS_COV_FAULTS(5, 2)
  `IMS_COV_4K(5, 3)  `IMS_COV_2M(5, 3)  `IMS_COV_1G(5, 3)  `IMS_COV_FAULTS(5, 3)
  `IMS_COV_4K(5, 4)  `IMS_COV_2M(5, 4)  `IMS_COV_1G(5, 4)  `IMS_COV_FAULTS(5, 4)
  `IMS_COV_4K(5, 5)  `IMS_COV_2M(5, 5)  `IMS_COV_1G(5, 5)  `IMS_COV_FAULTS(5, 5)
  // Walkers busy at once, 1..NumWalkers (points for up to 16).
`define IMS_COV_BUSY(k) \
  if (NumWalkers >= k) begin : gen_cov_busy``k \
    Busy``k``_C: cover property (@(posedge clk_i) disable iff (!rst_ni) $countones(busy_o) == k); \
  end
  `IMS_COV_BUSY(1)  `IMS_COV_BUSY(2)  `IMS_COV_BUSY(3)  `IMS_COV_BUSY(4)
  `IMS_COV_BUSY(5)  `IMS_COV_BUSY(6)  `IMS_COV_BUSY(7)  `IMS_COV_BUSY(8)
  `IMS_COV_BUSY(9)  `IMS_COV_BUSY(10) `IMS_COV_BUSY(11) `IMS_COV_BUSY(12)
  `IMS_COV_BUSY(13) `IMS_COV_BUSY(14) `IMS_COV_BUSY(15) `IMS_COV_BUSY(16)
`undef IMS_COV_BUSY
`undef IMS_COV_FAULTS
`undef IMS_COV_1G
`undef IMS_COV_2M
`undef IMS_COV_4K
`undef IMS_COV
  // A read answered before an older outstanding one, and a stalled request.
  OutOfOrder_C: cover property (@(posedge clk_i) disable iff (!rst_ni) rsp_out_of_order);
  MemReqStall_C: cover property (@(posedge clk_i) disable iff (!rst_ni)
      mem_req_valid_o && !mem_req_ready_i);
`endif

endmodule
