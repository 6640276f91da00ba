# kiln_add_compile_fail_test(NAME): tests/compile_fail/NAME.cpp must not compile with
# KILN_MISTAKE defined, and the compiler output must match the regex on its
# `// kiln-expect-error: <regex>` line; without KILN_MISTAKE (the compiling twin) it must compile.
include_guard(GLOBAL)
set(KILN_CHECK_COMPILE_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/KilnCheckCompile.cmake)

function(kiln_compile_fail_target target source mistake)
  add_library(${target} OBJECT EXCLUDE_FROM_ALL ${source})
  kiln_dev_target(${target})
  # Only the diagnostics matter: skip code generation, which at -O3 is most of a twin's time.
  target_compile_options(${target} PRIVATE -fsyntax-only)
  if(mistake)
    target_compile_definitions(${target} PRIVATE KILN_MISTAKE=1)
  endif()
endfunction()

# NO_TWIN: skip the compiling twin (for the harness's own sanity cases).
function(kiln_add_compile_fail_test name)
  cmake_parse_arguments(arg "NO_TWIN" "" "" ${ARGN})
  set(source ${CMAKE_CURRENT_SOURCE_DIR}/${name}.cpp)
  kiln_compile_fail_target(kiln_cf_${name} ${source} TRUE)
  add_test(NAME compile_fail.${name}
           COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR} -DTARGET=kiln_cf_${name}
                   -DSOURCE=${source} -DEXPECT=fail -P ${KILN_CHECK_COMPILE_SCRIPT})
  set_tests_properties(compile_fail.${name} PROPERTIES LABELS compile_fail)
  if(NOT arg_NO_TWIN)
    kiln_compile_fail_target(kiln_cf_${name}_twin ${source} FALSE)
    add_test(NAME compile_fail.${name}.twin
             COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR} -DTARGET=kiln_cf_${name}_twin
                     -DSOURCE=${source} -DEXPECT=success -P ${KILN_CHECK_COMPILE_SCRIPT})
    set_tests_properties(compile_fail.${name}.twin PROPERTIES LABELS compile_fail)
  endif()
endfunction()
