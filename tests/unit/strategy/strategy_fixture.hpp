// SPDX-License-Identifier: Apache-2.0
// tests/unit/strategy/strategy_fixture.hpp — launcher environment variables set for one scope, all others removed.
#pragma once
#include <cstdlib>
#include <utility>
#include <vector>

namespace strategy_fixture {

/// Sets variables for one scope and removes every launcher variable around it.
struct Env {
  static constexpr const char* all[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                                        "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"};
  explicit Env(std::vector<std::pair<const char*, const char*>> vars) {
    clear();
    for (auto& [k, v] : vars) ::setenv(k, v, 1);
  }
  ~Env() { clear(); }
  static void clear() {
    for (auto* k : all) ::unsetenv(k);
  }
};

}  // namespace strategy_fixture
