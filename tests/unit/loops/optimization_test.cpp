// SPDX-License-Identifier: Apache-2.0
// tests/unit/loops/optimization_test.cpp — the automatic optimizer step: gradient clipping and when schedulers step.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"
#include "../sum_regressor.hpp"

namespace {

using namespace kiln_test;  // Batch, batches, Linear, linear_data, Reg, quiet, Quiet, no_progress_bar
using Catch::Matchers::Contains;

struct GradProbe {
  double norm = 0, max_abs = 0;
  template <class T>
  void on(const kiln::event::before_zero_grad&, T& t) {  // after clipping and the step, before zeroing
    double sq = 0;
    for (auto& group : t.optimizers()[0].optimizer->param_groups())
      for (auto& p : group.params()) {
        sq += p.grad().pow(2).sum().template item<double>();
        max_abs = std::max(max_abs, p.grad().abs().max().template item<double>());
      }
    norm = std::max(norm, std::sqrt(sq));
  }
};

}  // namespace

TEST_CASE("gradient clipping bounds the gradient norm or values", "[trainer][clipping]") {
  auto data = linear_data(5, 16);
  for (auto& [x, y] : data) y.mul_(100);  // large errors, large gradients
  auto run = [&](std::optional<double> clip, kiln::GradClipAlgorithm algo) {
    Linear m(1e-4);
    Quiet<Linear, kiln::Callbacks<GradProbe>> t(quiet({.max_epochs = 1, .gradient_clip_val = clip, .gradient_clip_algorithm = algo}));
    t.fit(m, data);
    return t.callback<GradProbe>();
  };
  auto unclipped = run(std::nullopt, kiln::GradClipAlgorithm::norm);
  REQUIRE(unclipped.norm > 10.0);  // the bound below is not met by accident
  auto by_norm = run(0.5, kiln::GradClipAlgorithm::norm);
  REQUIRE(by_norm.norm <= Approx(0.5).epsilon(1e-4));
  REQUIRE(by_norm.norm > 0.49);
  auto by_value = run(0.25, kiln::GradClipAlgorithm::value);
  REQUIRE(by_value.max_abs <= 0.25);
  REQUIRE(by_value.max_abs == Approx(0.25));
}

TEST_CASE("schedulers step per optimizer step or per epoch", "[trainer][schedulers]") {
  struct Scheduled : Linear {
    kiln::Interval interval = kiln::Interval::step;
    kiln::OptimizerConfig configure_optimizers() {
      auto opt = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(1.0));
      auto sched = std::make_unique<kiln::StepLR>(*opt, 2, 0.5);
      return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = interval};
    }
  };
  auto data = linear_data(3, 4);
  auto lr_after = [&](kiln::Interval interval) {
    Scheduled m;
    m.interval = interval;
    Quiet<Scheduled> t(quiet({.max_epochs = 2}));
    t.fit(m, data);
    return t.optimizers()[0].optimizer->param_groups()[0].options().get_lr();
  };
  REQUIRE(lr_after(kiln::Interval::step) == Approx(0.125));  // 6 steps: 0.5^(6/2)
  REQUIRE(lr_after(kiln::Interval::epoch) == Approx(0.5));   // 2 epochs: 0.5^(2/2)
}

TEST_CASE("ReduceLROnPlateau reads its monitor from logged values, or names the missing key", "[trainer][schedulers]") {
  struct Plateau : Linear {
    std::string monitor = "val/metric";
    void validation_step(const Batch&, kiln::StepContext& ctx) { ctx.log("val/metric", 1.0); }  // never improves
    kiln::OptimizerConfig configure_optimizers() {
      auto opt = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
      auto sched = std::make_unique<kiln::ReduceLROnPlateau>(*opt, kiln::ReduceLROnPlateau::Options{.factor = 0.5, .patience = 0});
      return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .monitor = monitor};
    }
  };
  auto train = linear_data(2, 4), val = linear_data(2, 4);
  Plateau m;
  Quiet<Plateau> t(quiet({.max_epochs = 3}));
  t.fit(m, train, val);
  // Epoch 0 sets the best value; epochs 1 and 2 do not improve it: two halvings.
  REQUIRE(t.optimizers()[0].optimizer->param_groups()[0].options().get_lr() == Approx(0.025));

  Plateau missing;
  missing.monitor = "val/acc";
  Quiet<Plateau> t2(quiet({.max_epochs = 1}));
  REQUIRE_THROWS_WITH(t2.fit(missing, train, val), Contains("\"val/acc\"") && Contains("val/metric"));
}

TEST_CASE("ReduceLROnPlateau on a step-logged value works before log_every_n_steps", "[regression]") {
  struct StepPlateau : Reg {
    kiln::OptimizerConfig configure_optimizers() {
      auto opt = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
      auto sched = std::make_unique<kiln::ReduceLROnPlateau>(*opt, kiln::ReduceLROnPlateau::Options{.patience = 1000});
      return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::step,
              .monitor = "train_loss"};
    }
  };
  auto data = batches(5);
  StepPlateau m;
  kiln::Trainer<StepPlateau, kiln::Loggers<>> t(no_progress_bar({.max_epochs = 1}));
  REQUIRE_NOTHROW(t.fit(m, data));
}
