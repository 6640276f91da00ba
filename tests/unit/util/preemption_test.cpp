// SPDX-License-Identifier: Apache-2.0
// tests/unit/util/preemption_test.cpp — SIGTERM and SIGUSR1 during fit: the step finishes, a checkpoint is written, resuming is exact.
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

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

namespace {

// resume_fixture's run with validation (so there is a sanity check), raising a signal once at
// the first `Event` of the chosen stage.
struct Validated : resume_fixture::Net {
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::cross_entropy_loss(fc2(torch::relu(fc1(b.data.flatten(1)))), b.target));
  }
};

template <class Event>
struct RaiseAt {
  int sig = 0;
  kiln::Stage stage = kiln::Stage::fit;
  template <class T>
  void on(const Event&, T& t) {
    const auto now = t.evaluation_state() ? t.evaluation_state()->stage : t.state().stage;
    if (sig && now == stage) std::raise(std::exchange(sig, 0));
  }
};

template <class Event>
Outcome run_validated(RaiseAt<Event> raise, const fs::path& root, std::optional<fs::path> resume = {},
                      std::int64_t val_every = -1) {
  Validated m;
  auto train = kiln::data::loader(resume_fixture::fashion(), {.batch_size = 64, .shuffle = true, .seed = 7});
  auto val = kiln::data::loader(resume_fixture::fashion(), {.batch_size = 64});
  auto cfg = resume_fixture::config(3);
  cfg.limit_val_batches = std::int64_t{2};
  if (val_every > 0) cfg.val_check_interval = val_every;
  cfg.default_root_dir = root;
  cfg.exit_on_preemption = false;
  kiln::Trainer<Validated, kiln::Loggers<>, kiln::Precision<kiln::FP16Mixed>, kiln::Callbacks<RaiseAt<Event>>> t(
      cfg, resume_fixture::scaling(), raise);
  t.fit(m, train, val, {.ckpt_path = resume});
  return resume_fixture::outcome(m, t);
}

// Stopped by `raise`, the run must say where it resumes; resumed, it must end as `straight`.
template <class Event>
void stops_and_resumes(const char* name, RaiseAt<Event> raise, const std::string& resumes_at, std::int64_t val_every = -1) {
  INFO(name);
  const auto root = scratch(std::string("preempt_") + name);
  fs::remove_all(root);
  const Outcome straight = run_validated(RaiseAt<Event>{}, root / "straight", {}, val_every);
  const Outcome stopped = run_validated(raise, root, {}, val_every);
  const auto file = root / "checkpoints" / "last.pt";
  CHECK_THAT(stopped.stop_reason, Contains("preempted by SIGTERM; checkpoint " + file.string()) && Contains(resumes_at));
  REQUIRE(fs::exists(file));
  same(run_validated(RaiseAt<Event>{}, root / "resumed", file, val_every), straight);
}

}  // namespace

TEST_CASE("SIGTERM during setup, the sanity check or validation is acted on at the next boundary, as during training",
          "[checkpoint][preemption]") {
  using kiln::Stage;
  namespace ev = kiln::event;
  stops_and_resumes("setup", RaiseAt<ev::setup>{SIGTERM, Stage::fit}, "resumes at epoch 0, batch 0; global step 0)");
  stops_and_resumes("sanity_check", RaiseAt<ev::validation_batch_end>{SIGTERM, Stage::sanity_check},
                    "resumes at epoch 0, batch 0; global step 0)");
  // Validation at the end of epoch 0: the checkpoint resumes at epoch 1's start.
  stops_and_resumes("epoch_end_validation", RaiseAt<ev::validation_batch_end>{SIGTERM, Stage::validate},
                    "resumes at epoch 1, batch 0; global step 12)");
  // Validation every 5 batches: the first runs after batch 4; the checkpoint follows it.
  stops_and_resumes("mid_epoch_validation", RaiseAt<ev::validation_batch_end>{SIGTERM, Stage::validate},
                    "resumes at epoch 0, batch 5; global step 5)", 5);
}
