// SPDX-License-Identifier: Apache-2.0
// tests/integration/resume_probe_main.cpp — a training process for resume_after_sigkill.sh to kill and resume.
// Usage: kiln_resume_probe --dir D [--resume CKPT] [--slow-after-step K | --pause-after-step K]
// Trains a dropout MLP with Adam, a per-epoch StepLR and FP16Mixed loss scaling on shuffled
// Fashion-MNIST batches (3 epochs of 12 batches), writing D/last.ckpt every 4 optimizer steps
// and printing `saved step=<k>` after each write and `step=<k>` after each batch. After step
// K it trains slowly without saving (--slow-after-step, so a kill lands mid-epoch with unsaved progress) or
// stops and waits (--pause-after-step). At the end it prints `params_hash=<hex>`: FNV-1a over
// the bytes of every parameter, so two runs agree only if they are bit-identical.
// SIGTERM/SIGUSR1 take kiln's default path: D/checkpoints/last.pt, exit status 75
// (preempt_and_resume.sh).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include <torch/torch.h>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

namespace {

struct Net : torch::nn::Module {
  using Batch = torch::data::Example<>;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Net() {
    fc1 = register_module("fc1", torch::nn::Linear(784, 32));
    fc2 = register_module("fc2", torch::nn::Linear(32, 10));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) {
    auto h = torch::dropout(torch::relu(fc1(b.data.flatten(1))), 0.3, is_training());
    return torch::cross_entropy_loss(fc2(h), b.target);
  }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-3));
    auto sched = std::make_unique<kiln::StepLR>(*opt, 1, 0.5);
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::epoch};
  }
};

struct SaveEvery {
  std::filesystem::path path;
  std::int64_t every = 4, slow_after = -1, pause_after = -1;
  template <class T>
  void on(const kiln::event::train_batch_end&, T& t) {
    const auto step = t.state().global_step;
    std::printf("step=%ld\n", static_cast<long>(step));
    if (step % every == 0 && (slow_after < 0 || step <= slow_after)) {  // slow: what follows is lost
      t.save_checkpoint(path);
      std::printf("saved step=%ld epoch=%ld batch=%ld\n", static_cast<long>(step), static_cast<long>(t.state().epoch),
                  static_cast<long>(t.state().batch_idx));
    }
    std::fflush(stdout);
    if (pause_after >= 0 && step == pause_after) std::this_thread::sleep_for(std::chrono::seconds(60));
    if (slow_after >= 0 && step > slow_after) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  std::optional<std::filesystem::path> resume;
  std::int64_t slow_after = -1, pause_after = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--resume")) resume = argv[i + 1];
    else if (!std::strcmp(argv[i], "--slow-after-step")) slow_after = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--pause-after-step")) pause_after = std::atol(argv[i + 1]);
    else {
      std::fprintf(stderr, "kiln_resume_probe: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "kiln_resume_probe: --dir is required\n");
    return 2;
  }
  try {
    kiln::seed_everything(11);  // before the module and the loader, as the examples do
    Net m;
    kiln::data::FashionMNIST train({.split = kiln::data::Split::train});
    auto loader = kiln::data::loader(train, {.batch_size = 64, .shuffle = true});
    kiln::Trainer<Net, kiln::Loggers<>, kiln::Precision<kiln::FP16Mixed>, kiln::Callbacks<SaveEvery>> trainer(
        {.max_epochs = 3, .limit_train_batches = std::int64_t{12}, .default_root_dir = dir, .enable_progress_bar = false},
        kiln::FP16Mixed{.scaler = {.init_scale = 1024, .growth_interval = 5}},
        SaveEvery{.path = dir / "last.ckpt", .slow_after = slow_after, .pause_after = pause_after});
    trainer.fit(m, loader, {.ckpt_path = resume});
    std::uint64_t h = 1469598103934665603ULL;
    for (auto& p : m.parameters()) {
      const auto c = p.detach().contiguous();
      const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
      for (std::size_t i = 0; i < c.nbytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
    }
    std::printf("params_hash=%016llx global_step=%ld scale=%g\n", static_cast<unsigned long long>(h),
                static_cast<long>(trainer.state().global_step), trainer.precision().scaler().get_scale());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_resume_probe: %s\n", e.what());
    return 1;
  }
}
