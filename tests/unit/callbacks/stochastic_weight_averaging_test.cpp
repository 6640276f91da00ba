// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/stochastic_weight_averaging_test.cpp — SWA against the equal average of the epoch-end weights,
// SWALR's learning rates, batch-norm statistics recomputed for the average, and an exact resume.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"

namespace {

using kiln_test::LinearBatch;
using SWA = kiln::StochasticWeightAveraging;
namespace fs = std::filesystem;

struct SwaRegressor : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
  SwaRegressor() {
    torch::manual_seed(11);
    fc = register_module("fc", torch::nn::Linear(3, 2));
    bn = register_module("bn", torch::nn::BatchNorm1d(2));
  }
  torch::Tensor training_step(const LinearBatch& b, kiln::StepContext&) {
    return torch::mse_loss(bn(fc(b.first)).sum(1, true), b.second);
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

/// The parameters at each epoch's end (listed before SWA, which averages after it), and the
/// learning rate each batch trained with (listed after SWA, which sets it).
struct EpochEnds {
  std::vector<std::map<std::string, torch::Tensor>> params;
  template <class T>
  void on(const kiln::event::train_epoch_end&, T& t) {
    std::map<std::string, torch::Tensor> p;
    for (const auto& item : t.module()->named_parameters()) p[item.key()] = item.value().detach().clone();
    params.push_back(std::move(p));
  }
};
struct BatchLrs {
  std::vector<std::vector<double>> per_epoch;
  template <class T>
  void on(const kiln::event::train_batch_start& e, T& t) {
    if (e.batch_idx == 0) per_epoch.emplace_back();
    per_epoch.back().push_back(t.optimizers()[0].optimizer->param_groups()[0].options().get_lr());
  }
};

/// Writes a checkpoint at the end of the 3rd epoch and stops there.
struct SaveAfterThird {
  fs::path path;
  template <class T>
  void on(const kiln::event::train_epoch_end&, T& t) {
    if (t.state().epoch != 2) return;
    t.save_checkpoint(path);
    t.state().request_stop("checkpoint written");
  }
};

using SwaTrainer = kiln::Trainer<SwaRegressor, kiln::Loggers<>, kiln::Callbacks<EpochEnds, SWA, BatchLrs>>;

kiln::TrainerConfig swa_config(std::int64_t epochs, const fs::path& root = fs::temp_directory_path() / "kiln_swa_test") {
  return {.max_epochs = epochs, .num_sanity_val_steps = 0, .default_root_dir = root, .enable_progress_bar = false};
}

}  // namespace

TEST_CASE("SWA averages the epoch-end parameters equally and anneals the learning rate as SWALR", "[callbacks][swa]") {
  const auto data = kiln_test::linear_data(4, 8);
  for (const auto annealing : {SWA::Annealing::cos, SWA::Annealing::linear}) {
    SwaRegressor m;
    SwaTrainer t(swa_config(6), EpochEnds{},
                 SWA({.swa_lrs = {0.02}, .swa_epoch_start = std::int64_t{3}, .annealing_epochs = 2,
                      .annealing_strategy = annealing}),
                 BatchLrs{});
    t.fit(m, data);
    const auto& swa = t.callback<SWA>();
    CHECK(swa.swa_start() == 2);  // the 3rd epoch
    CHECK(swa.num_averaged() == 4);  // epochs 3..6
    // The average of epochs 3..6's parameters, which the module now holds.
    const auto& ends = t.callback<EpochEnds>().params;
    REQUIRE(ends.size() == 6);
    for (const auto& [name, w] : ends[0]) {
      const auto mean = (ends[2].at(name) + ends[3].at(name) + ends[4].at(name) + ends[5].at(name)) / 4;
      INFO(name);
      CHECK(torch::allclose(m.named_parameters()[name], mean, 1e-6, 1e-7));
    }
    // SWALR: lr0 = 0.1 at the 3rd epoch's start; a = t or (1 - cos(pi t)) / 2 with t = k / 2.
    const auto& lrs = t.callback<BatchLrs>().per_epoch;
    REQUIRE(lrs.size() == 6);
    const double half = annealing == SWA::Annealing::cos ? (1 - std::cos(std::numbers::pi / 2)) / 2 : 0.5;
    const std::vector<double> want{0.1, 0.1, 0.1, 0.02 * half + 0.1 * (1 - half), 0.02, 0.02};
    for (std::size_t e = 0; e < 6; ++e)
      for (const double lr : lrs[e]) CHECK(lr == Approx(want[e]).epsilon(1e-12));
  }
}

TEST_CASE("SWA recomputes batch-norm statistics for the average over one forward pass of the training data", "[callbacks][swa]") {
  const auto data = kiln_test::linear_data(5, 8);
  SwaRegressor m;
  SwaTrainer t(swa_config(3), EpochEnds{}, SWA({.swa_lrs = {0.05}, .swa_epoch_start = 0.5}), BatchLrs{});
  t.fit(m, data);
  CHECK(t.callback<SWA>().swa_start() == 0);  // int(0.5 * 3) = 1: the 1st epoch
  // The cumulative average of each batch's statistics under the final (averaged) weights.
  torch::NoGradGuard no_grad;
  auto mean = torch::zeros({2}), var = torch::zeros({2});
  for (const auto& [x, y] : data) {
    const auto h = m.fc(x);
    mean += h.mean(0) / 5;
    var += h.var(0, /*unbiased=*/true) / 5;
  }
  CHECK(torch::allclose(m.bn->running_mean, mean, 1e-5, 1e-6));
  CHECK(torch::allclose(m.bn->running_var, var, 1e-5, 1e-6));
  CHECK(m.bn->num_batches_tracked.item<std::int64_t>() == 5);
  CHECK(m.bn->options.momentum() == 0.1);  // put back
  CHECK(m.is_training());
}

TEST_CASE("SWA's state in a checkpoint makes a resumed run equal an uninterrupted one", "[callbacks][swa][checkpoint]") {
  const auto data = kiln_test::linear_data(4, 8);
  const auto dir = fs::temp_directory_path() / ("kiln_swa_ckpt_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const SWA::Options options{.swa_lrs = {0.03}, .swa_epoch_start = std::int64_t{2}, .annealing_epochs = 3};
  SwaRegressor whole;
  SwaTrainer straight(swa_config(5), EpochEnds{}, SWA(options), BatchLrs{});
  straight.fit(whole, data);

  SwaRegressor first;
  kiln::Trainer<SwaRegressor, kiln::Loggers<>, kiln::Callbacks<SWA, SaveAfterThird>> stopped(
      swa_config(5, dir), SWA(options), SaveAfterThird{dir / "swa.pt"});
  stopped.fit(first, data);
  SwaRegressor resumed;
  SwaTrainer rest(swa_config(5, dir), EpochEnds{}, SWA(options), BatchLrs{});
  rest.fit(resumed, data, {.ckpt_path = dir / "swa.pt"});
  CHECK(rest.callback<SWA>().num_averaged() == 4);
  for (const auto& item : whole.named_parameters()) CHECK(torch::equal(item.value(), resumed.named_parameters()[item.key()]));
  for (const auto& item : whole.named_buffers()) CHECK(torch::equal(item.value(), resumed.named_buffers()[item.key()]));
  fs::remove_all(dir);
}

TEST_CASE("SWA options out of range are an error naming the option", "[callbacks][swa][errors]") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(SWA({}), Contains("StochasticWeightAveraging needs swa_lrs"));
  CHECK_THROWS_WITH(SWA({.swa_lrs = {-1}}), Contains("swa_lrs must be > 0 (got -1)"));
  CHECK_THROWS_WITH(SWA({.swa_lrs = {0.1}, .swa_epoch_start = 1.5}), Contains("swa_epoch_start as a fraction must be in (0, 1] (got 1.5)"));
  CHECK_THROWS_WITH(SWA({.swa_lrs = {0.1}, .swa_epoch_start = std::int64_t{0}}), Contains("swa_epoch_start must be >= 1"));
  SwaRegressor m;
  SwaTrainer t(swa_config(2), EpochEnds{}, SWA({.swa_lrs = {0.1, 0.2}, .swa_epoch_start = std::int64_t{1}}), BatchLrs{});
  CHECK_THROWS_WITH(t.fit(m, kiln_test::linear_data(2, 4)), Contains("has 2 swa_lrs for 1 param groups"));
}
