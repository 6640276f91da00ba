# Settings for kiln's own tests, examples and benchmarks (never put on the kiln target).
include_guard(GLOBAL)

find_program(KILN_CCACHE ccache)
if(KILN_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${KILN_CCACHE})
endif()
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()
if(KILN_SANITIZE)
  # Everything built here, the precompiled header included; LibTorch itself stays uninstrumented.
  add_compile_options(-fsanitize=${KILN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all -g)
  add_link_options(-fsanitize=${KILN_SANITIZE})
endif()
option(KILN_DEV_TIME_TRACE "Report compile time per translation unit" OFF)

set(KILN_DEV_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

# One precompiled <torch/torch.h> shared by every heavy translation unit: the header alone takes
# ~34 s to parse here, so each TU that reuses it saves most of that. Two of them: GCC takes a
# precompiled header only at the optimisation level it was made with, and the tests compile
# without optimisation (kiln_test_target).
foreach(pch kiln_pch kiln_pch_tests)
  add_library(${pch} STATIC ${PROJECT_SOURCE_DIR}/cmake/kiln_pch.cpp)
  target_link_libraries(${pch} PUBLIC kiln::kiln)
  target_compile_options(${pch} PRIVATE ${KILN_DEV_WARNINGS})
  target_precompile_headers(${pch} PRIVATE <torch/torch.h>)
endforeach()
target_compile_options(kiln_pch_tests PRIVATE -O0)

# _kiln_dev_settings(TARGET PCH [OPTION...]): kiln's warnings (torch's headers come in as system
# headers), the precompiled header PCH, OPTIONs, and kiln.
function(_kiln_dev_settings target pch)
  target_compile_options(${target} PRIVATE ${KILN_DEV_WARNINGS} ${ARGN})
  if(KILN_DEV_TIME_TRACE)
    target_compile_options(${target} PRIVATE -ftime-report)
  endif()
  target_precompile_headers(${target} REUSE_FROM ${pch})
  target_link_libraries(${target} PRIVATE kiln::kiln)
endfunction()

# kiln_dev_target(TARGET): an example or benchmark, compiled as the build type says.
function(kiln_dev_target target)
  _kiln_dev_settings(${target} kiln_pch)
endfunction()

# kiln_test_target(TARGET): a test or a test's probe, compiled without optimisation. A test's time
# goes into LibTorch's kernels, which stay optimised (the kill-and-resume probe runs in 2.1 s at -O0
# and 2.2 s at -O3), while -O0 halves a Trainer's compile time (31 s to 16 s for a probe).
function(kiln_test_target target)
  _kiln_dev_settings(${target} kiln_pch_tests -O0)
endfunction()
