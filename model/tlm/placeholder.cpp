namespace ims { int placeholder_tlm; }
