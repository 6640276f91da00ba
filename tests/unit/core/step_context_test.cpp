// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/step_context_test.cpp — what a step can do through its StepContext: manual backward and optimizer steps.
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

using kiln_test::quiet;

struct Gan : torch::nn::Module {
  static constexpr bool automatic_optimization = false;
  torch::Tensor g, d;
  Gan() {
    g = register_parameter("g", torch::tensor({1.0}));
    d = register_parameter("d", torch::tensor({2.0}));
  }
  void training_step(const Batch&, kiln::StepContext& ctx) {
    // Alternate: even batches update g (loss = g, gradient 1), odd batches update d (loss = 3d).
    const bool even = ctx.batch_idx() % 2 == 0;
    ctx.manual_backward(even ? g.sum() : (3 * d).sum());
    ctx.optimizer_step(even ? 0 : 1);
  }
  std::vector<kiln::OptimizerConfig> configure_optimizers() {
    std::vector<kiln::OptimizerConfig> out;
    out.push_back({.optimizer = std::make_unique<torch::optim::SGD>(std::vector{g}, torch::optim::SGDOptions(0.1))});
    out.push_back({.optimizer = std::make_unique<torch::optim::SGD>(std::vector{d}, torch::optim::SGDOptions(0.1))});
    return out;
  }
};

}  // namespace

TEST_CASE("manual optimization steps several optimizers from training_step", "[trainer][manual]") {
  Gan gan;
  kiln::Trainer<Gan, kiln::Loggers<>> t(quiet({.max_epochs = 1}));
  std::vector<Batch> data(4, Batch{torch::zeros({1}), torch::zeros({1})});
  t.fit(gan, data);
  REQUIRE(gan.g.item<double>() == Approx(1.0 - 2 * 0.1));
  REQUIRE(gan.d.item<double>() == Approx(2.0 - 2 * 0.3));
  REQUIRE(t.state().global_step == 4);
}
