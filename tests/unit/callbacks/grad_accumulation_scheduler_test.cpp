// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/grad_accumulation_scheduler_test.cpp — GradientAccumulationScheduler: accumulate_grad_batches by epoch, and its errors.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"
#include "callbacks_fixture.hpp"

namespace {

using Catch::Matchers::Contains;

using callbacks_fixture::Lin;
using callbacks_fixture::quiet;

}  // namespace

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
