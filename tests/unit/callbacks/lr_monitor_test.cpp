// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/lr_monitor_test.cpp — LearningRateMonitor: each optimizer's learning rate, logged at its scheduler's interval.
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"
#include "callbacks_fixture.hpp"

namespace {

using callbacks_fixture::Lin;
using callbacks_fixture::quiet;

}  // namespace

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
