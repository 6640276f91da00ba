# cmake -DBUILD_DIR=... -DTARGET=... -DSOURCE=... -DEXPECT=fail|success -P KilnCheckCompile.cmake
# Builds TARGET; with EXPECT=fail, passes only if the build fails and its output matches the
# regex on SOURCE's `// kiln-expect-error: ` line; with EXPECT=success, only if it builds.
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
  message(STATUS "${TARGET} failed as expected with: ${CMAKE_MATCH_0}")
else()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TARGET} (the compiling twin) did not compile:\n${out}")
  endif()
endif()
