// SPDX-License-Identifier: Apache-2.0
// tests/unit/metrics/collection_test.cpp — MetricCollection: one update for all its metrics, names under its prefix.
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

TEST_CASE("a collection updates its metrics with one call and names them with its prefix", "[metrics]") {
  auto p = D(fx::mc_probs).reshape({-1, 5}), t = L(fx::mc_target);
  MetricCollection val{"val/", named("acc", Accuracy(mc())), named("f1", F1Score(mc(Average::macro))),
                       named("cm", ConfusionMatrix(mc()))};
  val.update(p.slice(0, 0, 150), t.slice(0, 0, 150));
  val.update(p.slice(0, 150), t.slice(0, 150));
  auto out = val.compute();
  REQUIRE(out.size() == 3);
  matches(out.at("val/acc"), "mc.accuracy");
  matches(out.at("val/f1"), "mc.f1_macro");
  matches(out.at("val/cm"), "mc.confusion");
  CHECK(val.state_dict().count("cm.counts") == 1);
}
