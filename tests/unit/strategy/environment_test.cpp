// SPDX-License-Identifier: Apache-2.0
// tests/unit/strategy/environment_test.cpp — rank and world size from torchrun's, OpenMPI's and SLURM's variables; SLURM node lists.
#include <string>

#include <catch2/catch.hpp>

#include <kiln/strategy/environment.hpp>

#include "strategy_fixture.hpp"

namespace {

using Catch::Matchers::Contains;

using strategy_fixture::Env;

}  // namespace

TEST_CASE("process_environment reads torchrun's, OpenMPI's and SLURM's variables", "[strategy][ddp]") {
  {
    Env e({});
    auto p = kiln::process_environment();
    CHECK((p.rank == 0 && p.world_size == 1 && std::string(p.launcher) == "none"));
  }
  {
    Env e({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}});
    auto p = kiln::process_environment();
    CHECK((p.rank == 3 && p.world_size == 4 && p.local_rank == 1 && std::string(p.launcher) == "torchrun"));
  }
  {
    Env e({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
    auto p = kiln::process_environment();
    CHECK((p.rank == 1 && p.world_size == 2 && p.local_rank == 1 && std::string(p.launcher) == "mpirun"));
  }
  {
    Env e({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}});
    auto p = kiln::process_environment();
    CHECK((p.rank == 5 && p.world_size == 8 && p.local_rank == 1 && std::string(p.launcher) == "slurm"));
  }
  {
    Env e({{"RANK", "2"}, {"WORLD_SIZE", "2"}});
    CHECK_THROWS_WITH(kiln::process_environment(), Contains("RANK=2 is not below WORLD_SIZE=2"));
  }
  {
    Env e({{"RANK", "one"}, {"WORLD_SIZE", "2"}});
    CHECK_THROWS_WITH(kiln::process_environment(), Contains("RANK=\"one\" is not a non-negative integer"));
  }
}

TEST_CASE("the first node of a SLURM node list is the rendezvous host", "[strategy][ddp]") {
  CHECK(kiln::slurm_first_node("node07") == "node07");
  CHECK(kiln::slurm_first_node("node07,node08") == "node07");
  CHECK(kiln::slurm_first_node("node[07-09,12]") == "node07");
  CHECK(kiln::slurm_first_node("gpu[3,5],cpu1") == "gpu3");
  CHECK(kiln::slurm_first_node("a1,b[2-3]") == "a1");
  CHECK_THROWS_WITH(kiln::slurm_first_node("node[07-09"), Contains("unclosed"));
}
