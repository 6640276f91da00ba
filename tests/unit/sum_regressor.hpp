// SPDX-License-Identifier: Apache-2.0
// tests/unit/sum_regressor.hpp — a linear regressor of y = sum(x) that logs train_loss on step, epoch and bar, and its batches.
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

namespace kiln_test {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

// `n` seeded batches of `size` samples x ~ N(0, 1)^3, y = x0 + x1 + x2.
inline std::vector<Batch> batches(int n, int size = 4) {
  torch::manual_seed(3);
  std::vector<Batch> out;
  for (int i = 0; i < n; ++i) {
    auto x = torch::randn({size, 3});
    out.emplace_back(x, x.sum(1, true));
  }
  return out;
}

// Trains on pairs and on torch::data examples alike.
struct Reg : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Reg() {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  template <class B>
  torch::Tensor training_step(const B& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(input(b)), target(b));
    ctx.log("train_loss", loss, {.on_step = true, .on_epoch = true, .prog_bar = true});
    return loss;
  }
  template <class B>
  void validation_step(const B& b, kiln::StepContext& ctx) {
    ctx.log("val_loss", torch::mse_loss(fc(input(b)), target(b)));
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
  static torch::Tensor input(const Batch& b) { return b.first; }
  static torch::Tensor target(const Batch& b) { return b.second; }
  static torch::Tensor input(const torch::data::Example<>& b) { return b.data; }
  static torch::Tensor target(const torch::data::Example<>& b) { return b.target; }
};

// The config as given, with the progress bar off (the sanity check stays as the test set it).
inline kiln::TrainerConfig no_progress_bar(kiln::TrainerConfig c) {
  c.enable_progress_bar = false;
  return c;
}

}  // namespace kiln_test
