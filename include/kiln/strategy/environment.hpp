// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/environment.hpp — this process's rank and world size, as the launcher set them.
#pragma once
#include <cstdlib>
#include <string>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>

namespace kiln {

/// Where this process sits among the processes of one run.
struct ProcessEnvironment {
  int rank = 0;
  int local_rank = 0;
  int world_size = 1;
  const char* launcher = "none";  ///< "torchrun" (or kiln's own), "mpirun", "slurm" or "none"
};

namespace detail {
inline bool env_int(const char* name, int& out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return false;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 0)
    throw Error(fmt::format("kiln: environment variable {}={:?} is not a non-negative integer", name, v));
  out = static_cast<int>(n);
  return true;
}
}  // namespace detail

/// Reads the launcher's variables: RANK/WORLD_SIZE/LOCAL_RANK (torchrun, kiln's launcher), then
/// OpenMPI's OMPI_COMM_WORLD_*, then SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID; none: one process.
inline ProcessEnvironment process_environment() {
  struct Names { const char *rank, *world, *local, *launcher; };
  for (const Names n : {Names{"RANK", "WORLD_SIZE", "LOCAL_RANK", "torchrun"},
                        Names{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "mpirun"},
                        Names{"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "slurm"}}) {
    ProcessEnvironment e;
    if (!detail::env_int(n.rank, e.rank) || !detail::env_int(n.world, e.world_size)) continue;
    detail::env_int(n.local, e.local_rank);
    if (e.world_size < 1 || e.rank >= e.world_size)
      throw Error(fmt::format("kiln: {}={} is not below {}={}", n.rank, e.rank, n.world, e.world_size));
    e.launcher = n.launcher;
    return e;
  }
  return {};
}

/// The first host of a SLURM node list ("node[07-09,12],gpu3" -> "node07"): where rank 0 runs,
/// so the rendezvous address under SLURM when MASTER_ADDR is not set.
inline std::string slurm_first_node(const std::string& list) {
  const auto comma = list.find(',');
  const auto bracket = list.find('[');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket)) return list.substr(0, comma);
  const auto close = list.find(']', bracket);
  if (close == std::string::npos) throw Error(fmt::format("kiln: SLURM node list {:?} has an unclosed '['", list));
  const auto inner = list.substr(bracket + 1, close - bracket - 1);
  const auto first = inner.substr(0, inner.find_first_of(",-"));
  return list.substr(0, bracket) + first;
}

}  // namespace kiln
