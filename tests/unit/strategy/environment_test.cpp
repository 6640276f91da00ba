// SPDX-License-Identifier: Apache-2.0
// tests/unit/strategy/environment_test.cpp — rank and world size from torchrun's, OpenMPI's and
// SLURM's variables, SLURM node lists, and Strategy<DDP> on a world of one.
#include <cstdlib>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/strategy/ddp.hpp>
#include <kiln/strategy/environment.hpp>
#include <kiln/trainer.hpp>

namespace {
using Catch::Matchers::Contains;

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

namespace {
struct Lin : torch::nn::Module {
  using Batch = std::pair<torch::Tensor, torch::Tensor>;
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(3, 1))};
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("loss", loss, {.on_epoch = true, .sync_dist = true});
    return loss;
  }
  kiln::OptimizerConfig configure_optimizers() {
    return {.optimizer = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1))};
  }
};
}  // namespace

TEST_CASE("Strategy<DDP> on a world of one trains exactly as SingleDevice", "[strategy][ddp]") {
  Env e({});
  std::vector<Lin::Batch> data;
  torch::manual_seed(0);
  for (int i = 0; i < 6; ++i) {
    auto x = torch::randn({8, 3});
    data.emplace_back(x, x.sum(1, true));
  }
  torch::manual_seed(1);
  Lin a;
  torch::manual_seed(1);
  Lin b;
  kiln::TrainerConfig cfg{.max_epochs = 2, .enable_progress_bar = false};
  kiln::Trainer<Lin, kiln::Loggers<>> single(cfg);
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Strategy<kiln::DDP>> ddp(cfg, kiln::DDP{.find_unused_parameters = true});
  single.fit(a, data);
  ddp.fit(b, data);
  CHECK(torch::equal(a.fc->weight, b.fc->weight));
  CHECK(ddp.callback_metrics().at("loss_epoch") == single.callback_metrics().at("loss_epoch"));
  CHECK(ddp.strategy().world_size() == 1);
  CHECK(ddp.strategy().options().find_unused_parameters);
}
