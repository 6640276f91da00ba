// SPDX-License-Identifier: Apache-2.0
// tests/unit/linear_module.hpp — the linear regressor most Trainer tests fit, and a Trainer without bar or loggers for it.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

#include "linear_data.hpp"

namespace kiln_test {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

// A linear regressor; `lr` varies per test.
struct Linear : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  double lr = 0.1;
  explicit Linear(double learning_rate = 0.1) : lr(learning_rate) {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("train/loss", loss, {.on_epoch = true});
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::mse_loss(fc(b.first), b.second));
  }
  void test_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("test/loss", torch::mse_loss(fc(b.first), b.second));
  }
  torch::Tensor predict_step(const Batch& b, kiln::StepContext&) { return fc(b.first); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(lr));
  }
};

// Linear with three module hooks, each appending its name to `log`.
struct HookedLinear : Linear {
  std::vector<std::string>* log = nullptr;
  void on_train_epoch_start(kiln::StepContext&) { log->emplace_back("module:on_train_epoch_start"); }
  void on_train_epoch_end(kiln::StepContext&) { log->emplace_back("module:on_train_epoch_end"); }
  void on_validation_epoch_end(kiln::StepContext&) { log->emplace_back("module:on_validation_epoch_end"); }
};

template <class Module = Linear, class... Policies>
using Quiet = kiln::Trainer<Module, kiln::Loggers<>, Policies...>;

// Progress bar off, and the sanity check off unless a test asks for one (2 is the default, so
// it stands for "not set"): most tests count validation batches.
inline kiln::TrainerConfig quiet(kiln::TrainerConfig c = {}) {
  c.enable_progress_bar = false;
  c.num_sanity_val_steps = c.num_sanity_val_steps == 2 ? 0 : c.num_sanity_val_steps;
  return c;
}

}  // namespace kiln_test
