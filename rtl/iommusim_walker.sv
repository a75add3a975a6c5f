// VT-d second-level page walker (legacy mode; VT-d spec rev. 3.x, 3.6
// second-level translation, 9.8 second-level paging entries): NumWalkers
// walks in flight, one table read per level, the reserved-bit and
// permission checks of model/core/walk.c (sl_walk) bit for bit, from the
// paging-structure-cache result on.
//
// Contract: docs/rtl.md ("Interfaces",
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

  // The walk slots, one unpacked array per field (each element a native
  // word in the verilated model, not a field of one wide vector). Fields
  // other than state are zero while the slot is idle.
  slot_state_e         state_q  [NumWalkers], state_d  [NumWalkers];
  logic [TagWidth-1:0] tag_q    [NumWalkers], tag_d    [NumWalkers];
  logic [15:0]         did_q    [NumWalkers], did_d    [NumWalkers];
  // The bits any level indexes or a leaf offsets.
  logic [VaBits-1:0]   iova_q   [NumWalkers], iova_d   [NumWalkers];
  // Levels of the table and level of the first entry read (checks, coverage).
  logic [2:0]          levels_q [NumWalkers], levels_d [NumWalkers];
  logic [2:0]          start_q  [NumWalkers], start_d  [NumWalkers];
  // SlotRead/SlotWait: level of the entry read.
  logic [2:0]          level_q  [NumWalkers], level_d  [NumWalkers];
  // Accumulated R/W (SlotDone: the response's) and the access asked for.
  perm_t               perm_q   [NumWalkers], perm_d   [NumWalkers];
  perm_t               access_q [NumWalkers], access_d [NumWalkers];
  // Table reads issued so far.
  logic [2:0]          reads_q  [NumWalkers], reads_d  [NumWalkers];
  // SlotRead/SlotWait: entry address; SlotDone: the response's PA.
  logic [63:0]         addr_q   [NumWalkers], addr_d   [NumWalkers];
  // SlotDone: the response's page shift and fault reason.
  logic [4:0]          shift_q  [NumWalkers], shift_d  [NumWalkers];
  logic [7:0]          fault_q  [NumWalkers], fault_d  [NumWalkers];
  // ahead_q[i][j]: slot j's walk has priority over slot i's: its tag is earlier in
  // serial-number order (valid for busy slots; set when either is accepted).
  logic [NumWalkers-1:0] ahead_q [NumWalkers], ahead_d [NumWalkers];
  logic [NumWalkers-1:0] clear;  // the slot is freed (its fields return to zero)

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
      free[i] = state_q[i] == SlotIdle && CntWidth'(i) < cfg_walkers_i;
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
      rsp_hit[i] = mem_rsp_valid_i && mem_rsp_id_i == IdWidth'(i) && state_q[i] == SlotWait;
      if (rsp_hit[i]) begin
        hit_level  = level_q[i];
        hit_perm   = perm_q[i];
        hit_access = access_q[i];
        hit_iova   = iova_q[i];
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
  // Arbitration, earliest tag first (ahead_q), for the memory request port
  // (slots with a pending read, and the slot whose entry arrives this cycle
  // and needs the next level) and for the response port.
  logic [NumWalkers-1:0]   rd_want, rd_gnt, done, rsp_gnt;
  logic [NumWalkers-1:0][63:0] rd_addr;
  logic [NumWalkers-1:0][2:0]  rd_level;

  always_comb begin
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      rd_want[i]  = state_q[i] == SlotRead || (rsp_hit[i] && chk == ChkNext);
      rd_addr[i]  = rsp_hit[i] ? chk_addr : addr_q[i];
      rd_level[i] = rsp_hit[i] ? chk_level : level_q[i];
      done[i]     = state_q[i] == SlotDone;
    end
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      rd_gnt[i]  = rd_want[i] && (rd_want & ahead_q[i]) == '0;
      rsp_gnt[i] = done[i] && (done & ahead_q[i]) == '0;
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
        rsp_tag_o   = tag_q[i];
        rsp_did_o   = did_q[i];
        rsp_pa_o    = addr_q[i];
        rsp_shift_o = shift_q[i];
        rsp_perm_o  = perm_q[i];
        rsp_fault_o = fault_q[i];
        rsp_reads_o = reads_q[i];
      end
    end
  end

  // ---------------------------------------------------------------------------
  // Slot state machines and the priority matrix.
  always_comb begin
    state_d  = state_q;
    tag_d    = tag_q;
    did_d    = did_q;
    iova_d   = iova_q;
    levels_d = levels_q;
    start_d  = start_q;
    level_d  = level_q;
    perm_d   = perm_q;
    access_d = access_q;
    reads_d  = reads_q;
    addr_d   = addr_q;
    shift_d  = shift_q;
    fault_d  = fault_q;
    ahead_d  = ahead_q;
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      clear[i] = 1'b0;
      unique case (state_q[i])
        SlotIdle: begin
          if (accept && alloc[i]) begin
            tag_d[i]    = req_tag_i;
            did_d[i]    = req_did_i;
            iova_d[i]   = req_iova_i[VaBits-1:0];
            levels_d[i] = req_levels_i;
            start_d[i]  = req_start_i;
            access_d[i] = req_access_i;
            if (start_ok) begin
              state_d[i] = SlotRead;
              level_d[i] = req_start_i;
              perm_d[i]  = req_perm_i;
              addr_d[i]  = start_addr;
            end else begin
              state_d[i] = SlotDone;
              fault_d[i] = perm_fault(req_access_i);
            end
            // Its priority against every other slot, by tag order (the row and
            // column of free slots are set again when they are taken).
            for (int unsigned j = 0; j < NumWalkers; j++) begin
              ahead_d[i][j] = j != i && tag_before(tag_q[j], req_tag_i);
              if (j != i) ahead_d[j][i] = !ahead_d[i][j];
            end
          end
        end
        SlotRead: begin
          if (rd_gnt[i] && mem_req_ready_i) begin
            state_d[i] = SlotWait;
            reads_d[i] = reads_q[i] + 3'd1;
          end
        end
        SlotWait: begin
          if (rsp_hit[i]) begin
            unique case (chk)
              ChkNext: begin
                level_d[i] = chk_level;
                perm_d[i]  = chk_perm;
                addr_d[i]  = chk_addr;
                if (rd_gnt[i] && mem_req_ready_i) begin
                  reads_d[i] = reads_q[i] + 3'd1;
                end else begin
                  state_d[i] = SlotRead;
                end
              end
              ChkLeaf: begin
                state_d[i] = SlotDone;
                perm_d[i]  = chk_perm;
                addr_d[i]  = chk_addr;
                shift_d[i] = chk_shift[4:0];
              end
              default: begin  // ChkFault
                state_d[i] = SlotDone;
                perm_d[i]  = '0;
                addr_d[i]  = '0;
                fault_d[i] = chk_fault;
              end
            endcase
          end
        end
        SlotDone: begin
          if (rsp_gnt[i] && rsp_ready_i) begin
            clear[i] = 1'b1;
          end
        end
        // verilator coverage_off
        default: begin  // unreachable: the four states are all listed
          clear[i] = 1'b1;
        end
        // verilator coverage_on
      endcase
      // A freed slot returns to its reset state.
      if (clear[i]) begin
        state_d[i]  = SlotIdle;
        tag_d[i]    = '0;
        did_d[i]    = '0;
        iova_d[i]   = '0;
        levels_d[i] = '0;
        start_d[i]  = '0;
        level_d[i]  = '0;
        perm_d[i]   = '0;
        access_d[i] = '0;
        reads_d[i]  = '0;
        addr_d[i]   = '0;
        shift_d[i]  = '0;
        fault_d[i]  = '0;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int unsigned i = 0; i < NumWalkers; i++) begin
        state_q[i]  <= SlotIdle;
        tag_q[i]    <= '0;
        did_q[i]    <= '0;
        iova_q[i]   <= '0;
        levels_q[i] <= '0;
        start_q[i]  <= '0;
        level_q[i]  <= '0;
        perm_q[i]   <= '0;
        access_q[i] <= '0;
        reads_q[i]  <= '0;
        addr_q[i]   <= '0;
        shift_q[i]  <= '0;
        fault_q[i]  <= '0;
        ahead_q[i]  <= '0;
      end
    end else begin
      state_q  <= state_d;
      tag_q    <= tag_d;
      did_q    <= did_d;
      iova_q   <= iova_d;
      levels_q <= levels_d;
      start_q  <= start_d;
      level_q  <= level_d;
      perm_q   <= perm_d;
      access_q <= access_d;
      reads_q  <= reads_d;
      addr_q   <= addr_d;
      shift_q  <= shift_d;
      fault_q  <= fault_d;
      ahead_q  <= ahead_d;
    end
  end

  always_comb begin
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      busy_o[i] = state_q[i] != SlotIdle;
    end
  end
  assign active_o = |rd_want || |done;

  // ---------------------------------------------------------------------------
  // Assertions and cover points (verilator --assert; --coverage for covers).
`ifndef SYNTHESIS
  // Shadow of the walks in flight, kept apart from the slot state.
  logic [NumWalkers-1:0] inflight_q;
  // before_q[i][j]: slot j's outstanding read was issued before slot i's.
  logic [NumWalkers-1:0] before_q [NumWalkers];
  logic [NumWalkers-1:0] rd_issue, waiting, changed, ahead_chg, read_stall, read_kept, done_stall;
  logic                  tag_dup, req_tag_dup, rsp_from_inflight, reads_ok, rsp_out_of_order;
  logic                  req_tag_window;
  logic                  quiet, base_req, base_slot;
  logic [TagWidth-1:0]   base_tag;
  logic [NumWalkers-1:0] earliest, new_q;

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
    // The checks below are computed only where an assertion looks at them
    // (each branch taken costs simulation time; docs/rtl.md).
    quiet             = !active_o && !req_valid_i && !mem_rsp_valid_i;
    earliest          = '0;
    for (int unsigned i = 0; i < NumWalkers; i++) begin
      waiting[i]    = state_q[i] == SlotWait;
      // A pending read that is not taken stays pending, with its address; a
      // result not taken stays as it is.
      read_stall[i] = state_q[i] == SlotRead && !(rd_gnt[i] && mem_req_ready_i);
      read_kept[i]  = 1'b1;
      if (read_stall[i]) read_kept[i] = state_d[i] == SlotRead && addr_d[i] == addr_q[i];
      done_stall[i] = state_q[i] == SlotDone && !(rsp_gnt[i] && rsp_ready_i);
      // The next edge changes the slot's fields; its priorities.
      changed[i]    = 1'b0;
      ahead_chg[i]  = 1'b0;
      if (quiet || done_stall[i]) begin
        changed[i] = state_d[i] != state_q[i] || tag_d[i] != tag_q[i] || did_d[i] != did_q[i] ||
                     iova_d[i] != iova_q[i] || levels_d[i] != levels_q[i] ||
                     start_d[i] != start_q[i] || level_d[i] != level_q[i] ||
                     perm_d[i] != perm_q[i] || access_d[i] != access_q[i] ||
                     reads_d[i] != reads_q[i] || addr_d[i] != addr_q[i] ||
                     shift_d[i] != shift_q[i] || fault_d[i] != fault_q[i];
      end
      if (quiet) ahead_chg[i] = ahead_d[i] != ahead_q[i];
      // The walk in flight with no other busy walk ahead of it.
      if (busy_o[i] && (ahead_q[i] & busy_o) == '0) earliest = NumWalkers'(1) << i;
      if (rsp_gnt[i]) begin
        rsp_levels        = levels_q[i];
        rsp_start         = start_q[i];
        rsp_from_inflight = inflight_q[i];
      end
      // Reads so far against the levels walked (a read pending at `level`
      // has not been counted yet); an idle slot holds its reset state.
      unique case (state_q[i])
        SlotRead: reads_ok &= level_q[i] >= 3'd1 && level_q[i] <= start_q[i] &&
                             reads_q[i] == start_q[i] - level_q[i];
        SlotWait: reads_ok &= level_q[i] >= 3'd1 && level_q[i] <= start_q[i] &&
                             reads_q[i] == start_q[i] - level_q[i] + 3'd1;
        SlotDone: reads_ok &= reads_q[i] <= start_q[i];
        default:  reads_ok &= tag_q[i] == '0 && did_q[i] == '0 && iova_q[i] == '0 &&
                              levels_q[i] == '0 && start_q[i] == '0 && level_q[i] == '0 &&
                              perm_q[i] == '0 && access_q[i] == '0 && reads_q[i] == '0 &&
                              addr_q[i] == '0 && shift_q[i] == '0 && fault_q[i] == '0;
      endcase
      if (busy_o[i]) reads_ok &= start_q[i] <= levels_q[i];
      if (rsp_hit[i] && (before_q[i] & waiting) != '0) rsp_out_of_order = 1'b1;
      // The slot taken in the last cycle: its tag against every other busy
      // slot's. (Tags are written only when a slot is taken, so each pair is
      // compared once, when the later of the two is taken.)
      if (new_q[i]) begin
        for (int unsigned j = 0; j < NumWalkers; j++) begin
          if (j != i && busy_o[j] && tag_q[j] == tag_q[i]) tag_dup = 1'b1;
        end
      end
    end
    // While a request is presented: its tag is not in flight, and it and the
    // tags in flight lie within half the tag space: all of them lie in the
    // window that starts at the earliest, which is the request's tag or the
    // tag of the earliest walk in flight.
    base_req          = 1'b1;
    base_slot         = 1'b1;
    base_tag          = '0;
    if (req_valid_i) begin
      for (int unsigned i = 0; i < NumWalkers; i++) begin
        if (earliest[i]) base_tag = tag_q[i];
      end
      base_slot = earliest != '0 && tag_in_window(base_tag, req_tag_i);
      for (int unsigned i = 0; i < NumWalkers; i++) begin
        if (busy_o[i]) begin
          if (tag_q[i] == req_tag_i) req_tag_dup = 1'b1;
          if (!tag_in_window(req_tag_i, tag_q[i])) base_req = 1'b0;
          if (!tag_in_window(base_tag, tag_q[i])) base_slot = 1'b0;
        end
      end
    end
    req_tag_window    = !req_valid_i || base_req || base_slot;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      inflight_q <= '0;
      new_q      <= '0;
      for (int unsigned i = 0; i < NumWalkers; i++) begin
        before_q[i] <= '0;
      end
    end else begin
      for (int unsigned i = 0; i < NumWalkers; i++) begin
        new_q[i] <= accept && alloc[i];
        if (accept && alloc[i]) inflight_q[i] <= 1'b1;
        else if (rsp_gnt[i] && rsp_ready_i) inflight_q[i] <= 1'b0;
        // At most one read is issued per cycle: every other slot's read came
        // before it, and it comes before none.
        if (rd_issue[i]) begin
          before_q[i] <= ~(NumWalkers'(1) << i);
        end else if (rd_issue != '0) begin
          before_q[i] <= before_q[i] & ~rd_issue;
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
  // (Each slot's condition is a bit of a vector, computed above: the next
  // state _d is what the edge stores.)
  SlotReadHeld_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      (read_stall & ~read_kept) == '0);
  SlotDoneHeld_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      (done_stall & changed) == '0);
  // Quiet means quiet: the adapter may skip such cycles.
  Quiet_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      !active_o && !req_valid_i && !mem_rsp_valid_i |-> (changed | ahead_chg) == '0);
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
