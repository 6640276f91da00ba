// SPDX-License-Identifier: Apache-2.0
// tests/unit/metrics/aggregation_test.cpp — MeanMetric, SumMetric, MinMetric, MaxMetric, RunningAverage and Loss.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/metrics.hpp>

namespace {

using namespace kiln::metrics;

}  // namespace

TEST_CASE("aggregation metrics: mean, sum, min, max, running average, loss", "[metrics]") {
  MeanMetric mean;
  mean.update(torch::tensor({1.0, 2.0, 3.0}));
  mean.update(10.0, 3.0);
  CHECK(mean.compute().item<double>() == Approx((1 + 2 + 3 + 30) / 6.0));
  SumMetric sum;
  sum.update(torch::tensor({1.0, 2.0}));
  sum.update(4.0);
  CHECK(sum.compute().item<double>() == 7.0);
  MinMetric mn;
  MaxMetric mx;
  for (double v : {3.0, -1.0, 7.0}) {
    mn.update(v);
    mx.update(v);
  }
  CHECK(mn.compute().item<double>() == -1.0);
  CHECK(mx.compute().item<double>() == 7.0);
  RunningAverage ra(0.5);
  ra.update(4.0);
  ra.update(8.0);
  CHECK(ra.compute().item<double>() == 6.0);
  CHECK(ra(2.0).item<double>() == 4.0);
  Loss loss([](const torch::Tensor& p, const torch::Tensor& t) { return torch::mse_loss(p, t); });
  loss.update(torch::zeros({3}), torch::ones({3}));       // 1 over 3 samples
  loss.update(torch::zeros({1}), torch::full({1}, 3.0));  // 9 over 1 sample
  CHECK(loss.compute().item<double>() == Approx((3 * 1 + 9) / 4.0));
}
