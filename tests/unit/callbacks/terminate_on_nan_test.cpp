// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/terminate_on_nan_test.cpp — TerminateOnNan: a NaN or infinite loss ends fit with an error before the weights change.
#include <cmath>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"
#include "callbacks_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using callbacks_fixture::inf_;
using callbacks_fixture::Lin;
using callbacks_fixture::nan_;
using callbacks_fixture::quiet;

}  // namespace

TEST_CASE("TerminateOnNan ends fit with an error naming the step and the value, before the weights change", "[callbacks][nan]") {
  const auto root = fs::temp_directory_path() / "kiln_nan_test";
  fs::remove_all(root);
  auto train = kiln_test::linear_data(3, 4);
  for (double bad : {nan_, inf_, -inf_}) {
    Lin m;
    m.poison_step = 4;
    m.poison = bad;
    torch::Tensor before;
    auto watch = kiln::lambda_callback([&](const kiln::event::train_batch_end&, auto& t) {
      if (t.state().global_step == 4) before = m.fc->weight.detach().clone();
    });
    kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<decltype(watch), kiln::TerminateOnNan, kiln::ModelCheckpoint>> t(
        quiet(5, root), watch, kiln::ModelCheckpoint({.dirpath = root, .save_last = true}));
    const std::string value = std::isnan(bad) ? "nan" : bad > 0 ? "inf" : "-inf";
    REQUIRE_THROWS_WITH(t.fit(m, train), Contains("TerminateOnNan: the training loss is " + value + " at epoch 1, batch 1, global step 4"));
    REQUIRE(torch::equal(m.fc->weight, before));  // no step with the poisoned gradient
    REQUIRE(torch::isfinite(m.fc->weight).all().item<bool>());
    // The last checkpoint is epoch 0's, untouched.
    Lin loaded;
    kiln::load_weights(loaded, root / "last.pt");
    REQUIRE(torch::isfinite(loaded.fc->weight).all().item<bool>());
  }
}
