// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/progress_bar_fixture.hpp — the module and batches progress_bar_test and its pty program both train.
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/core/step_context.hpp>

namespace progress_bar_fixture {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("train/loss", loss, {.prog_bar = true});
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::mse_loss(fc(b.first), b.second), {.prog_bar = true});
  }
  void test_step(const Batch& b, kiln::StepContext& ctx) { ctx.log("test/loss", torch::mse_loss(fc(b.first), b.second)); }
  torch::Tensor predict_step(const Batch& b, kiln::StepContext&) { return fc(b.first); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

std::vector<Batch> data(int batches) {
  std::vector<Batch> out;
  for (int i = 0; i < batches; ++i) {
    auto x = torch::randn({4, 3});
    out.emplace_back(x, x.sum(1, true));
  }
  return out;
}

}  // namespace progress_bar_fixture
