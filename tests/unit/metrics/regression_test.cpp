// SPDX-License-Identifier: Apache-2.0
// tests/unit/metrics/regression_test.cpp — MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, R2Score, ExplainedVariance against scikit-learn.
#include <cstdint>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/metrics.hpp>

#include "metrics_fixture.hpp"
#include "sklearn_fixtures.hpp"

namespace {

using namespace kiln::metrics;
namespace fx = sklearn_fixtures;

using metrics_fixture::batched;
using metrics_fixture::D;
using metrics_fixture::matches;

}  // namespace

TEST_CASE("regression metrics equal scikit-learn's, one output and three", "[metrics]") {
  auto p = D(fx::reg_preds), t = D(fx::reg_target);
  matches(batched(MeanSquaredError(), p, t), "reg.mse");
  matches(batched(RootMeanSquaredError(), p, t), "reg.rmse");
  matches(batched(MeanAbsoluteError(), p, t), "reg.mae");
  matches(batched(R2Score(), p, t), "reg.r2");
  matches(batched(ExplainedVariance(), p, t), "reg.ev");
  auto p3 = D(fx::reg3_preds).reshape({-1, 3}), t3 = D(fx::reg3_target).reshape({-1, 3});
  matches(batched(MeanSquaredError(true, 3), p3, t3), "reg3.mse");
  matches(batched(RootMeanSquaredError(3), p3, t3), "reg3.rmse");
  matches(batched(MeanAbsoluteError(3), p3, t3), "reg3.mae");
  matches(batched(R2Score(3), p3, t3), "reg3.r2");
  matches(batched(ExplainedVariance(3), p3, t3), "reg3.ev");
  auto c = torch::full({10}, 2.0, torch::kDouble), ramp = torch::linspace(1, 3, 10, torch::kDouble);
  matches(functional::r2_score(ramp, c), "reg_const.r2");
  matches(functional::r2_score(c, c), "reg_const.r2_perfect");
  matches(functional::explained_variance(ramp, c), "reg_const.ev");
}

TEST_CASE("a constant target whose one-pass variance rounds to a residue still scores 0, not -1e14",
          "[metrics][regression]") {
  // 200 samples of 0.7 in five uneven batches: Σy² − (Σy)²/n is 2.8e-14, not 0 (found by the
  // comparison with torchmetrics).
  const auto target = torch::full({200}, 0.7, torch::kDouble), preds = torch::linspace(0, 1, 200, torch::kDouble);
  R2Score r2;
  ExplainedVariance ev;
  std::int64_t at = 0;
  for (std::int64_t size : {37, 50, 23, 64, 26}) {
    r2.update(preds.narrow(0, at, size), target.narrow(0, at, size));
    ev.update(preds.narrow(0, at, size), target.narrow(0, at, size));
    at += size;
  }
  CHECK(r2.compute().item<double>() == 0.0);
  CHECK(ev.compute().item<double>() == 0.0);
  R2Score perfect;
  perfect.update(target, target);
  CHECK(perfect.compute().item<double>() == 1.0);
}
