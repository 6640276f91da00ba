// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/checkpoint_fuzz.cpp — libFuzzer target: arbitrary bytes as a checkpoint to resume a fit from.
// Every input must end in kiln::Error (or a successful resume): any other exception, a crash
// or a sanitizer report is a finding. scripts/fuzz builds and runs it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <torch/torch.h>

#include <kiln/callbacks.hpp>
#include <kiln/kiln.hpp>

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

// Small, but with what a checkpoint restores: an optimizer with state, a scheduler, the loss
// scaler, and callbacks with state.
struct Net : torch::nn::Module {
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(3, 2))};
  torch::nn::BatchNorm1d bn{register_module("bn", torch::nn::BatchNorm1d(2))};
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(bn(fc(b.first)), b.second);
    ctx.log("train/loss", loss);
    return loss;
  }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-2));
    auto sched = std::make_unique<kiln::ReduceLROnPlateau>(*opt);
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::epoch, .monitor = "train/loss"};
  }
};

using Trainer = kiln::Trainer<Net, kiln::Loggers<>, kiln::Precision<kiln::FP16Mixed>,
                              kiln::Callbacks<kiln::ModelCheckpoint, kiln::EarlyStopping, kiln::Timer>>;

std::vector<Batch> data() {
  torch::manual_seed(0);
  return {{torch::randn({4, 3}), torch::randn({4, 2})}, {torch::randn({4, 3}), torch::randn({4, 2})}};
}

kiln::TrainerConfig config(std::int64_t epochs) {
  return {.max_epochs = epochs, .default_root_dir = "/tmp/kiln_fuzz_root", .enable_progress_bar = false,
          .handle_preemption_signals = false};
}

Trainer make() {
  return Trainer(config(1), kiln::ModelCheckpoint({.dirpath = "/tmp/kiln_fuzz_root/ckpt", .monitor = "train/loss"}),
                 kiln::EarlyStopping({.monitor = "train/loss"}), kiln::Timer({.duration = std::chrono::hours(1)}));
}

std::string path() { return "/tmp/kiln_fuzz_ckpt_" + std::to_string(::getpid()) + ".pt"; }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  // KILN_FUZZ_WRITE_SEED=<file>: write a valid checkpoint there (the seed corpus) and exit.
  if (const char* seed = std::getenv("KILN_FUZZ_WRITE_SEED")) {
    Net m;
    auto d = data();
    auto t = make();
    t.fit(m, d);
    t.save_checkpoint(seed);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const auto file = path();
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  }
  static auto d = data();
  Net m;
  auto t = make();
  try {
    t.fit(m, d, {.ckpt_path = file});
  } catch (const kiln::Error&) {
    // the expected outcome for almost every input
  } catch (const std::exception& e) {
    std::fprintf(stderr, "checkpoint_fuzz: not a kiln::Error: %s\n", e.what());
    std::abort();
  }
  return 0;
}
