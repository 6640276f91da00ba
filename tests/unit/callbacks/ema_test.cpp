// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/ema_test.cpp — EMA against averages computed by hand from the weights after each step;
// validation on the average, checkpoints holding it, and an exact resume.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/checkpoint/checkpoint_io.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"

namespace {

using kiln_test::LinearBatch;
namespace fs = std::filesystem;

// Linear then batch norm: parameters, floating buffers and an integer buffer (num_batches_tracked).
struct BnRegressor : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
  std::vector<double> val_weight_sums;  // fc.weight's sum as validation sees it
  BnRegressor() {
    torch::manual_seed(5);
    fc = register_module("fc", torch::nn::Linear(3, 1));
    bn = register_module("bn", torch::nn::BatchNorm1d(1));
  }
  torch::Tensor training_step(const LinearBatch& b, kiln::StepContext&) { return torch::mse_loss(bn(fc(b.first)), b.second); }
  void validation_step(const LinearBatch& b, kiln::StepContext& ctx) {
    if (ctx.batch_idx() == 0) val_weight_sums.push_back(fc->weight.sum().item<double>());
    ctx.log("val/loss", torch::mse_loss(bn(fc(b.first)), b.second));
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  }
};

/// The module's weights after every optimizer step, in double (listed before EMA, so it sees them first).
struct StepRecorder {
  std::vector<std::map<std::string, torch::Tensor>> after_step;
  std::int64_t last = 0;
  template <class T>
  void on(const kiln::event::train_batch_end&, T& t) {
    if (t.state().global_step == last) return;
    last = t.state().global_step;
    std::map<std::string, torch::Tensor> w;
    for (const auto& item : kiln::state_dict(*t.module())) w[item.key()] = item.value().to(torch::kDouble).clone();
    after_step.push_back(std::move(w));
  }
};

using EmaTrainer = kiln::Trainer<BnRegressor, kiln::Loggers<>, kiln::Callbacks<StepRecorder, kiln::EMA>>;

kiln::TrainerConfig ema_config(std::int64_t epochs, std::int64_t accumulate = 1) {
  return {.max_epochs = epochs, .num_sanity_val_steps = 0, .accumulate_grad_batches = accumulate,
          .default_root_dir = fs::temp_directory_path() / "kiln_ema_test", .enable_progress_bar = false};
}

/// The average by the definition, from the recorded weights (averaged names only).
std::map<std::string, torch::Tensor> by_hand(const std::vector<std::map<std::string, torch::Tensor>>& steps,
                                             const kiln::EMA& ema, std::int64_t every, std::int64_t start) {
  std::map<std::string, torch::Tensor> avg;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto s = static_cast<std::int64_t>(i) + 1;
    if (s < start || s % every != 0) continue;
    for (const auto& name : ema.averaged().keys()) {
      const auto& w = steps[i].at(name);
      avg[name] = n == 0 ? w.clone() : ema.decay_at(n) * avg[name] + (1 - ema.decay_at(n)) * w;
    }
    ++n;
  }
  return avg;
}

/// The average and the module's own weights at each train_epoch_end (after that epoch's validation).
struct AtEpochEnd {
  std::vector<double> averaged, own;
  std::vector<torch::Tensor> own_weights;
  template <class T>
  void on(const kiln::event::train_epoch_end&, T& t) {
    own.push_back(t.module()->fc->weight.sum().template item<double>());
    own_weights.push_back(t.module()->fc->weight.detach().clone());
    averaged.push_back(t.template callback<kiln::EMA>().averaged()["fc.weight"].sum().template item<double>());
  }
};

/// At the end of epoch 2: the module's weights before and after save_checkpoint, and the average then.
struct SaveAt {
  fs::path path;
  std::map<std::string, torch::Tensor> before, after, averaged;
  template <class T>
  void on(const kiln::event::train_epoch_end&, T& t) {
    if (t.state().epoch != 1) return;
    for (const auto& item : kiln::state_dict(*t.module())) before[item.key()] = item.value().clone();
    t.save_checkpoint(path);
    for (const auto& item : kiln::state_dict(*t.module())) after[item.key()] = item.value().clone();
    for (const auto& item : t.template callback<kiln::EMA>().averaged()) averaged[item.key()] = item.value().clone();
  }
};

bool near_enough(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::allclose(a.to(torch::kDouble), b.to(torch::kDouble), 1e-6, 1e-7);
}

}  // namespace

TEST_CASE("EMA equals the average computed by hand from the weights after each step", "[callbacks][ema]") {
  const auto data = kiln_test::linear_data(10, 8);
  for (const bool warmup : {false, true}) {
    for (const std::int64_t accumulate : {1, 2}) {
      INFO("warmup " << warmup << ", accumulate_grad_batches " << accumulate);
      BnRegressor m;
      EmaTrainer t(ema_config(2, accumulate), StepRecorder{},
                   kiln::EMA({.decay = 0.8, .update_every_n_steps = 2, .update_starting_at_step = 3, .warmup = warmup}));
      t.fit(m, data);
      const auto& ema = t.callback<kiln::EMA>();
      const auto& steps = t.callback<StepRecorder>().after_step;
      REQUIRE(steps.size() == static_cast<std::size_t>(20 / accumulate));
      // Steps 4, 6, ...: the first copies, then one update each.
      CHECK(ema.num_updates() == static_cast<std::int64_t>(steps.size()) / 2 - 1);
      CHECK(ema.averaged().keys() ==
            std::vector<std::string>{"fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"});
      const auto want = by_hand(steps, ema, 2, 3);
      for (const auto& item : ema.averaged()) CHECK(near_enough(item.value(), want.at(item.key())));
      if (warmup) CHECK(ema.decay_at(1) == Approx(2.0 / 11));
      // The end of fit leaves the average in the module; num_batches_tracked is the module's own.
      CHECK(torch::equal(m.fc->weight, ema.averaged()["fc.weight"]));
      CHECK(torch::equal(m.bn->running_var, ema.averaged()["bn.running_var"]));
      CHECK(m.bn->num_batches_tracked.item<std::int64_t>() == 20);
    }
  }
}

TEST_CASE("validation inside fit runs on the average, and training goes on from the module's own weights", "[callbacks][ema]") {
  const auto data = kiln_test::linear_data(6, 8);
  BnRegressor m;
  kiln::Trainer<BnRegressor, kiln::Loggers<>, kiln::Callbacks<StepRecorder, AtEpochEnd, kiln::EMA>> t(
      ema_config(3), StepRecorder{}, AtEpochEnd{}, kiln::EMA({.decay = 0.5}));
  t.fit(m, data, data);
  const auto& seen = t.callback<AtEpochEnd>();
  REQUIRE(m.val_weight_sums.size() == 3);
  for (std::size_t e = 0; e < 3; ++e) {
    CHECK(m.val_weight_sums[e] == Approx(seen.averaged[e]).epsilon(1e-12));
    CHECK(seen.averaged[e] != Approx(seen.own[e]).epsilon(1e-9));  // the two differ, so the check above means something
  }
  // After each epoch's validation (train_epoch_end comes after it) the module holds its own
  // weights again: those after the epoch's last step.
  const auto& steps = t.callback<StepRecorder>().after_step;
  REQUIRE(steps.size() == 18);
  for (std::size_t e = 0; e < 3; ++e) CHECK(torch::equal(seen.own_weights[e].to(torch::kDouble), steps[6 * e + 5].at("fc.weight")));
}

TEST_CASE("an EMA checkpoint holds the average as the module's weights and resumes exactly", "[callbacks][ema][checkpoint]") {
  const auto data = kiln_test::linear_data(5, 8);
  const auto dir = fs::temp_directory_path() / ("kiln_ema_ckpt_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto options = kiln::EMA::Options{.decay = 0.7, .update_every_n_steps = 2};

  BnRegressor whole;
  EmaTrainer straight(ema_config(4), StepRecorder{}, kiln::EMA(options));
  straight.fit(whole, data);

  // A checkpoint written inside fit (after fit, the module holds the average for good).
  BnRegressor second;
  kiln::Trainer<BnRegressor, kiln::Loggers<>, kiln::Callbacks<SaveAt, kiln::EMA>> stopping(
      {.max_epochs = 2, .num_sanity_val_steps = 0, .default_root_dir = dir, .enable_progress_bar = false},
      SaveAt{dir / "ema.pt"}, kiln::EMA(options));
  stopping.fit(second, data);
  const auto& saved = stopping.callback<SaveAt>();
  // The write leaves the training weights as they were; the file's module weights are the average
  // (num_batches_tracked, never averaged, the module's own).
  REQUIRE(saved.averaged.size() == 6);
  BnRegressor weights_only;
  kiln::load_weights(weights_only, dir / "ema.pt");
  int differ = 0;  // averaged tensors unlike the training ones (not fc.bias: batch norm gives it no gradient)
  for (const auto& [name, w] : saved.before) {
    INFO(name);
    CHECK(torch::equal(w, saved.after.at(name)));
    const bool averaged = saved.averaged.count(name) > 0;
    CHECK(torch::equal(kiln::state_dict(weights_only)[name], averaged ? saved.averaged.at(name) : w));
    differ += averaged && !torch::equal(w, saved.averaged.at(name));
  }
  CHECK(differ == 5);

  BnRegressor resumed;
  EmaTrainer rest(ema_config(4), StepRecorder{}, kiln::EMA(options));
  rest.fit(resumed, data, {.ckpt_path = dir / "ema.pt"});
  for (const auto& item : kiln::state_dict(whole)) CHECK(torch::equal(item.value(), kiln::state_dict(resumed)[item.key()]));
  CHECK(rest.callback<kiln::EMA>().num_updates() == straight.callback<kiln::EMA>().num_updates());
  for (const auto& item : straight.callback<kiln::EMA>().averaged())
    CHECK(torch::equal(item.value(), rest.callback<kiln::EMA>().averaged()[item.key()]));
  fs::remove_all(dir);
}

TEST_CASE("EMA options out of range are an error naming the option", "[callbacks][ema][errors]") {
  CHECK_THROWS_WITH(kiln::EMA({.decay = 1.5}), Catch::Matchers::Contains("EMA decay must be in [0, 1] (got 1.5)"));
  CHECK_THROWS_WITH(kiln::EMA({.update_every_n_steps = 0}), Catch::Matchers::Contains("update_every_n_steps must be >= 1"));
  CHECK_THROWS_WITH(kiln::EMA({.update_starting_at_step = -1}), Catch::Matchers::Contains("update_starting_at_step must be >= 0"));
}
