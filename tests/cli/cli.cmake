# Command-line tests: every one runs through tests/cli/expect.sh, which
# requires the exact exit status AND the expected output, rejects crash and
# sanitizer reports, prints what it got on failure, and prefixes the binary
# with $IMS_TEST_WRAPPER (e.g. valgrind) when that is set. Every such test
# carries the CTest label "cli" (ctest -L cli).
set(IMS_EXPECT ${CMAKE_CURRENT_LIST_DIR}/expect.sh)

# ims_cli_expect(NAME EXIT [MATCH re...] [MATCH_ALL re...] [NOMATCH re...]
#                [SH script] [DIR dir] [LABELS l...] [ARGS a...])
# Runs `iommusim ARGS...` (or the bash SCRIPT, in which `ims` is the binary
# and "$@" are ARGS) and requires exit status EXIT, a line matching each
# MATCH (grep -E), the whole output matching each MATCH_ALL (grep -Ez) and no
# line matching any NOMATCH.
function(ims_cli_expect name code)
  cmake_parse_arguments(T "" "SH;DIR" "MATCH;MATCH_ALL;NOMATCH;LABELS;ARGS" ${ARGN})
  if(T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ims_cli_expect(${name}): unexpected arguments ${T_UNPARSED_ARGUMENTS}")
  endif()
  set(opts)
  foreach(re IN LISTS T_MATCH)
    list(APPEND opts -m "${re}")
  endforeach()
  foreach(re IN LISTS T_MATCH_ALL)
    list(APPEND opts -M "${re}")
  endforeach()
  foreach(re IN LISTS T_NOMATCH)
    list(APPEND opts -n "${re}")
  endforeach()
  if(DEFINED T_SH)
    list(APPEND opts -s "${T_SH}")
  endif()
  if(DEFINED T_DIR)
    list(APPEND opts -C "${T_DIR}")
  endif()
  add_test(NAME ${name} COMMAND bash ${IMS_EXPECT} ${opts} $<TARGET_FILE:iommusim> ${code} ${T_ARGS})
  # A hung command (e.g. a FIFO nobody writes) fails in minutes, not hours.
  set_tests_properties(${name} PROPERTIES LABELS "cli;${T_LABELS}" TIMEOUT 300)
endfunction()

# ims_cli_test(NAME EXIT REGEX args...): iommusim args..., exit status EXIT
# and (unless REGEX is "") a line of output matching REGEX.
function(ims_cli_test name code regex)
  if(regex STREQUAL "")
    ims_cli_expect(${name} ${code} ARGS ${ARGN})
  else()
    ims_cli_expect(${name} ${code} MATCH "${regex}" ARGS ${ARGN})
  endif()
endfunction()
