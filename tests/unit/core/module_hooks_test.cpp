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

}  // namespace

TEST_CASE("a near-miss hook is rejected while correct hooks are detected", "[trainer][hooks]") {
  STATIC_REQUIRE(kiln::detail::module_hook<kiln::event::train_epoch_end>::callable<HookedLinear>);
  STATIC_REQUIRE_FALSE(kiln::detail::module_hook<kiln::event::train_epoch_end>::callable<Linear>);
  STATIC_REQUIRE(kiln::TrainingModule<Linear, const Batch>);
  STATIC_REQUIRE(kiln::HasValidationStep<Linear, const Batch>);
}
