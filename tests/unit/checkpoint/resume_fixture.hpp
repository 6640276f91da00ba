// SPDX-License-Identifier: Apache-2.0
// tests/unit/checkpoint/resume_fixture.hpp — a run whose every piece of state matters on resume, stopped and resumed at will.
#pragma once
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

namespace resume_fixture {

namespace fs = std::filesystem;

// A dropout MLP (so the generator state matters) trained with Adam, a per-epoch StepLR and
// FP16Mixed whose scale grows every 5 steps (so the scaler state matters), on shuffled
// Fashion-MNIST batches (so the sampler's epoch matters).
struct Net : torch::nn::Module {
  using Batch = torch::data::Example<>;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Net() {
    torch::manual_seed(5);
    fc1 = register_module("fc1", torch::nn::Linear(784, 32));
    fc2 = register_module("fc2", torch::nn::Linear(32, 10));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto h = torch::dropout(torch::relu(fc1(b.data.flatten(1))), 0.3, is_training());
    auto loss = torch::cross_entropy_loss(fc2(h), b.target);
    ctx.log("train/loss", loss, {.on_epoch = true});
    return loss;
  }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-3));
    auto sched = std::make_unique<kiln::StepLR>(*opt, 1, 0.5);
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::epoch};
  }
};

inline const kiln::data::FashionMNIST& fashion() {
  static const kiln::data::FashionMNIST ds({.split = kiln::data::Split::train});
  return ds;
}

// Saves a checkpoint and stops the run there: after batch `batch` of `epoch`, or at the end of
// `epoch` (before its epoch schedulers step) when batch < 0. The run after it is thrown away,
// as a killed process's would be.
struct Interrupt {
  fs::path path;
  std::int64_t epoch = -1, batch = -1;
  int signal = 0;  ///< raise this signal instead (the Trainer's handler writes the checkpoint)
  template <class T>
  void on(const kiln::event::train_batch_end& e, T& t) {
    if (batch >= 0 && t.state().epoch == epoch && e.batch_idx == batch) stop(t);
  }
  template <class T>
  void on(const kiln::event::train_epoch_end&, T& t) {
    if (batch < 0 && t.state().epoch == epoch) stop(t);
  }
  template <class T>
  void stop(T& t) {
    if (signal) return void(std::raise(signal));
    t.save_checkpoint(path);
    t.state().request_stop("interrupted by the test");
  }
};

using Trainer = kiln::Trainer<Net, kiln::Loggers<>, kiln::Precision<kiln::FP16Mixed>, kiln::Callbacks<Interrupt>>;

inline kiln::TrainerConfig config(std::int64_t epochs) {
  return {.max_epochs = epochs, .limit_train_batches = std::int64_t{12}, .enable_progress_bar = false};
}
inline kiln::FP16Mixed scaling() { return {.scaler = {.init_scale = 1024, .growth_interval = 5}}; }

struct Outcome {
  std::vector<torch::Tensor> params;
  double scale = 0, lr = 0;
  std::int64_t tracker = 0, global_step = 0;
  std::string stop_reason;
};

// What a finished fit of `m` by FP16Mixed trainer `t` left.
template <class T>
Outcome outcome(torch::nn::Module& m, T& t) {
  Outcome o;
  for (auto& p : m.parameters()) o.params.push_back(p.detach().clone());
  o.scale = t.precision().scaler().get_scale();
  o.tracker = t.precision().scaler().growth_tracker();
  o.lr = t.optimizers()[0].optimizer->param_groups()[0].options().get_lr();
  o.global_step = t.state().global_step;
  o.stop_reason = t.state().stop_reason;
  return o;
}

// A fresh process's worth of objects: the loader is seeded, the module seeds its own init.
inline Outcome run(std::int64_t epochs, Interrupt interrupt = {}, std::optional<fs::path> resume = {},
                   std::function<void(kiln::TrainerConfig&)> tweak = {}) {
  Net m;
  auto loader = kiln::data::loader(fashion(), {.batch_size = 64, .shuffle = true, .seed = 7});
  auto cfg = config(epochs);
  if (tweak) tweak(cfg);
  Trainer t(cfg, scaling(), interrupt);
  t.fit(m, loader, {.ckpt_path = resume});
  return outcome(m, t);
}

inline void same(const Outcome& a, const Outcome& b) {
  REQUIRE(a.params.size() == b.params.size());
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    INFO("parameter " << i);
    CHECK(torch::equal(a.params[i], b.params[i]));  // bit-identical, not close
  }
  CHECK(a.scale == b.scale);
  CHECK(a.tracker == b.tracker);
  CHECK(a.lr == b.lr);
  CHECK(a.global_step == b.global_step);
}

inline fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / "kiln_checkpoint_test";
  fs::create_directories(dir);
  return dir / name;
}

}  // namespace resume_fixture
