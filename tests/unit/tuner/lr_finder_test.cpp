// SPDX-License-Identifier: Apache-2.0
// tests/unit/tuner/lr_finder_test.cpp — lr_find's sweep, smoothing, early stop and suggestion checked by hand,
// and the module and generators left exactly as they were.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/tuner.hpp>

#include "../linear_module.hpp"

namespace {

namespace fs = std::filesystem;

/// The loss of every step, in order (the module records what training_step returned).
struct RecordingLinear : kiln_test::Linear {
  std::vector<double> raw_losses;
  torch::Tensor training_step(const kiln_test::Batch& b, kiln::StepContext& ctx) {
    auto loss = kiln_test::Linear::training_step(b, ctx);
    raw_losses.push_back(loss.item<double>());
    return loss;
  }
};

}  // namespace

TEST_CASE("lr_find sweeps the learning rate and smooths the loss as Lightning does", "[tuner][lr_find]") {
  const auto data = kiln_test::linear_data(30, 8);
  RecordingLinear m;
  kiln_test::Quiet<RecordingLinear> t(kiln_test::quiet({.max_epochs = 5}));
  const auto csv = fs::temp_directory_path() / ("kiln_lr_find_" + std::to_string(::getpid()) + ".csv");
  const auto r = kiln::lr_find(t, m, data,
                               {.min_lr = 1e-4, .max_lr = 1e-1, .num_training = 40, .early_stop_threshold = 0, .csv_path = csv});
  REQUIRE(r.lrs.size() == 40);  // 40 steps over two passes of the 30 batches
  REQUIRE(m.raw_losses.size() == 40);
  double avg = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    CHECK(r.lrs[i] == Approx(1e-4 * std::pow(1e3, double(i) / 40)).epsilon(1e-12));
    avg = 0.98 * avg + 0.02 * m.raw_losses[i];
    CHECK(r.losses[i] == Approx(avg / (1 - std::pow(0.98, double(i + 1)))).epsilon(1e-12));
  }
  // The suggestion: the least central difference of losses[10..38], numpy.gradient's.
  std::size_t best = 10;
  double least = 1e300;
  for (std::size_t i = 10; i < 39; ++i) {
    const double g = i == 10 ? r.losses[11] - r.losses[10] : i == 38 ? r.losses[38] - r.losses[37] : (r.losses[i + 1] - r.losses[i - 1]) / 2;
    if (g < least) least = g, best = i;
  }
  REQUIRE(r.suggestion());
  CHECK(*r.suggestion() == r.lrs[best]);
  CHECK(m.lr == *r.suggestion());  // update_attr
  // The CSV: a header and one row per step.
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  CHECK(line == "lr,loss");
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  CHECK(rows == 40);
  fs::remove(csv);
}

TEST_CASE("lr_find leaves the module and the generators exactly as they were", "[tuner][lr_find]") {
  const auto data = kiln_test::linear_data(10, 8);
  kiln_test::Linear m;
  m.eval();
  kiln::TensorDict before;
  for (const auto& item : kiln::state_dict(m)) before.insert(item.key(), item.value().clone());
  torch::manual_seed(123);
  kiln::seed_everything(123);
  kiln_test::Quiet<> t(kiln_test::quiet({.max_epochs = 1, .seed = 7}));
  kiln::lr_find(t, m, data, {.num_training = 20, .update_attr = false});
  for (const auto& item : kiln::state_dict(m)) CHECK(torch::equal(item.value(), before[item.key()]));
  CHECK_FALSE(m.is_training());
  CHECK(m.lr == 0.1);
  const auto torch_draw = torch::rand({4});
  const auto kiln_draw = kiln::generator()();
  torch::manual_seed(123);
  kiln::seed_everything(123);
  CHECK(torch::equal(torch_draw, torch::rand({4})));
  CHECK(kiln_draw == kiln::generator()());
  // The trainer itself was not used: it still fits from the start.
  t.fit(m, data);
  CHECK(t.state().global_step == 10);
}

TEST_CASE("lr_find stops early once the loss diverges", "[tuner][lr_find]") {
  const auto data = kiln_test::linear_data(50, 8);
  kiln_test::Linear m;
  kiln_test::Quiet<> t(kiln_test::quiet({.max_epochs = 1}));
  const auto r = kiln::lr_find(t, m, data, {.min_lr = 1e-3, .max_lr = 1e3, .num_training = 50});
  REQUIRE(r.losses.size() >= 2);
  CHECK(r.losses.size() < 50);
  const double best = *std::min_element(r.losses.begin(), r.losses.end() - 1);
  CHECK((r.losses.back() > 4 * best || !std::isfinite(r.losses.back())));
}

TEST_CASE("lr_find options out of range are an error", "[tuner][lr_find][errors]") {
  kiln_test::Linear m;
  kiln_test::Quiet<> t(kiln_test::quiet({.max_epochs = 1}));
  const auto data = kiln_test::linear_data(2, 4);
  CHECK_THROWS_WITH(kiln::lr_find(t, m, data, {.min_lr = 1, .max_lr = 0.1}),
                    Catch::Matchers::Contains("lr_find needs 0 < min_lr < max_lr (got 1 and 0.1)"));
  CHECK_THROWS_WITH(kiln::lr_find(t, m, data, {.num_training = 1}), Catch::Matchers::Contains("num_training >= 2"));
}
