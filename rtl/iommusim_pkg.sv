// Hand-written types of the iommusim RTL. Architectural constants (fault
// reasons, entry bits, level shifts) are not here: they come from
// iommusim_vtd_pkg, generated from model/include/iommusim/vtd.h at build time.
package iommusim_pkg;

  import iommusim_vtd_pkg::*;

  // R (bit 0) / W (bit 1): an entry's permission bits, a walk's accumulated
  // permissions and a request's access type share this encoding.
  typedef logic [1:0] perm_t;

  // One walk slot's state.
  typedef enum logic [1:0] {
    SlotIdle = 2'd0,  // free (all other fields zero: the reset state)
    SlotRead = 2'd1,  // a table read is pending: waits for the memory request port
    SlotWait = 2'd2,  // the read was accepted: waits for its response (by slot id)
    SlotDone = 2'd3   // the result is ready: waits for the response port
  } slot_state_e;

  // What one paging entry means for its walk.
  typedef enum logic [1:0] {
    ChkNext  = 2'd0,  // a next-level table: read its entry
    ChkLeaf  = 2'd1,  // a leaf: the walk succeeds
    ChkFault = 2'd2   // the walk ends with a fault
  } chk_e;

  // The permission fault of a denied access (model/core/iommu_impl.h,
  // ims_perm_fault): write-only requests report a write fault, all others a
  // read fault.
  function automatic logic [7:0] perm_fault(perm_t access);
    perm_fault = (access == 2'(SlpteW)) ? FrWrite : FrRead;
  endfunction

endpackage
