// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/config_test.cpp — TrainerConfig's checks and BatchLimit's counts and fractions.
#include <optional>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "core_fixture.hpp"

namespace {

using core_fixture::Net;

}  // namespace

TEST_CASE("TrainerConfig errors name the option", "[core][config]") {
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH(kiln::validate({.accumulate_grad_batches = 0}), Contains("accumulate_grad_batches") && Contains("got 0"));
  REQUIRE_THROWS_WITH(kiln::validate({.limit_train_batches = 1.5}), Contains("limit_train_batches"));
  REQUIRE_THROWS_WITH(kiln::validate({.log_every_n_steps = -2}), Contains("log_every_n_steps"));
  REQUIRE_THROWS_WITH(kiln::validate({.gradient_clip_val = -1.0}), Contains("gradient_clip_val"));
  REQUIRE_THROWS_WITH(kiln::validate({.accelerator = "tpu"}), Contains("accelerator"));
  REQUIRE_NOTHROW(kiln::validate({}));
  using T = kiln::Trainer<Net, kiln::Loggers<>>;
  REQUIRE_THROWS_AS(T({.check_val_every_n_epoch = 0}), kiln::Error);
}

TEST_CASE("BatchLimit resolves counts and fractions as Lightning does", "[core][config]") {
  REQUIRE(kiln::BatchLimit(1.0).resolve(40, "x") == 40);
  REQUIRE(kiln::BatchLimit(0.25).resolve(40, "x") == 10);
  REQUIRE(kiln::BatchLimit(0.26).resolve(40, "x") == 10);  // int(0.26 * 40)
  REQUIRE(kiln::BatchLimit(5).resolve(40, "x") == 5);
  REQUIRE(kiln::BatchLimit(50).resolve(40, "x") == 40);
  REQUIRE(kiln::BatchLimit(5).resolve(std::nullopt, "x") == 5);
  REQUIRE(kiln::BatchLimit(1.0).resolve(std::nullopt, "x") == -1);
  REQUIRE_THROWS_WITH(kiln::BatchLimit(0.5).resolve(std::nullopt, "limit_val_batches"),
                      Catch::Matchers::Contains("limit_val_batches=0.5"));
}
