// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/module_hooks_test.cpp — detecting the module's optional hooks, and rejecting near misses.
#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

// Every hook a module can have, each recording its name and the stage its StepContext says.
struct EveryHook : Linear {
  std::vector<std::string> seen;
  bool fail_in_training = false;
  bool log_in_setup = false;
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    if (fail_in_training) throw std::runtime_error("boom");
    return Linear::training_step(b, ctx);
  }
#define KILN_TEST_HOOK(e)                                                           \
  void on_##e(kiln::StepContext& ctx) {                                             \
    seen.push_back(std::string(#e) + ":" + std::string(kiln::to_string(ctx.stage()))); \
    if (log_in_setup && std::string_view(#e) == "setup") ctx.log("x", 1.0);          \
  }
  KILN_TRAINER_EVENTS(KILN_TEST_HOOK)
#undef KILN_TEST_HOOK
};

// The names of the events a Trainer emits, walked from kiln::event::all.
std::set<std::string> trainer_event_names() {
  std::set<std::string> names;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (names.emplace(std::tuple_element_t<I, kiln::event::all>::name), ...);
  }(std::make_index_sequence<kiln::event::engine_first>{});
  return names;
}

std::set<std::string> names_of(const std::vector<std::string>& seen) {
  std::set<std::string> out;
  for (const auto& s : seen) out.insert(s.substr(0, s.find(':')));
  return out;
}

}  // namespace

TEST_CASE("every event a Trainer emits has a module hook, and fit, validate, test, predict and an error call each", "[trainer][hooks]") {
  []<std::size_t... I>(std::index_sequence<I...>) {
    STATIC_REQUIRE((kiln::detail::module_hook<std::tuple_element_t<I, kiln::event::all>>::exists && ...));
  }(std::make_index_sequence<kiln::event::engine_first>{});
  STATIC_REQUIRE_FALSE(kiln::detail::module_hook<kiln::event::epoch_completed>::exists);  // the Engine's own

  EveryHook m;
  const auto data = kiln_test::linear_data(4, 2);
  kiln_test::Quiet<EveryHook> trainer(kiln_test::quiet({.max_epochs = 1, .num_sanity_val_steps = 1}));
  trainer.fit(m, data, data);
  trainer.validate(m, data);
  trainer.test(m, data);
  (void)trainer.predict(m, data);
  m.fail_in_training = true;
  kiln_test::Quiet<EveryHook> failing(kiln_test::quiet({.max_epochs = 1}));
  REQUIRE_THROWS_WITH(failing.fit(m, data), "boom");
  REQUIRE(names_of(m.seen) == trainer_event_names());
  // the stage each hook's context says, where it is not the loop's own
  const auto has = [&](const std::string& s) { return std::find(m.seen.begin(), m.seen.end(), s) != m.seen.end(); };
  CHECK(has("setup:fit"));
  CHECK(has("sanity_check_start:sanity_check"));
  CHECK(has("teardown:test"));
  CHECK(has("setup:predict"));
  CHECK(has("exception:fit"));
}

TEST_CASE("ctx.log in a hook outside the loop, where no logger would get it, is an error naming the value", "[trainer][hooks]") {
  EveryHook m;
  m.log_in_setup = true;
  const auto data = kiln_test::linear_data(4, 2);
  kiln_test::Quiet<EveryHook> trainer(kiln_test::quiet({.max_epochs = 1}));
  REQUIRE_THROWS_WITH(trainer.fit(m, data),
                      Catch::Contains("kiln: ctx.log(\"x\") in a module's on_setup") && Catch::Contains("no logger would get it"));
}

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
