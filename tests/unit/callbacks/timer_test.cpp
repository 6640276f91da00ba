// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/timer_test.cpp — Timer: stops fit when its budget is used up, leaving a checkpoint that resumes with the time spent.
#include <chrono>
#include <filesystem>
#include <thread>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"
#include "callbacks_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using callbacks_fixture::Lin;
using callbacks_fixture::quiet;

}  // namespace

TEST_CASE("Timer stops training when its budget is used up and leaves a checkpoint to resume from", "[callbacks][timer]") {
  const auto root = fs::temp_directory_path() / "kiln_timer_test";
  fs::remove_all(root);
  auto train = kiln_test::linear_data(3, 4);
  // Each batch takes >= 60 ms, so a 50 ms budget is used up by the end of the first.
  auto slow = kiln::lambda_callback([](const kiln::event::train_batch_end&, auto&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  });
  Lin m;
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<decltype(slow), kiln::Timer>> t(
      quiet(100, root), slow, kiln::Timer({.duration = std::chrono::milliseconds(50)}));
  t.fit(m, train);
  REQUIRE(t.state().global_step == 1);
  REQUIRE_THAT(t.state().stop_reason, Contains("Timer: the training time budget of 0.050 s is used up") &&
                                          Contains((root / "checkpoints" / "last.pt").string()));
  REQUIRE(fs::exists(root / "checkpoints" / "last.pt"));
  REQUIRE(t.callback<kiln::Timer>().time_elapsed() >= std::chrono::milliseconds(50));

  // The checkpoint resumes at epoch 0, batch 1 with the elapsed time, so a resumed run with
  // the same budget stops after its first step.
  Lin m2;
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<kiln::Timer>> t2(quiet(100, root), kiln::Timer({.duration = std::chrono::milliseconds(50)}));
  t2.fit(m2, train, {.ckpt_path = root / "checkpoints" / "last.pt"});
  REQUIRE(t2.state().global_step == 2);
  REQUIRE_THROWS_WITH(kiln::Timer({.duration = std::chrono::seconds(0)}), Contains("Timer duration must be > 0"));
}
