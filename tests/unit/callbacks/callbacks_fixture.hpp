// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/callbacks_fixture.hpp — the model the callback tests fit (its val/score scripted per epoch), and their config.
#pragma once
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"

namespace callbacks_fixture {

namespace fs = std::filesystem;
using kiln_test::LinearBatch;

inline constexpr double nan_ = std::numeric_limits<double>::quiet_NaN();
inline constexpr double inf_ = std::numeric_limits<double>::infinity();

// A linear model whose validation logs a scripted value per epoch ("val/score"), so each test
// decides what the monitored metric does; `poison` makes the loss of one global step NaN.
struct Lin : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  std::vector<double> script;
  std::int64_t poison_step = -1;
  double poison = nan_;
  explicit Lin(std::vector<double> s = {}) : script(std::move(s)) {
    torch::manual_seed(3);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  torch::Tensor training_step(const LinearBatch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    if (ctx.global_step() == poison_step) loss = loss * poison;
    ctx.log("train/loss", loss, {.on_epoch = true});
    return loss;
  }
  void validation_step(const LinearBatch&, kiln::StepContext& ctx) {
    const auto e = static_cast<std::size_t>(ctx.epoch());
    ctx.log("val/score", e < script.size() ? script[e] : script.back());
  }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
    auto sched = std::make_unique<kiln::StepLR>(*opt, 2, 0.5);
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::step};
  }
};

inline kiln::TrainerConfig quiet(std::int64_t epochs, const fs::path& root = fs::temp_directory_path() / "kiln_callbacks_test") {
  return {.max_epochs = epochs, .num_sanity_val_steps = 0, .default_root_dir = root, .enable_progress_bar = false};
}

template <class... Cs>
using T = kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<Cs...>>;

}  // namespace callbacks_fixture
