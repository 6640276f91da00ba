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

namespace {

// Every TrainerConfig field set to a value other than its default.
#define EVERY_FIELD_CHANGED                                                                        \
  {.max_epochs = 3, .max_steps = 40, .limit_train_batches = 7, .limit_val_batches = 0.5,          \
   .limit_test_batches = 3, .limit_predict_batches = 0.25, .val_check_interval = 5,               \
   .check_val_every_n_epoch = 2, .num_sanity_val_steps = 0, .accumulate_grad_batches = 4,         \
   .gradient_clip_val = 0.5, .gradient_clip_algorithm = kiln::GradClipAlgorithm::value,           \
   .log_every_n_steps = 10, .fast_dev_run = 1, .seed = 42u, .deterministic = true,                \
   .default_root_dir = "runs", .enable_progress_bar = false, .logger = false,                     \
   .accelerator = "cpu", .devices = 2, .num_threads = 2, .tune_host_allocator = false,            \
   .cpu_channels_last = false, .handle_preemption_signals = false, .exit_on_preemption = false}

bool same(const kiln::BatchLimit& a, const kiln::BatchLimit& b) {
  return a.value == b.value && a.is_fraction == b.is_fraction;
}
template <class T>
bool same(const T& a, const T& b) {
  return a == b;
}

}  // namespace

TEST_CASE("A TrainerConfig written inline in the constructor call reaches the Trainer field by field",
          "[core][config]") {
  const kiln::TrainerConfig want EVERY_FIELD_CHANGED;
  const kiln::TrainerConfig defaults;
  kiln::Trainer<Net, kiln::Loggers<>> trainer(EVERY_FIELD_CHANGED);
  const kiln::TrainerConfig& got = trainer.config();
  // The X-macro walks every field, so a field added to the table is checked here too.
#define KILN_TEST_FIELD(type, name, init, description) \
  CHECK_FALSE(same(want.name, defaults.name));         \
  CHECK(same(got.name, want.name));
  KILN_TRAINER_CONFIG_FIELDS(KILN_TEST_FIELD)
#undef KILN_TEST_FIELD

  kiln::Trainer<Net, kiln::Loggers<>> by_default({});
#define KILN_TEST_DEFAULT(type, name, init, description) CHECK(same(by_default.config().name, defaults.name));
  KILN_TRAINER_CONFIG_FIELDS(KILN_TEST_DEFAULT)
#undef KILN_TEST_DEFAULT
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
