// SPDX-License-Identifier: Apache-2.0
// kiln/util/threads.hpp — how many threads LibTorch's kernels use: the cores this process may use, shared among the processes of its node.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <thread>

#include <ATen/Parallel.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/linkage.hpp>

namespace kiln {

namespace detail {
KILN_DECL std::optional<int> positive_env(const char* name);
}  // namespace detail

/// The cores this process may run on (its CPU affinity mask), else the machine's.
KILN_DECL int usable_cores();

/// Processes of this run on this node: LOCAL_WORLD_SIZE (torchrun, kiln's launcher), else
/// OpenMPI's OMPI_COMM_WORLD_LOCAL_SIZE, else SLURM_NTASKS_PER_NODE, else 1.
KILN_DECL int local_processes();

/// The intra-op thread count kiln uses unless told otherwise: KILN_NUM_THREADS, else
/// OMP_NUM_THREADS (torchrun sets it to 1 per rank unless the user did), else
/// usable_cores() / local_processes(), at least 1 — so ranks on one node never oversubscribe.
KILN_DECL int default_num_threads();

/// Sets LibTorch's intra-op threads to `requested` (TrainerConfig::num_threads), else
/// default_num_threads(); inter-op threads to the same count, where LibTorch still allows it
/// (only before its inter-op pool first runs). Returns the intra-op count now in force.
KILN_DECL int configure_threads(std::optional<int> requested = std::nullopt);

namespace detail {
/// Makes LibTorch's ops in the calling thread run on one thread, as PyTorch's DataLoader does in
/// its worker processes. For kiln's loader workers: without it each worker thread inherits the
/// process's intra-op count and starts an OpenMP team of its own, so 2 workers on 2 cores ran
/// 6 threads and served a third of the batches (benchmarks/RESULTS.md, data_pipeline). With
/// OpenMP (LibTorch's CPU backend here) the count is per thread; ATen sets it from the global
/// count on a thread's first parallel op, so that is triggered first. Without OpenMP: nothing.
KILN_DECL void one_intra_op_thread_here();
}  // namespace detail

}  // namespace kiln

#if KILN_DEFINITIONS
#include <dlfcn.h>  // dlsym: omp_set_num_threads from the OpenMP runtime LibTorch loaded, without linking it
#include <sched.h>  // sched_getaffinity: the cores this process may run on (taskset, cgroups, SLURM)

namespace kiln {

KILN_DECL int usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

KILN_DECL int local_processes() {
  for (const char* name : {"LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"})
    if (auto n = detail::positive_env(name)) return *n;
  return 1;
}

KILN_DECL int default_num_threads() {
  if (auto n = detail::positive_env("KILN_NUM_THREADS")) return *n;
  if (auto n = detail::positive_env("OMP_NUM_THREADS")) return *n;
  return std::max(1, usable_cores() / local_processes());
}

KILN_DECL int configure_threads(std::optional<int> requested) {
  const int n = requested.value_or(default_num_threads());
  if (n < 1) throw Error(fmt::format("kiln: TrainerConfig.num_threads must be >= 1 (got {})", n));
  if (at::get_num_threads() != n) at::set_num_threads(n);
  static bool interop_set = false;  // LibTorch refuses a second call, and any call once the pool ran
  if (!interop_set) {
    interop_set = true;
    try {
      at::set_num_interop_threads(n);
    } catch (const std::exception&) {  // the pool already started (the program used it): keep its size
    }
  }
  return at::get_num_threads();
}

namespace detail {

KILN_DECL std::optional<int> positive_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 1 || n > 4096)
    throw Error(fmt::format("kiln: environment variable {}={:?} is not a thread count (1 to 4096)", name, v));
  return static_cast<int>(n);
}

KILN_DECL void one_intra_op_thread_here() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  at::internal::lazy_init_num_threads();
  (void)at::get_num_threads();
  using SetThreads = void (*)(int);
  static const auto set_omp_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set_omp_threads) set_omp_threads(1);
}

}  // namespace detail

}  // namespace kiln
#endif  // KILN_DEFINITIONS
