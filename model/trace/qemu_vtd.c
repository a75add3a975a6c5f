/* placeholder: being written */
typedef int ims_placeholder_qemu_vtd;
