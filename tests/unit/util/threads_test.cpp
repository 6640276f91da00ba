// SPDX-License-Identifier: Apache-2.0
// tests/unit/util/threads_test.cpp — kiln's default thread count and where it comes from.
#include <cstdlib>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <ATen/Parallel.h>

#include <kiln/core/config.hpp>
#include <kiln/util/threads.hpp>

namespace {

using Catch::Matchers::Contains;

// Sets (or unsets, with nullptr) environment variables for one scope, then restores them.
struct Env {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  Env(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto [k, v] : vars) {
      const char* old = std::getenv(k);
      saved.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
      if (v) setenv(k, v, 1);
      else unsetenv(k);
    }
  }
  ~Env() {
    for (auto& [k, v] : saved) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }
};

constexpr const char* kAll[] = {"KILN_NUM_THREADS", "OMP_NUM_THREADS", "LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE",
                                "SLURM_NTASKS_PER_NODE"};

}  // namespace

TEST_CASE("default_num_threads: the usable cores shared among this node's processes, unless told", "[util][threads]") {
  Env clean{{kAll[0], nullptr}, {kAll[1], nullptr}, {kAll[2], nullptr}, {kAll[3], nullptr}, {kAll[4], nullptr}};
  const int cores = kiln::usable_cores();
  REQUIRE(cores >= 1);
  REQUIRE(kiln::local_processes() == 1);
  REQUIRE(kiln::default_num_threads() == cores);
  {
    Env ranks{{"LOCAL_WORLD_SIZE", std::to_string(cores).c_str()}};  // torchrun with one rank per core
    REQUIRE(kiln::local_processes() == cores);
    REQUIRE(kiln::default_num_threads() == 1);
  }
  {
    Env ranks{{"OMPI_COMM_WORLD_LOCAL_SIZE", std::to_string(2 * cores).c_str()}};  // more ranks than cores: still 1
    REQUIRE(kiln::default_num_threads() == 1);
  }
  {
    Env omp{{"OMP_NUM_THREADS", "3"}, {"LOCAL_WORLD_SIZE", "2"}};  // torchrun sets OMP_NUM_THREADS=1; the user may say more
    REQUIRE(kiln::default_num_threads() == 3);
    Env kiln_env{{"KILN_NUM_THREADS", "5"}};  // kiln's own variable wins
    REQUIRE(kiln::default_num_threads() == 5);
  }
  {
    Env bad{{"KILN_NUM_THREADS", "two"}};
    REQUIRE_THROWS_WITH(kiln::default_num_threads(), Contains("KILN_NUM_THREADS=\"two\" is not a thread count"));
  }
  {
    Env bad{{"LOCAL_WORLD_SIZE", "0"}};
    REQUIRE_THROWS_WITH(kiln::local_processes(), Contains("LOCAL_WORLD_SIZE=\"0\""));
  }
}

TEST_CASE("configure_threads sets LibTorch's intra-op threads, num_threads is checked", "[util][threads]") {
  const int before = at::get_num_threads();
  REQUIRE(kiln::configure_threads(2) == 2);
  REQUIRE(at::get_num_threads() == 2);
  REQUIRE(kiln::configure_threads(1) == 1);
  {
    Env env{{"KILN_NUM_THREADS", "2"}};
    REQUIRE(kiln::configure_threads() == 2);  // no request: the default, here from the environment
  }
  REQUIRE_THROWS_WITH(kiln::configure_threads(0), Contains("num_threads must be >= 1 (got 0)"));
  REQUIRE_THROWS_WITH(kiln::validate(kiln::TrainerConfig{.num_threads = 0}), Contains("TrainerConfig.num_threads must be >= 1"));
  kiln::configure_threads(before);
}
