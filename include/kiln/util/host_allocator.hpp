// SPDX-License-Identifier: Apache-2.0
// kiln/util/host_allocator.hpp — tune_host_allocator: keep freed host memory in the process instead of returning it to the kernel.
#pragma once
#include <climits>
#include <cstdlib>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>  // mallopt
#endif

namespace kiln {

/// What tune_host_allocator() did.
enum class HostAllocatorTuning {
  applied,         ///< glibc's mallopt settings below are in force
  opted_out,       ///< KILN_HOST_ALLOCATOR=system, or TrainerConfig::tune_host_allocator = false
  user_settings,   ///< the user set glibc's MALLOC_*_ variables: theirs win
  not_glibc,       ///< another C library: nothing to do
};

/// Makes glibc's malloc keep freed memory for reuse, once per process: large blocks come from
/// the heap instead of mmap (M_MMAP_MAX = 0), and the heap is not trimmed back to the kernel
/// (M_TRIM_THRESHOLD = INT_MAX, M_TOP_PAD = 256 MiB). With glibc's defaults every step's
/// activation and gradient buffers above the mmap threshold are unmapped when freed and
/// page-faulted in again at the next step; measured on a 2-core machine this made the
/// Fashion-MNIST CNN run at a third of the speed (benchmarks/RESULTS.md, cpu_throughput).
/// The cost: the process keeps its peak heap, as PyTorch's CUDA caching allocator keeps
/// device memory.
///
/// Trainer calls it when a fit/validate/test/predict starts, unless
/// TrainerConfig::tune_host_allocator is false or the environment says
/// KILN_HOST_ALLOCATOR=system. Memory allocated before the call is not affected; later
/// allocations are. A program that preloads jemalloc or tcmalloc gets no effect from it.
inline HostAllocatorTuning tune_host_allocator(bool wanted = true) {
  if (const char* v = std::getenv("KILN_HOST_ALLOCATOR"); !wanted || (v && std::string_view(v) == "system"))
    return HostAllocatorTuning::opted_out;
  for (const char* name : {"MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_"})
    if (std::getenv(name)) return HostAllocatorTuning::user_settings;
#if defined(__GLIBC__)
  static const bool once = [] {
    // mallopt takes an int: INT_MAX (2 GiB) is the largest trim threshold it accepts, as good
    // as never for a process whose free top chunk stays far below that.
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1 &&
           mallopt(M_TOP_PAD, 256 << 20) == 1;
  }();
  return once ? HostAllocatorTuning::applied : HostAllocatorTuning::not_glibc;
#else
  return HostAllocatorTuning::not_glibc;
#endif
}

}  // namespace kiln
