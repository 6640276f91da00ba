# cmake -DBUILD_DIR=... -DTARGET=... -DSOURCE=... -DEXPECT=fail|success -P KilnCheckCompile.cmake
# Builds TARGET; with EXPECT=fail, passes only if the build fails and its output matches the
# regex on SOURCE's `// kiln-expect-error: ` line; with EXPECT=success, only if it builds.
# A failing case must also say it first and briefly: the compiler's first error line must match the
# regex, and the compiler's whole output must fit in 16 lines, or in the number on SOURCE's
# `// kiln-max-lines: N` line (for a case whose first error is the compiler's own, not kiln's).
file(STRINGS ${SOURCE} line REGEX "^// kiln-expect-error: " LIMIT_COUNT 1)
string(REGEX REPLACE "^// kiln-expect-error: " "" regex "${line}")
if(EXPECT STREQUAL "fail" AND regex STREQUAL "")
  message(FATAL_ERROR "${SOURCE} has no `// kiln-expect-error: <regex>` line")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
# GCC quotes with typographic quotes in UTF-8 locales and plain ones otherwise: accept both.
string(REPLACE "‘" "'" out "${out}")
string(REPLACE "’" "'" out "${out}")
if(EXPECT STREQUAL "fail")
  if(rc EQUAL 0)
    message(FATAL_ERROR "${TARGET} compiled, but it must fail with: ${regex}")
  endif()
  if(NOT out MATCHES "${regex}")
    message(FATAL_ERROR "${TARGET} failed without the expected diagnostic.\nExpected (regex): ${regex}\nOutput:\n${out}")
  endif()
  # The compiler's lines, without the build tool's (make's progress and error lines, ninja's).
  # Make prints "Building CXX object ..." without its "[ NN%]" prefix when it has no progress
  # count to give, which happens when ctest builds several cases at once: that line is make's too.
  set(max_lines 16)
  file(STRINGS ${SOURCE} max_line REGEX "^// kiln-max-lines: [0-9]+" LIMIT_COUNT 1)
  if(max_line MATCHES "([0-9]+)")
    set(max_lines ${CMAKE_MATCH_1})
  endif()
  string(REPLACE ";" "<semicolon>" lines "${out}")
  string(REPLACE "\n" ";" lines "${lines}")
  set(count 0)
  set(first_error "")
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^(\\[ *[0-9]+%\\]|Building CXX object |g?make(\\[[0-9]+\\])?: |ninja: |FAILED: )")
      continue()
    endif()
    math(EXPR count "${count} + 1")
    if(first_error STREQUAL "" AND line MATCHES " error: ")
      set(first_error "${line}")
    endif()
  endforeach()
  string(REPLACE "<semicolon>" ";" first_error "${first_error}")
  if(NOT first_error MATCHES "${regex}")
    message(FATAL_ERROR "${TARGET} failed, but its first error line is not the expected diagnostic.\nExpected (regex): ${regex}\nFirst error line: ${first_error}\nOutput:\n${out}")
  endif()
  if(count GREATER max_lines)
    message(FATAL_ERROR "${TARGET} failed with the expected diagnostic, but in ${count} lines of compiler output (at most ${max_lines}).\nOutput:\n${out}")
  endif()
  message(STATUS "${TARGET} failed as expected, in ${count} lines, with: ${first_error}")
else()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TARGET} (the compiling twin) did not compile:\n${out}")
  endif()
endif()
