// SPDX-License-Identifier: Apache-2.0
// tests/unit/util/preemption_test.cpp — SIGTERM and SIGUSR1 during fit: the step finishes, a checkpoint is written, resuming is exact.
#include <csignal>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "../checkpoint/resume_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using resume_fixture::Outcome;
using resume_fixture::run;
using resume_fixture::same;
using resume_fixture::scratch;

}  // namespace

TEST_CASE("SIGTERM and SIGUSR1 during fit: the step finishes, a checkpoint is written, resuming is exact",
          "[checkpoint][preemption]") {
  const Outcome straight = run(3);
  struct sigaction before {};
  sigaction(SIGTERM, nullptr, &before);
  for (int sig : {SIGTERM, SIGUSR1}) {
    const auto root = scratch(sig == SIGTERM ? "sigterm" : "sigusr1");
    fs::remove_all(root);
    auto keep_running = [&](kiln::TrainerConfig& c) {
      c.default_root_dir = root;
      c.exit_on_preemption = false;  // the test process must live on; kiln_resume_probe tests the exit
    };
    const Outcome stopped = run(3, {.epoch = 1, .batch = 4, .signal = sig}, {}, keep_running);
    const auto file = root / "checkpoints" / "last.pt";
    INFO(stopped.stop_reason);
    CHECK(stopped.global_step == 17);
    CHECK_THAT(stopped.stop_reason, Contains(std::string("preempted by ") + (sig == SIGTERM ? "SIGTERM" : "SIGUSR1")) &&
                                        Contains(file.string()) && Contains("resumes at epoch 1, batch 5; global step 17"));
    same(run(3, {}, file), straight);
  }
  // kiln's handler is gone after fit: the process's own (Catch2's) is back.
  struct sigaction now {};
  sigaction(SIGTERM, nullptr, &now);
  CHECK(now.sa_handler == before.sa_handler);
}
