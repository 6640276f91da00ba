# kiln_header_check: one translation unit per public header, each including it twice, so a
# header that does not compile alone (a missing include) or lacks #pragma once breaks the build.
# The TUs reuse the <torch/torch.h> precompiled header, so they check kiln's own includes.
include_guard(GLOBAL)
function(kiln_add_header_check)
  file(GLOB_RECURSE headers RELATIVE ${PROJECT_SOURCE_DIR}/include CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/include/kiln/*.hpp)
  set(sources)
  foreach(h ${headers})
    string(MAKE_C_IDENTIFIER ${h} id)
    set(src ${PROJECT_BINARY_DIR}/header_check/${id}.cpp)
    file(CONFIGURE OUTPUT ${src} CONTENT "#include <${h}>\n#include <${h}>\n")
    list(APPEND sources ${src})
  endforeach()
  add_library(kiln_header_check OBJECT ${sources})
  kiln_dev_target(kiln_header_check)
endfunction()
