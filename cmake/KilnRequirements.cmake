# What kiln needs of the compiler and of LibTorch, checked at configure time; each unmet need stops
# configure with one sentence naming what was found. tests/integration/requirements.cmake calls
# these with unmet values.
include_guard(GLOBAL)

# Stops configure with `text`; with KILN_REQUIREMENTS_REPORT set (the test) prints it unwrapped and
# returns from the calling check instead.
macro(kiln_unmet text)
  if(KILN_REQUIREMENTS_REPORT)
    message("${text}")
    return()
  endif()
  message(FATAL_ERROR "${text}")
endmacro()

# FEATURES: CMAKE_CXX_COMPILE_FEATURES; the rest names the compiler in the sentence.
function(kiln_require_cxx20 features id version path)
  if(NOT "cxx_std_20" IN_LIST features)
    kiln_unmet("kiln: the C++ compiler ${id} ${version} (${path}) does not support C++20, which kiln needs (GCC 10 or Clang 13 and newer)")
  endif()
endfunction()

# VERSION and DIR: Torch_VERSION and Torch_DIR; LIBRARY: TORCH_LIBRARY, which must belong to the
# same LibTorch (TorchConfig's find_library searches the system's folders before its own hint, so
# CMAKE_PREFIX_PATH naming a share/cmake folder can pair one LibTorch's headers with another's
# libtorch.so, such as Debian's).
function(kiln_require_torch version dir library)
  if(version VERSION_LESS 1.13)
    kiln_unmet("kiln: found LibTorch ${version} (${dir}), but kiln needs LibTorch 1.13 or newer")
  endif()
  get_filename_component(root "${dir}/../../.." ABSOLUTE)
  get_filename_component(root "${root}" REALPATH)
  get_filename_component(lib "${library}" REALPATH)
  string(FIND "${lib}" "${root}/" at)
  if(NOT at EQUAL 0 AND NOT root STREQUAL "/usr")
    kiln_unmet("kiln: LibTorch's CMake files are in ${dir} but its library was found at ${library}: put the LibTorch folder itself (the one holding lib/ and share/) in CMAKE_PREFIX_PATH")
  endif()
endfunction()
