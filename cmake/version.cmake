# Writes iommusim/version.h from version.h.in: the version given by
# project() and `git describe --always --dirty` of the source tree.
# Used at configure time (include(), then ims_write_version_h()) and on every
# build (cmake -P this file, from the ims_version target), so the commit is
# current; configure_file() rewrites the header only when its text changes,
# so an unchanged commit rebuilds nothing.
#
# Inputs: IMS_SOURCE_DIR, IMS_VERSION (x.y.z), IMS_VERSION_H (output path).
# Never fails for want of git: the description is then "unknown".

function(ims_write_version_h)
  if(NOT IMS_VERSION MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
    message(FATAL_ERROR "version.cmake: IMS_VERSION '${IMS_VERSION}' is not MAJOR.MINOR.PATCH")
  endif()
  set(IMS_VERSION_MAJOR ${CMAKE_MATCH_1})
  set(IMS_VERSION_MINOR ${CMAKE_MATCH_2})
  set(IMS_VERSION_PATCH ${CMAKE_MATCH_3})

  set(IMS_GIT_DESCRIBE unknown)
  find_program(IMS_GIT git)
  if(IMS_GIT)
    # Only this project's own repository counts: a source tarball unpacked
    # inside some other checkout must not report that checkout's commit.
    # No optional locks: the build must not contend for the index with a
    # git command the developer runs at the same time.
    set(ENV{GIT_OPTIONAL_LOCKS} 0)
    execute_process(COMMAND ${IMS_GIT} rev-parse --show-toplevel
                    WORKING_DIRECTORY ${IMS_SOURCE_DIR}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE top ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    file(REAL_PATH "${IMS_SOURCE_DIR}" src)
    if(rc EQUAL 0 AND NOT top STREQUAL "")
      file(REAL_PATH "${top}" top)
      if(top STREQUAL src)
        execute_process(COMMAND ${IMS_GIT} describe --always --dirty
                        WORKING_DIRECTORY ${IMS_SOURCE_DIR}
                        RESULT_VARIABLE rc OUTPUT_VARIABLE desc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
        # It goes into a C string: only characters that need no escaping.
        if(rc EQUAL 0 AND desc MATCHES "^[A-Za-z0-9._/+-]+$")
          set(IMS_GIT_DESCRIBE ${desc})
        endif()
      endif()
    endif()
  endif()

  configure_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/version.h.in ${IMS_VERSION_H} @ONLY)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE)
  ims_write_version_h()
endif()
