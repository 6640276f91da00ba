# SPDX-License-Identifier: Apache-2.0
# kiln_optional_target(NAME HEADER DEBIAN "<packages>" PACKAGES <find_package args>... LIBS <targets>...)
#
# Makes kiln::NAME (kiln plus LIBS) when every package is found (each PACKAGES entry is one
# find_package call's arguments, e.g. "nlohmann_json 3"); else says, in one status line, which
# Debian packages provide them. Sets KILN_HAS_<NAME> (upper case) ON or OFF, appends NAME to
# KILN_OPTIONAL_TARGETS (installed and exported with kiln) and the find_package calls to
# KILN_OPTIONAL_FINDS (written into kiln-config.cmake, each call once).
function(kiln_optional_target name header)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "DEBIAN" "PACKAGES;LIBS")
  set(found ON)
  set(finds "${KILN_OPTIONAL_FINDS}")
  foreach(package IN LISTS arg_PACKAGES)
    string(REPLACE " " ";" package_args "${package}")
    list(GET package_args 0 package_name)
    find_package(${package_args} QUIET)
    if(NOT ${package_name}_FOUND)
      set(found OFF)
    endif()
    set(line "find_package(${package} QUIET)")
    string(FIND "${finds}" "${line}" seen)
    if(seen EQUAL -1)
      string(APPEND finds "${line}\n")
    endif()
  endforeach()
  string(TOUPPER "${name}" upper)
  if(NOT found)
    set(KILN_HAS_${upper} OFF PARENT_SCOPE)
    message(STATUS "kiln: kiln::${name} left out: ${header} needs ${arg_LIBS} (Debian: ${arg_DEBIAN})")
    return()
  endif()
  add_library(kiln_${name} INTERFACE)
  add_library(kiln::${name} ALIAS kiln_${name})
  set_target_properties(kiln_${name} PROPERTIES EXPORT_NAME ${name})
  target_link_libraries(kiln_${name} INTERFACE kiln ${arg_LIBS})
  set(KILN_HAS_${upper} ON PARENT_SCOPE)
  set(KILN_OPTIONAL_TARGETS ${KILN_OPTIONAL_TARGETS} ${name} PARENT_SCOPE)
  set(KILN_OPTIONAL_FINDS "${finds}" PARENT_SCOPE)
endfunction()
