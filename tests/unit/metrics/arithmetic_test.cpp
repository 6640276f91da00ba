// SPDX-License-Identifier: Apache-2.0
// tests/unit/metrics/arithmetic_test.cpp — metrics composed by arithmetic and lambda(): each operand fed once, the formula's value.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/metrics.hpp>

#include "metrics_fixture.hpp"
#include "sklearn_fixtures.hpp"

namespace {

using namespace kiln::metrics;
namespace fx = sklearn_fixtures;

using metrics_fixture::D;
using metrics_fixture::L;
using metrics_fixture::matches;
using metrics_fixture::mc;

}  // namespace

TEST_CASE("metric arithmetic feeds each operand once and equals the formula", "[metrics]") {
  auto p = D(fx::mc_probs).reshape({-1, 5}), t = L(fx::mc_target);
  Precision prec(mc(Average::none));
  Recall rec(mc(Average::none));
  auto f1 = 2 * prec * rec / (prec + rec);  // Ignite's example: per-class F1, then averaged below
  auto f1_macro = lambda([](const at::Tensor& v) { return at::nan_to_num(v).mean(); }, f1);
  for (int64_t i = 0; i < p.size(0); i += 50) f1_macro.update(p.slice(0, i, i + 50), t.slice(0, i, i + 50));
  // each operand saw the data once, although prec and rec appear twice each
  matches(prec.compute(), "mc.precision_none");
  matches(rec.compute(), "mc.recall_none");
  matches(f1_macro.compute(), "mc.f1_macro");
  // temporaries are owned by the expression; scalars on either side
  auto err = 1.0 - Accuracy(mc());
  err.update(p, t);
  CHECK(err.compute().item<double>() == Approx(1.0 - fx::expected.at("mc.accuracy")[0]));
  auto st = err.state_dict();
  CHECK(st.count("0.tp") == 1);
  f1_macro.reset();
  CHECK_THROWS(prec.compute());
  static_assert(Metric<decltype(f1)>, "a composed metric is a metric");
}
