// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/callbacks_test.cpp — EarlyStopping, Timer, TerminateOnNan, LearningRateMonitor,
// GradientAccumulationScheduler, ModelSummary and LambdaCallback: what each does to a fit.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"

namespace {

namespace fs = std::filesystem;
using kiln_test::LinearBatch;
using Catch::Matchers::Contains;

constexpr double nan_ = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_ = std::numeric_limits<double>::infinity();

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

kiln::TrainerConfig quiet(std::int64_t epochs, const fs::path& root = fs::temp_directory_path() / "kiln_callbacks_test") {
  return {.max_epochs = epochs, .num_sanity_val_steps = 0, .default_root_dir = root, .enable_progress_bar = false};
}

template <class... Cs>
using T = kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<Cs...>>;

}  // namespace

TEST_CASE("EarlyStopping stops after patience checks without improvement, and says why", "[callbacks][early_stopping]") {
  auto train = kiln_test::linear_data(3, 4), val = kiln_test::linear_data(1, 4);
  SECTION("patience counts checks without an improvement larger than min_delta") {
    // 0.5 is the best; 0.45 does not beat it by more than min_delta 0.1; the third miss (epoch
    // 4) stops the run before 0.1 is seen.
    Lin m({0.9, 0.5, 0.45, 0.6, 0.55, 0.1});
    T<kiln::EarlyStopping> t(quiet(10), kiln::EarlyStopping({.monitor = "val/score", .min_delta = 0.1, .patience = 3}));
    t.fit(m, train, val);
    const auto& es = t.callback<kiln::EarlyStopping>();
    REQUIRE(es.stopped_epoch() == 4);
    REQUIRE(t.state().epoch == 5);
    REQUIRE(es.best_score() == Approx(0.5));
    REQUIRE(es.wait_count() == 3);
    REQUIRE_THAT(t.state().stop_reason, Contains("val/score did not improve in the last 3 records; best score: 0.500"));
  }
  SECTION("mode max, stopping and divergence thresholds, non-finite values") {
    Lin up({0.1, 0.2, 0.95, 0.1});
    T<kiln::EarlyStopping> a(quiet(10), kiln::EarlyStopping({.monitor = "val/score", .mode = "max", .stopping_threshold = 0.9}));
    a.fit(up, train, val);
    REQUIRE(a.state().epoch == 3);
    REQUIRE_THAT(a.state().stop_reason, Contains("stopping threshold reached: val/score = 0.95 > 0.9"));

    Lin diverging({0.5, 0.4, 7.0, 0.1});
    T<kiln::EarlyStopping> b(quiet(10), kiln::EarlyStopping({.monitor = "val/score", .divergence_threshold = 5.0}));
    b.fit(diverging, train, val);
    REQUIRE(b.state().epoch == 3);
    REQUIRE_THAT(b.state().stop_reason, Contains("divergence threshold reached: val/score = 7 > 5"));

    Lin broken({0.5, nan_, 0.1});
    T<kiln::EarlyStopping> c(quiet(10), kiln::EarlyStopping({.monitor = "val/score"}));
    c.fit(broken, train, val);
    REQUIRE(c.state().epoch == 2);
    REQUIRE_THAT(c.state().stop_reason, Contains("val/score = nan is not finite; previous best value was 0.500"));

    Lin broken2({0.5, inf_, 0.1});
    T<kiln::EarlyStopping> d(quiet(3), kiln::EarlyStopping({.monitor = "val/score", .patience = 5, .check_finite = false}));
    d.fit(broken2, train, val);
    REQUIRE(d.state().epoch == 3);  // not stopped
  }
  SECTION("checked after each validation when validation runs more than once an epoch") {
    Lin m({0.5});  // never improves after the first check
    auto cfg = quiet(10);
    cfg.val_check_interval = std::int64_t{1};  // 3 validations per epoch
    T<kiln::EarlyStopping> t(cfg, kiln::EarlyStopping({.monitor = "val/score", .patience = 2}));
    t.fit(m, train, val);
    REQUIRE(t.state().global_step == 3);  // checks at steps 1 (best), 2, 3 (second miss)
    REQUIRE(t.state().epoch == 1);
  }
  SECTION("a monitor never logged is an error listing what was logged; strict=false skips") {
    Lin m({0.5});
    T<kiln::EarlyStopping> t(quiet(2), kiln::EarlyStopping({.monitor = "val/acc"}));
    REQUIRE_THROWS_WITH(t.fit(m, train, val), Contains("EarlyStopping monitors \"val/acc\", which was not logged") &&
                                                   Contains("train/loss") && Contains("val/score"));
    T<kiln::EarlyStopping> lax(quiet(2), kiln::EarlyStopping({.monitor = "val/acc", .strict = false}));
    lax.fit(m, train, val);
    REQUIRE(lax.state().epoch == 2);
    REQUIRE_THROWS_WITH(kiln::EarlyStopping({.monitor = "x", .mode = "up"}), Contains("mode must be \"min\" or \"max\""));
    REQUIRE_THROWS_WITH(kiln::EarlyStopping(kiln::EarlyStopping::Options{}), Contains("needs a monitor"));
  }
}

TEST_CASE("Timer stops training when its budget is used up and leaves a checkpoint to resume from", "[callbacks][timer]") {
  const auto root = fs::temp_directory_path() / "kiln_timer_test";
  fs::remove_all(root);
  auto train = kiln_test::linear_data(3, 4);
  // Each batch takes >= 60 ms, so a 50 ms budget is used up by the end of the first.
  auto slow = kiln::lambda_callback([](const kiln::event::train_batch_end&, auto&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  });
  Lin m;
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<decltype(slow), kiln::Timer>> t(
      quiet(100, root), slow, kiln::Timer({.duration = std::chrono::milliseconds(50)}));
  t.fit(m, train);
  REQUIRE(t.state().global_step == 1);
  REQUIRE_THAT(t.state().stop_reason, Contains("Timer: the training time budget of 0.050 s is used up") &&
                                          Contains((root / "checkpoints" / "last.pt").string()));
  REQUIRE(fs::exists(root / "checkpoints" / "last.pt"));
  REQUIRE(t.callback<kiln::Timer>().time_elapsed() >= std::chrono::milliseconds(50));

  // The checkpoint resumes at epoch 0, batch 1 with the elapsed time, so a resumed run with
  // the same budget stops after its first step.
  Lin m2;
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<kiln::Timer>> t2(quiet(100, root), kiln::Timer({.duration = std::chrono::milliseconds(50)}));
  t2.fit(m2, train, {.ckpt_path = root / "checkpoints" / "last.pt"});
  REQUIRE(t2.state().global_step == 2);
  REQUIRE_THROWS_WITH(kiln::Timer({.duration = std::chrono::seconds(0)}), Contains("Timer duration must be > 0"));
}

TEST_CASE("TerminateOnNan ends fit with an error naming the step and the value, before the weights change", "[callbacks][nan]") {
  const auto root = fs::temp_directory_path() / "kiln_nan_test";
  fs::remove_all(root);
  auto train = kiln_test::linear_data(3, 4);
  for (double bad : {nan_, inf_, -inf_}) {
    Lin m;
    m.poison_step = 4;
    m.poison = bad;
    torch::Tensor before;
    auto watch = kiln::lambda_callback([&](const kiln::event::train_batch_end&, auto& t) {
      if (t.state().global_step == 4) before = m.fc->weight.detach().clone();
    });
    kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<decltype(watch), kiln::TerminateOnNan, kiln::ModelCheckpoint>> t(
        quiet(5, root), watch, kiln::ModelCheckpoint({.dirpath = root, .save_last = true}));
    const std::string value = std::isnan(bad) ? "nan" : bad > 0 ? "inf" : "-inf";
    REQUIRE_THROWS_WITH(t.fit(m, train), Contains("TerminateOnNan: the training loss is " + value + " at epoch 1, batch 1, global step 4"));
    REQUIRE(torch::equal(m.fc->weight, before));  // no step with the poisoned gradient
    REQUIRE(torch::isfinite(m.fc->weight).all().item<bool>());
    // The last checkpoint is epoch 0's, untouched.
    Lin loaded;
    kiln::load_weights(loaded, root / "last.pt");
    REQUIRE(torch::isfinite(loaded.fc->weight).all().item<bool>());
  }
}

TEST_CASE("LearningRateMonitor logs each optimizer's learning rate at its scheduler's interval", "[callbacks][lr_monitor]") {
  auto train = kiln_test::linear_data(3, 4);
  std::vector<std::pair<std::int64_t, double>> seen;  // (global step, lr-SGD) as the loggers get it
  struct Rec {
    std::vector<std::pair<std::int64_t, double>>* out;
    void log_metrics(const kiln::MetricMap& m, std::int64_t step) {
      if (auto it = m.find("lr-SGD"); it != m.end()) out->emplace_back(step, it->second);
    }
    void save() {}
  };
  SECTION("default: per step, as the scheduler steps") {
    Lin m;
    auto cfg = quiet(2);
    cfg.log_every_n_steps = 1;
    kiln::Trainer<Lin, kiln::Loggers<Rec>, kiln::Callbacks<kiln::LearningRateMonitor>> t(cfg, Rec{&seen});
    t.fit(m, train);
    // StepLR(2, 0.5) per step: 0.1, 0.1, 0.05, 0.05, 0.025, 0.025 before steps 0..5.
    REQUIRE(seen.size() == 6);
    const double want[] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
    for (std::size_t i = 0; i < 6; ++i) {
      REQUIRE(seen[i].first == std::int64_t(i));
      REQUIRE(seen[i].second == Approx(want[i]));
    }
    REQUIRE(t.callback_metrics().at("lr-SGD") == Approx(0.025));
  }
  SECTION("logging_interval epoch; log_every_n_steps thins step logging") {
    Lin m;
    kiln::Trainer<Lin, kiln::Loggers<Rec>, kiln::Callbacks<kiln::LearningRateMonitor>> t(
        quiet(2), Rec{&seen}, kiln::LearningRateMonitor({.logging_interval = kiln::Interval::epoch}));
    t.fit(m, train);
    REQUIRE(seen.size() == 2);
    REQUIRE(seen[0] == std::pair<std::int64_t, double>{0, 0.1});
    REQUIRE(seen[1].first == 3);
    REQUIRE(seen[1].second == Approx(0.05));  // steps 1..3 moved it once (after step 2)
  }
  REQUIRE(kiln::LearningRateMonitor::optimizer_name(torch::optim::Adam(std::vector<torch::Tensor>{torch::zeros(1, torch::requires_grad())})) == "Adam");
}

TEST_CASE("GradientAccumulationScheduler changes accumulate_grad_batches by epoch", "[callbacks][accumulation]") {
  auto train = kiln_test::linear_data(4, 4);
  std::vector<std::int64_t> steps_per_epoch;
  auto count = kiln::lambda_callback([&](const kiln::event::train_epoch_end&, auto& t) {
    steps_per_epoch.push_back(t.state().global_step);
  });
  Lin m;
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<kiln::GradientAccumulationScheduler, decltype(count)>> t(
      quiet(4), kiln::GradientAccumulationScheduler({{1, 4}, {2, 2}}), count);
  t.fit(m, train);
  // Epoch 0: factor 1 (before the first key), 4 steps; epoch 1: 1 step; epochs 2, 3: 2 steps.
  REQUIRE(steps_per_epoch == std::vector<std::int64_t>{4, 5, 7, 9});
  REQUIRE(kiln::GradientAccumulationScheduler({{0, 8}, {4, 4}}).factor(5) == 4);

  auto cfg = quiet(1);
  cfg.accumulate_grad_batches = 2;
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<kiln::GradientAccumulationScheduler>> both(
      cfg, kiln::GradientAccumulationScheduler({{0, 4}}));
  REQUIRE_THROWS_WITH(both.fit(m, train), Contains("accumulate_grad_batches=2 were both given"));
  REQUIRE_THROWS_WITH(kiln::GradientAccumulationScheduler({{0, 0}}), Contains("factor for epoch 0 must be >= 1"));
}

namespace {
struct Net2 : torch::nn::Module {
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear head{nullptr};
  Net2() {
    features = register_module("features", torch::nn::Sequential(torch::nn::Conv2d(1, 8, 3), torch::nn::ReLU()));
    head = register_module("head", torch::nn::Linear(8 * 26 * 26, 10));
    head->bias.set_requires_grad(false);
  }
};
}  // namespace

TEST_CASE("ModelSummary lists submodules with their parameter counts", "[callbacks][model_summary]") {
  Net2 n;
  const std::string s = kiln::summarize(n);
  // features: 8*1*3*3 + 8 = 80; head: 5408*10 + 10 = 54090 (its 10 biases frozen).
  REQUIRE_THAT(s, Contains("features | Sequential |     80"));
  REQUIRE_THAT(s, Contains("head     | Linear     | 54.1 K"));
  REQUIRE_THAT(s, Contains("54.2 K    Trainable params"));
  REQUIRE_THAT(s, Contains("10        Non-trainable params"));
  REQUIRE_THAT(s, Contains("54.2 K    Total params"));
  REQUIRE_THAT(s, Contains("0.217     Total estimated model params size (MB)"));
  REQUIRE_FALSE(Contains("features.0").match(s));
  REQUIRE_THAT(kiln::summarize(n, 2), Contains("features.0 | Conv2d"));
  REQUIRE(kiln::human_count(999) == "999");
  REQUIRE(kiln::human_count(1'234'567) == "1.2 M");
}

TEST_CASE("LambdaCallback calls each lambda for the event it takes", "[callbacks][lambda]") {
  auto train = kiln_test::linear_data(2, 4);
  std::vector<std::string> seen;
  auto cb = kiln::lambda_callback([&](const kiln::event::fit_start&, auto&) { seen.push_back("fit_start"); },
                                  [&](const kiln::event::train_epoch_end&, auto& t) {
                                    seen.push_back("epoch_end " + std::to_string(t.state().epoch));
                                  });
  Lin m;
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<decltype(cb)>> t(quiet(2), cb);
  t.fit(m, train);
  REQUIRE(seen == std::vector<std::string>{"fit_start", "epoch_end 0", "epoch_end 1"});
}
