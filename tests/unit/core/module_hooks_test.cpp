// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/module_hooks_test.cpp — detecting the module's optional hooks, and rejecting near misses.
#include <utility>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

using kiln_test::HookedLinear;
using kiln_test::Linear;

// on_train_epoch_end without the StepContext parameter: Lightning's spelling, which kiln would
// never call.
struct NearMissLinear : Linear {
  void on_train_epoch_end() {}
};

}  // namespace

TEST_CASE("a near-miss hook is rejected while correct hooks are detected", "[trainer][hooks]") {
  using hook = kiln::detail::module_hook<kiln::event::train_epoch_end>;
  STATIC_REQUIRE(hook::callable<HookedLinear>);
  STATIC_REQUIRE_FALSE(hook::near_miss<HookedLinear>);
  STATIC_REQUIRE_FALSE(hook::callable<Linear>);
  STATIC_REQUIRE_FALSE(hook::near_miss<Linear>);  // no hook at all is fine
  // the near miss: named, not callable with (StepContext&), so the Trainer's check fails on it
  // (compile_fail/hook_wrong_signature pins the sentence)
  STATIC_REQUIRE_FALSE(hook::callable<NearMissLinear>);
  STATIC_REQUIRE(hook::near_miss<NearMissLinear>);
  STATIC_REQUIRE(kiln::TrainingModule<Linear, const Batch>);
  STATIC_REQUIRE(kiln::HasValidationStep<Linear, const Batch>);
}
