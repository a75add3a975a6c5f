# What `cmake --install` puts where (docs/install.md), and the two ways to
# consume the installed libraries: the CMake package (find_package) and the
# pkg-config files. Included from the top-level CMakeLists.txt after model/
# and tools/, so every target exists.
#
# Consumers see:
#   iommusim::core  the C11 library for C (and C++) users: the functional
#                   core and the trace library (libims_core.a, libims_trace.a;
#                   libzstd). An INTERFACE target over the two below.
#   iommusim::tlm   the SystemC TLM-2.0 model (libims_tlm.a, C++17), with
#                   iommusim::core, systemc and Threads. Not in an
#                   IMS_CORE_ONLY build.
#   iommusim::ims_core, iommusim::ims_trace
#                   the two C libraries one by one (ims_core alone needs no
#                   libzstd).
# The same names are ALIASes in this build, for projects that add iommusim
# with add_subdirectory().

include(CMakePackageConfigHelpers)

set(IMS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/iommusim)
set(IMS_HAVE_TLM_PACKAGE OFF)
if(TARGET ims_tlm)
  set(IMS_HAVE_TLM_PACKAGE ON)
endif()

add_library(ims_c INTERFACE)
target_link_libraries(ims_c INTERFACE ims_trace ims_core)
set_target_properties(ims_c PROPERTIES EXPORT_NAME core)
add_library(iommusim::core ALIAS ims_c)
add_library(iommusim::ims_core ALIAS ims_core)
add_library(iommusim::ims_trace ALIAS ims_trace)
if(IMS_HAVE_TLM_PACKAGE)
  set_target_properties(ims_tlm PROPERTIES EXPORT_NAME tlm)
  add_library(iommusim::tlm ALIAS ims_tlm)
endif()

# A sanitized static library links only into a sanitized program: the
# installed targets say so (in this build add_link_options() does it).
if(IMS_SANITIZE)
  target_link_options(ims_core INTERFACE $<INSTALL_INTERFACE:${IMS_SANITIZE_LINK_FLAGS}>)
endif()

# ---- Libraries and the CMake package. Two export sets, so that an
# IMS_CORE_ONLY install has a complete package without the tlm file.
install(TARGETS ims_core ims_trace ims_c EXPORT iommusim-core
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT iommusim-core NAMESPACE iommusim:: FILE iommusim-core-targets.cmake
        DESTINATION ${IMS_CMAKE_DIR})
if(IMS_HAVE_TLM_PACKAGE)
  install(TARGETS ims_tlm EXPORT iommusim-tlm ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT iommusim-tlm NAMESPACE iommusim:: FILE iommusim-tlm-targets.cmake
          DESTINATION ${IMS_CMAKE_DIR})
endif()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/iommusim-config.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/iommusim-config.cmake
                              INSTALL_DESTINATION ${IMS_CMAKE_DIR} NO_SET_AND_CHECK_MACRO)
# 0.x: a new minor version may break the interface.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/iommusim-config-version.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/iommusim-config.cmake
              ${PROJECT_BINARY_DIR}/cmake/iommusim-config-version.cmake
        DESTINATION ${IMS_CMAKE_DIR})

# ---- Headers. Globbed, so a header added to model/include/iommusim is
# installed without touching this file (tests/install checks that every one
# is). The *.hpp and simcfg.h belong to the SystemC model (simcfg.c is in
# ims_tlm): an IMS_CORE_ONLY install leaves them out.
file(GLOB IMS_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/model/include/iommusim/*.h
                                        ${PROJECT_SOURCE_DIR}/model/include/iommusim/*.hpp)
set(IMS_CORE_HEADERS ${IMS_HEADERS})
list(FILTER IMS_CORE_HEADERS EXCLUDE REGEX "(\\.hpp|/simcfg\\.h)$")
set(IMS_TLM_HEADERS ${IMS_HEADERS})
list(FILTER IMS_TLM_HEADERS INCLUDE REGEX "(\\.hpp|/simcfg\\.h)$")
# cosim.hpp is the RTL co-simulation's (ims_rtl), which is built into the
# tool but not installed: its library carries the verilated walker and
# Verilator's runtime (docs/install.md).
list(FILTER IMS_TLM_HEADERS EXCLUDE REGEX "/cosim\\.hpp$")

install(FILES ${IMS_CORE_HEADERS} ${IMS_VERSION_H} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/iommusim)
if(IMS_HAVE_TLM_PACKAGE)
  install(FILES ${IMS_TLM_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/iommusim)
endif()

# ---- pkg-config: iommusim.pc (the C library), iommusim-tlm.pc (the SystemC
# model). They hold absolute paths (a relative ${pcfiledir} prefix would
# turn /usr/include into a -I that pkg-config no longer drops, which breaks
# C++'s #include_next), and the prefix is known only at install time
# (--prefix): so they are configured here with every value but the prefix,
# and written with the prefix by the install script.
foreach(d LIBDIR INCLUDEDIR DATADIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(IMS_PC_${d} "${CMAKE_INSTALL_${d}}")
  else()
    set(IMS_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
set(IMS_PC_LIBS_EXTRA "")
if(IMS_SANITIZE)
  list(JOIN IMS_SANITIZE_LINK_FLAGS " " IMS_PC_LIBS_EXTRA)
  string(PREPEND IMS_PC_LIBS_EXTRA " ")
endif()
set(IMS_PC_PREFIX "@IMS_PC_PREFIX@")  # kept for the install-time pass
set(IMS_PC_FILES iommusim)
if(IMS_HAVE_TLM_PACKAGE)
  list(APPEND IMS_PC_FILES iommusim-tlm)
endif()
foreach(pc ${IMS_PC_FILES})
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${pc}.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc.in @ONLY)
  # One staging directory per prefix: two installs may run at once.
  install(CODE "
    set(IMS_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    string(MD5 ims_pc_dir \"\${CMAKE_INSTALL_PREFIX}\")
    set(ims_pc_dir \"${PROJECT_BINARY_DIR}/pkgconfig/\${ims_pc_dir}\")
    configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc.in\" \"\${ims_pc_dir}/${pc}.pc\" @ONLY)
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\" TYPE FILE
         FILES \"\${ims_pc_dir}/${pc}.pc\")")
endforeach()

# ---- Data the tool finds at run time (ims_data_dir() in tools/main.c:
# bin/../share/iommusim), and the docs.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/iommusim/configs
        FILES_MATCHING PATTERN "*.cfg")
file(GLOB IMS_TRACES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/traces/*.itr.zst)
install(FILES ${IMS_TRACES} ${PROJECT_SOURCE_DIR}/traces/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/iommusim/traces)
# README.md beside docs/, as in the repository, so its links resolve.
file(GLOB IMS_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${IMS_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
