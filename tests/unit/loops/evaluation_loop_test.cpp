// SPDX-License-Identifier: Apache-2.0
// tests/unit/loops/evaluation_loop_test.cpp — validate, test and predict: one pass each, without gradients.
#include <utility>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"

namespace {

using kiln_test::linear_data;
using kiln_test::Linear;
using kiln_test::Quiet;
using kiln_test::quiet;

}  // namespace

TEST_CASE("validate, test and predict run one pass without gradients", "[trainer][evaluation]") {
  Linear m;
  Quiet<> t(quiet({.limit_test_batches = 3}));
  auto data = linear_data(5, 4);
  auto expected = 0.0;
  for (int i = 0; i < 3; ++i) expected += torch::mse_loss(m.fc(data[i].first), data[i].second).item<double>() / 3;
  auto tested = t.test(m, data);
  REQUIRE(tested.at("test/loss") == Approx(expected).epsilon(1e-6));
  auto validated = t.validate(m, data);
  REQUIRE(validated.count("val/loss") == 1);
  REQUIRE(t.callback_metrics().at("test/loss") == tested.at("test/loss"));
  auto predictions = t.predict(m, data);
  REQUIRE(predictions.size() == 5);
  REQUIRE(predictions[0].sizes() == torch::IntArrayRef{4, 1});
  REQUIRE_FALSE(predictions[0].requires_grad());
  REQUIRE(m.is_training());  // restored after evaluation
}
