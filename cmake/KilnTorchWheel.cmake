# LibTorch from PyPI's torch wheel: its CUDA libraries (NCCL, cuDNN, cuBLAS, ...) are the nvidia-*
# wheels beside it, which libtorch_cuda.so finds through its own RUNPATH. A program linked against
# it would otherwise get the CUDA toolkit's copies, found first on the link line and in the
# program's RUNPATH: an older NCCL fails the link (undefined ncclCommGrow & co.), an older cudart
# fails at run time. Put the wheels' folders first, for the linker and at run time. Included after
# find_package(Torch) by kiln's build and by kiln-config.cmake.
include_guard(GLOBAL)
if(TARGET torch AND DEFINED TORCH_INSTALL_PREFIX)
  get_filename_component(kiln_site "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
  file(GLOB kiln_wheel_libs LIST_DIRECTORIES true "${kiln_site}/nvidia/*/lib")
  if(kiln_wheel_libs AND EXISTS "${TORCH_INSTALL_PREFIX}/lib/libtorch_cuda.so")
    set(KILN_TORCH_WHEEL_NCCL_INCLUDE "${kiln_site}/nvidia/nccl/include")  # NCCL's header, same version
    list(JOIN kiln_wheel_libs ":" kiln_joined)
    set_property(TARGET torch APPEND PROPERTY INTERFACE_LINK_OPTIONS
                 "LINKER:-rpath-link,${kiln_joined}" "LINKER:-rpath,${kiln_joined}")
  endif()
endif()
