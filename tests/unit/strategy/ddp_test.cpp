// SPDX-License-Identifier: Apache-2.0
// tests/unit/strategy/ddp_test.cpp — Strategy<DDP> on a world of one trains exactly as SingleDevice.
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/strategy/ddp.hpp>
#include <kiln/trainer.hpp>

#include "strategy_fixture.hpp"

namespace {

using strategy_fixture::Env;

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
