# Finds kiln's dependencies; the same calls run in kiln-config.cmake for consumers.
include_guard(GLOBAL)
find_package(Torch REQUIRED)
include(KilnTorchWheel)
find_package(ZLIB REQUIRED)        # kiln::data::read_idx reads .gz files
include(KilnRequirements)
kiln_require_torch("${Torch_VERSION}" "${Torch_DIR}" "${TORCH_LIBRARY}")
# fmt: LibTorch 2.x ships its own copy in its include folder, which comes before the system's on
# every compile line, so that copy is the one kiln's headers see; it is used header-only (its
# library is not exported). Otherwise the system's fmt (Debian: libfmt-dev).
set(KILN_FMT_FROM_TORCH OFF)
foreach(kiln_dir ${TORCH_INCLUDE_DIRS})
  # A system folder (Debian's LibTorch lists /usr/include) holds the system's fmt, not a copy
  # shipped with LibTorch: that one is compiled, and header-only would cost every TU seconds.
  if(EXISTS "${kiln_dir}/fmt/format.h" AND NOT kiln_dir STREQUAL "/usr/include"
     AND NOT kiln_dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    set(KILN_FMT_FROM_TORCH ON)
  endif()
endforeach()
if(NOT KILN_FMT_FROM_TORCH)
  find_package(fmt REQUIRED)
endif()

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

# c10d's NCCL process group (Strategy<DDP> on CUDA) compiles only against a LibTorch built with
# CUDA and NCCL: its header is guarded by USE_C10D_NCCL and includes nccl.h. Where LibTorch has
# no torch_cuda target (Debian's CPU build) the probe is skipped; elsewhere one probe compile
# decides. -DKILN_HAS_NCCL=0|1 overrides it.
if(NOT DEFINED KILN_HAS_NCCL)
  set(KILN_HAS_NCCL 0 CACHE INTERNAL "")
  if(TARGET torch_cuda)
    include(CheckCXXSourceCompiles)
    find_path(KILN_NCCL_INCLUDE_DIR nccl.h HINTS ${KILN_TORCH_WHEEL_NCCL_INCLUDE} ENV NCCL_ROOT ENV NCCL_HOME ENV CUDA_HOME PATH_SUFFIXES include)
    set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS})
    if(KILN_NCCL_INCLUDE_DIR)
      list(APPEND CMAKE_REQUIRED_INCLUDES ${KILN_NCCL_INCLUDE_DIR})
    endif()
    set(CMAKE_REQUIRED_DEFINITIONS -DUSE_C10D_NCCL=1)
    set(CMAKE_REQUIRED_FLAGS "-std=c++20")
    set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # compile only: linking CUDA is not in question
    check_cxx_source_compiles([[
      #include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
      auto kiln_probe() { return c10d::ProcessGroupNCCL::Options::create(); }
      int main() { return 0; }]] KILN_NCCL_COMPILES)
    unset(CMAKE_TRY_COMPILE_TARGET_TYPE)
    unset(CMAKE_REQUIRED_FLAGS)
    unset(CMAKE_REQUIRED_DEFINITIONS)
    unset(CMAKE_REQUIRED_INCLUDES)
    if(KILN_NCCL_COMPILES)
      set(KILN_HAS_NCCL 1 CACHE INTERNAL "")
    endif()
  endif()
endif()
message(STATUS "kiln: Gloo process group ${KILN_HAS_GLOO}, NCCL process group ${KILN_HAS_NCCL}")
