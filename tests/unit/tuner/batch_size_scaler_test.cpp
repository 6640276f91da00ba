// SPDX-License-Identifier: Apache-2.0
// tests/unit/tuner/batch_size_scaler_test.cpp — scale_batch_size's power and binsearch searches against a CPU
// memory cap, the trials it reports, and the module left as it was.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/tuner.hpp>

#include "../linear_module.hpp"

namespace {

/// ~4 MiB of activations per sample, kept for backward: memory grows with the batch size.
struct Wide : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Wide() {
    torch::manual_seed(2);
    fc = register_module("fc", torch::nn::Linear(16, 1));
  }
  torch::Tensor training_step(const kiln_test::Batch& b, kiln::StepContext&) {
    const auto h = fc(b.first).repeat({1, 1 << 19});  // [B, 512 Ki] floats: 2 MiB a sample, and its square
    return (h * h).mean();
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.01));
  }
};

std::vector<kiln_test::Batch> batches_of(std::int64_t size) {
  return {4, {torch::randn({size, 16}), torch::randn({size, 1})}};
}

std::uint64_t resident_now() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

}  // namespace

TEST_CASE("scale_batch_size doubles to the memory cap (power) or bisects below it (binsearch)", "[tuner][batch_size]") {
  using Mode = kiln::ScaleBatchSizeOptions::Mode;
  for (const auto mode : {Mode::power, Mode::binsearch}) {
    INFO((mode == Mode::power ? "power" : "binsearch"));
    Wide m;
    const auto before = m.fc->weight.clone();
    kiln::Trainer<Wide, kiln::Loggers<>> t({.max_epochs = 1, .enable_progress_bar = false});
    const std::uint64_t cap = resident_now() + (64ull << 20);
    const auto r = kiln::scale_batch_size(t, m, batches_of, {.mode = mode, .steps_per_trial = 2, .max_memory = cap});
    REQUIRE(r.trials.size() >= 2);
    // Doubling from 2 while the trials fit, the first that does not fit over the cap.
    std::size_t first_fail = 0;
    while (first_fail < r.trials.size() && r.trials[first_fail].fits) ++first_fail;
    REQUIRE(first_fail < r.trials.size());
    for (std::size_t i = 0; i < first_fail; ++i) {
      CHECK(r.trials[i].batch_size == std::int64_t{2} << i);
      CHECK(r.trials[i].peak_memory <= cap);
    }
    CHECK(r.trials[first_fail].peak_memory > cap);
    CHECK(r.trials[first_fail].peak_memory > r.trials[0].peak_memory);
    CHECK(r.batch_size >= 2);
    if (mode == Mode::power) {
      CHECK(r.trials.size() == first_fail + 1);  // power stops at the first failure
      CHECK(r.batch_size == r.trials[first_fail].batch_size / 2);
    } else {
      // binsearch ends next to a size that failed: nothing between what fit and what did not.
      bool next_failed = false;
      for (const auto& trial : r.trials) {
        if (trial.fits) CHECK(trial.batch_size <= r.batch_size);
        else next_failed = next_failed || trial.batch_size == r.batch_size + 1;
      }
      CHECK(next_failed);
    }
    CHECK(torch::equal(m.fc->weight, before));
  }
}

TEST_CASE("scale_batch_size passes on errors that are not out of memory", "[tuner][batch_size][errors]") {
  Wide m;
  kiln::Trainer<Wide, kiln::Loggers<>> t({.max_epochs = 1, .enable_progress_bar = false});
  const auto failing = [](std::int64_t size) -> std::vector<kiln_test::Batch> {
    if (size > 4) throw kiln::Error("kiln test: no data for batch size " + std::to_string(size));
    return batches_of(size);
  };
  CHECK_THROWS_WITH(kiln::scale_batch_size(t, m, failing, {.steps_per_trial = 1}), Catch::Matchers::Contains("no data for batch size 8"));
  CHECK_THROWS_WITH(kiln::scale_batch_size(t, m, batches_of, {.init_val = 0}), Catch::Matchers::Contains("init_val, steps_per_trial and max_trials >= 1"));
}
