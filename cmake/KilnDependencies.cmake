# Finds kiln's dependencies; the same calls run in kiln-config.cmake for consumers.
include_guard(GLOBAL)
find_package(Torch REQUIRED)
find_package(Boost REQUIRED)        # header-only use: Boost.Hana
find_package(range-v3 REQUIRED)
find_package(fmt REQUIRED)
find_package(ZLIB REQUIRED)        # kiln::data::read_idx reads .gz files

# Under add_subdirectory, imported targets found here would be visible only inside kiln's
# directory, and a consumer linking kiln::kiln could not resolve torch_cpu & co.
if(NOT PROJECT_IS_TOP_LEVEL)
  get_directory_property(kiln_imported IMPORTED_TARGETS)
  foreach(t ${kiln_imported})
    get_target_property(kiln_is_global ${t} IMPORTED_GLOBAL)
    if(NOT kiln_is_global)
      set_target_properties(${t} PROPERTIES IMPORTED_GLOBAL TRUE)
    endif()
  endforeach()
endif()

# c10d's Gloo process group needs gloo's headers (Debian: libgloo-dev); LibTorch's header guards
# it behind USE_C10D_GLOO. Without them kiln::dist works on one process only.
include(CheckIncludeFileCXX)
if(NOT DEFINED KILN_HAS_GLOO)
  check_include_file_cxx(gloo/rendezvous/store.h KILN_GLOO_HEADERS)
  if(KILN_GLOO_HEADERS)
    set(KILN_HAS_GLOO 1 CACHE INTERNAL "")
  else()
    set(KILN_HAS_GLOO 0 CACHE INTERNAL "")
  endif()
endif()
