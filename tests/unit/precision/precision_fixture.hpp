// SPDX-License-Identifier: Apache-2.0
// tests/unit/precision/precision_fixture.hpp — the modules and probe the precision tests share, and a Trainer with one precision.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

namespace precision_fixture {

using Batch = std::pair<torch::Tensor, torch::Tensor>;
inline constexpr double inf = std::numeric_limits<double>::infinity();
inline constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

inline kiln::TrainerConfig quiet(kiln::TrainerConfig c = {}) {
  c.enable_progress_bar = false;
  c.num_sanity_val_steps = 0;
  return c;
}
template <class Module, class P, class... More>
using Quiet = kiln::Trainer<Module, kiln::Loggers<>, kiln::Precision<P>, More...>;

struct Linear : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  explicit Linear() {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

// loss = w * c for a scripted c per batch: the gradient of w is c, so a batch with c = inf or
// NaN plants a non-finite gradient and w's path is easy to compute by hand.
struct Scalar : torch::nn::Module {
  torch::Tensor w = register_parameter("w", torch::tensor({1.0f}));
  torch::Tensor training_step(const torch::Tensor& c, kiln::StepContext&) { return (w * c).sum(); }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::SGD>(std::vector{w}, torch::optim::SGDOptions(0.5));
    auto sched = std::make_unique<kiln::StepLR>(*opt, 1, 0.5);  // halves the lr at every step it takes
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::step};
  }
};

inline std::vector<torch::Tensor> script(std::initializer_list<double> cs) {
  std::vector<torch::Tensor> out;
  for (double c : cs) out.push_back(torch::tensor({static_cast<float>(c)}));
  return out;
}

// After each batch: the scale, the growth tracker, w and the learning rate.
struct ScalerProbe {
  std::vector<double> scale, w, lr;
  std::vector<std::int64_t> tracker;
  template <class T>
  void on(const kiln::event::train_batch_end&, T& t) {
    scale.push_back(t.precision().scaler().get_scale());
    tracker.push_back(t.precision().scaler().growth_tracker());
    w.push_back(t.optimizers()[0].optimizer->param_groups()[0].params()[0].template item<double>());
    lr.push_back(static_cast<torch::optim::SGDOptions&>(t.optimizers()[0].optimizer->param_groups()[0].options()).lr());
  }
};

}  // namespace precision_fixture
