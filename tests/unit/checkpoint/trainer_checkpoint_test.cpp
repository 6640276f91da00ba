// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/checkpoint_test.cpp — full-state checkpoints: resuming continues the run exactly; bad files are errors.
#include <csignal>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

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

const kiln::data::FashionMNIST& fashion() {
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

kiln::TrainerConfig config(std::int64_t epochs) {
  return {.max_epochs = epochs, .limit_train_batches = std::int64_t{12}, .enable_progress_bar = false};
}
kiln::FP16Mixed scaling() { return {.scaler = {.init_scale = 1024, .growth_interval = 5}}; }

struct Outcome {
  std::vector<torch::Tensor> params;
  double scale = 0, lr = 0;
  std::int64_t tracker = 0, global_step = 0;
  std::string stop_reason;
};

// A fresh process's worth of objects: the loader is seeded, the module seeds its own init.
Outcome run(std::int64_t epochs, Interrupt interrupt = {}, std::optional<fs::path> resume = {},
            std::function<void(kiln::TrainerConfig&)> tweak = {}) {
  Net m;
  auto loader = kiln::data::loader(fashion(), {.batch_size = 64, .shuffle = true, .seed = 7});
  auto cfg = config(epochs);
  if (tweak) tweak(cfg);
  Trainer t(cfg, scaling(), interrupt);
  t.fit(m, loader, {.ckpt_path = resume});
  Outcome o;
  for (auto& p : m.parameters()) o.params.push_back(p.detach().clone());
  o.scale = t.precision().scaler().get_scale();
  o.tracker = t.precision().scaler().growth_tracker();
  o.lr = t.optimizers()[0].optimizer->param_groups()[0].options().get_lr();
  o.global_step = t.state().global_step;
  o.stop_reason = t.state().stop_reason;
  return o;
}

void same(const Outcome& a, const Outcome& b) {
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

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / "kiln_checkpoint_test";
  fs::create_directories(dir);
  return dir / name;
}

}  // namespace

TEST_CASE("resuming from a checkpoint continues the run exactly", "[checkpoint][resume]") {
  const Outcome straight = run(3);
  CHECK(straight.global_step == 36);
  CHECK(straight.scale == 1024.0 * 128);  // 36 clean steps, growth every 5: the scaler state moved
  CHECK(straight.lr == 1e-3 * 0.125);

  SECTION("stopped in the middle of an epoch") {
    const auto ckpt = scratch("mid_epoch.ckpt");
    run(3, {.path = ckpt, .epoch = 1, .batch = 4});
    same(run(3, {}, ckpt), straight);
  }
  SECTION("stopped at an epoch's end, before its scheduler step") {
    const auto ckpt = scratch("epoch_end.ckpt");
    run(3, {.path = ckpt, .epoch = 1, .batch = -1});
    same(run(3, {}, ckpt), straight);
  }
  SECTION("saved after a shorter fit, continued to more epochs") {
    const auto ckpt = scratch("after_fit.ckpt");
    {
      Net m;
      auto loader = kiln::data::loader(fashion(), {.batch_size = 64, .shuffle = true, .seed = 7});
      Trainer t(config(2), scaling());
      t.fit(m, loader);
      t.save_checkpoint(ckpt);
    }
    same(run(3, {}, ckpt), straight);
  }
}

TEST_CASE("a stop in the middle of an epoch pauses it: resuming finishes the epoch as the run would have",
          "[checkpoint][resume]") {
  const Outcome straight = run(3);
  // max_steps=16 stops at epoch 1, batch 4. The epoch's scheduler step waits for its real end.
  const auto ckpt = scratch("max_steps.ckpt");
  {
    Net m;
    auto loader = kiln::data::loader(fashion(), {.batch_size = 64, .shuffle = true, .seed = 7});
    auto cfg = config(3);
    cfg.max_steps = 16;
    Trainer t(cfg, scaling());
    t.fit(m, loader);
    REQUIRE(t.state().global_step == 16);
    CHECK(t.optimizers()[0].optimizer->param_groups()[0].options().get_lr() == 1e-3 * 0.5);  // one epoch end, not two
    t.save_checkpoint(ckpt);
  }
  same(run(3, {}, ckpt), straight);
}

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

TEST_CASE("a checkpoint that cannot be used is an error naming the file, and changes nothing", "[checkpoint][errors]") {
  const auto good = scratch("good.ckpt");
  {
    Net m;
    std::vector<torch::data::Example<>> data{{torch::randn({8, 1, 28, 28}), torch::randint(0, 10, {8})}};
    Trainer t({.max_epochs = 1, .enable_progress_bar = false}, scaling());
    REQUIRE_THROWS_WITH(t.save_checkpoint(good), Contains("before fit() has started"));
    t.fit(m, data);
    t.save_checkpoint(good);
    CHECK_FALSE(fs::exists(good.string() + ".tmp"));
  }
  std::vector<torch::data::Example<>> data{{torch::randn({8, 1, 28, 28}), torch::randint(0, 10, {8})}};
  auto fit_from = [&](const fs::path& p) {
    Net m;
    const auto before = m.fc1->weight.clone();
    Trainer t({.max_epochs = 2, .enable_progress_bar = false}, scaling());
    try {
      t.fit(m, data, {.ckpt_path = p});
    } catch (...) {
      CHECK(torch::equal(m.fc1->weight, before));  // a failed load leaves the module as it was
      throw;
    }
  };
  SECTION("missing") { REQUIRE_THROWS_WITH(fit_from(scratch("none.ckpt")), Contains("none.ckpt does not exist")); }
  SECTION("truncated") {
    const auto bad = scratch("truncated.ckpt");
    fs::copy_file(good, bad, fs::copy_options::overwrite_existing);
    fs::resize_file(bad, fs::file_size(good) / 2);
    REQUIRE_THROWS_WITH(fit_from(bad), Contains("truncated.ckpt is not a readable checkpoint"));
  }
  SECTION("one byte changed: the CRC-32 in kiln's trailer catches it before LibTorch reads the file") {
    const auto bad = scratch("flipped.ckpt");
    fs::copy_file(good, bad, fs::copy_options::overwrite_existing);
    std::fstream f(bad, std::ios::binary | std::ios::in | std::ios::out);
    const auto at = static_cast<std::streamoff>(fs::file_size(bad) / 3);
    char c = 0;
    f.seekg(at);
    f.get(c);
    f.seekp(at);
    f.put(static_cast<char>(~c));
    f.close();
    REQUIRE_THROWS_WITH(fit_from(bad), Contains("flipped.ckpt is not a readable checkpoint: its CRC-32 does not match"));
  }
  SECTION("random bytes") {
    const auto bad = scratch("random.ckpt");
    std::ofstream out(bad, std::ios::binary);
    std::mt19937 g(1);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(g()));
    out.close();
    REQUIRE_THROWS_WITH(fit_from(bad), Contains("random.ckpt is not a readable checkpoint"));
  }
  SECTION("another model: every difference is listed; strict=false loads what matches") {
    struct Other : torch::nn::Module {
      using Batch = torch::data::Example<>;
      torch::nn::Linear fc1{register_module("fc1", torch::nn::Linear(784, 16))};
      torch::nn::Linear head{register_module("head", torch::nn::Linear(16, 10))};
      torch::Tensor training_step(const Batch& b, kiln::StepContext&) {
        return torch::cross_entropy_loss(head(fc1(b.data.flatten(1))), b.target);
      }
      std::unique_ptr<torch::optim::SGD> configure_optimizers() {
        return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
      }
    };
    Other o;
    kiln::Trainer<Other, kiln::Loggers<>> t({.max_epochs = 2, .enable_progress_bar = false});
    REQUIRE_THROWS_WITH(t.fit(o, data, {.ckpt_path = good}),
                        Contains("good.ckpt does not fit the module") && Contains("missing keys (2): head.weight, head.bias") &&
                            Contains("unexpected keys (2): fc2.weight, fc2.bias") &&
                            Contains("fc1.weight: checkpoint [32, 784], module [16, 784]") &&
                            Contains("fc1.bias: checkpoint [32], module [16]"));
    Net source;
    kiln::load_weights(source, good);
    struct Half : torch::nn::Module {
      torch::nn::Linear fc2{register_module("fc2", torch::nn::Linear(32, 10))};
      torch::nn::Linear extra{register_module("extra", torch::nn::Linear(2, 2))};
    } half;
    const auto report = kiln::load_weights(half, good, /*strict=*/false);
    CHECK(torch::equal(half.fc2->weight, source.fc2->weight));
    CHECK(report.missing == std::vector<std::string>{"extra.weight", "extra.bias"});
    CHECK(report.unexpected == std::vector<std::string>{"fc1.weight", "fc1.bias"});
  }
}

TEST_CASE("a checkpoint records the module's hparams under hparams/", "[checkpoint]") {
  struct Tuned : torch::nn::Module {
    torch::nn::Linear fc{register_module("fc", torch::nn::Linear(2, 1))};
    torch::Tensor training_step(const std::pair<torch::Tensor, torch::Tensor>& b, kiln::StepContext&) {
      return torch::mse_loss(fc(b.first), b.second);
    }
    std::unique_ptr<torch::optim::SGD> configure_optimizers() {
      return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
    }
    kiln::HParams hparams() const { return {{"lr", 0.1}, {"layers", std::int64_t{1}}, {"name", std::string("tuned")}}; }
  } m;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> data{{torch::ones({4, 2}), torch::zeros({4, 1})}};
  kiln::Trainer<Tuned, kiln::Loggers<>> t({.max_epochs = 1, .enable_progress_bar = false});
  t.fit(m, data);
  const auto path = scratch("hparams.ckpt");
  t.save_checkpoint(path);
  torch::serialize::InputArchive root, hp;
  kiln::detail::read_archive(root, path);
  REQUIRE(root.try_read("hparams", hp));
  c10::IValue lr, layers, name;
  REQUIRE(hp.try_read("lr", lr));
  REQUIRE(hp.try_read("layers", layers));
  REQUIRE(hp.try_read("name", name));
  CHECK(lr.toDouble() == 0.1);
  CHECK(layers.toInt() == 1);
  CHECK(name.toStringRef() == "tuned");
}
