// SPDX-License-Identifier: Apache-2.0
// tests/unit/trainer_test.cpp — the Trainer as a whole: fit's events and module hooks in Lightning's order.
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "linear_module.hpp"

namespace {

using kiln_test::HookedLinear;
using kiln_test::linear_data;

// Records every event it sees; HookedLinear appends its hook calls to the same list.
struct EventLog {
  std::vector<std::string>* log = nullptr;
  template <class E, class T>
  void on(const E&, T&) { log->emplace_back(E::name); }
};

}  // namespace

TEST_CASE("fit with validation emits the documented events in Lightning's order", "[trainer][events]") {
  std::vector<std::string> log;
  HookedLinear model;
  model.log = &log;
  kiln::Trainer<HookedLinear, kiln::Callbacks<EventLog>, kiln::Loggers<>> trainer(
      {.max_epochs = 2, .num_sanity_val_steps = 1, .enable_progress_bar = false}, EventLog{&log});
  auto train = linear_data(3, 4), val = linear_data(2, 4);
  trainer.fit(model, train, val);

  std::vector<std::string> expected{"setup", "fit_start", "sanity_check_start"};
  auto validation = [&](int batches, bool sanity) {
    for (auto e : {"validation_start", "validation_epoch_start"}) expected.emplace_back(e);
    for (int i = 0; i < batches; ++i)
      for (auto e : {"validation_batch_start", "validation_batch_end"}) expected.emplace_back(e);
    expected.emplace_back("validation_epoch_end");
    expected.emplace_back("module:on_validation_epoch_end");  // callbacks first, then the module
    expected.emplace_back("validation_end");
    (void)sanity;
  };
  validation(1, true);
  for (auto e : {"sanity_check_end", "train_start"}) expected.emplace_back(e);
  for (int epoch = 0; epoch < 2; ++epoch) {
    expected.emplace_back("train_epoch_start");
    expected.emplace_back("module:on_train_epoch_start");
    for (int b = 0; b < 3; ++b)
      for (auto e : {"train_batch_start", "before_backward", "after_backward", "before_optimizer_step",
                     "before_zero_grad", "train_batch_end"})
        expected.emplace_back(e);
    validation(2, false);  // Lightning 2.x: epoch-end validation runs before train_epoch_end
    expected.emplace_back("train_epoch_end");
    expected.emplace_back("module:on_train_epoch_end");
  }
  for (auto e : {"train_end", "fit_end", "teardown"}) expected.emplace_back(e);
  REQUIRE(log == expected);
}
