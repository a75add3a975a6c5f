/* placeholder: being written */
typedef int ims_placeholder_topo;
