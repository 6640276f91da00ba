// SPDX-License-Identifier: Apache-2.0
// tests/unit/checkpoint/trainer_checkpoint_test.cpp — full checkpoints: resuming continues a run exactly; what a checkpoint records.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>
#include <kiln/metrics.hpp>

#include "resume_fixture.hpp"

namespace {

using kiln::metrics::Accuracy;
using kiln::metrics::AUROC;
using kiln::metrics::Task;

using resume_fixture::config;
using resume_fixture::fashion;
using resume_fixture::Net;
using resume_fixture::Outcome;
using resume_fixture::run;
using resume_fixture::same;
using resume_fixture::scaling;
using resume_fixture::scratch;
using resume_fixture::Trainer;

/// Logs a train-epoch Accuracy object (on_epoch only) and an AUROC of the first logit.
struct EpochMetrics : torch::nn::Module {
  using Batch = std::pair<torch::Tensor, torch::Tensor>;
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(4, 3))};
  Accuracy acc{{.task = Task::multiclass, .num_classes = 3}};
  AUROC auroc{{.task = Task::binary}};
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto logits = fc(b.first);
    acc.update(logits.detach(), b.second);
    auroc.update(logits.detach().select(1, 0), (b.second == 0).to(torch::kLong));
    ctx.log("train/acc", acc, {.on_step = false, .on_epoch = true});
    ctx.log("train/auroc", auroc, {.on_step = false, .on_epoch = true});
    return torch::cross_entropy_loss(logits, b.second);
  }
  kiln::OptimizerConfig configure_optimizers() {
    return {.optimizer = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.5))};
  }
};

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

TEST_CASE("a checkpoint mid-epoch keeps logged metrics' states: the resumed epoch's value is the whole epoch's", "[metrics][checkpoint]") {
  torch::manual_seed(5);
  std::vector<EpochMetrics::Batch> data;
  for (int i = 0; i < 8; ++i) {
    auto x = torch::randn({16, 4});
    data.emplace_back(x, (x.slice(1, 0, 3) + 0.8 * torch::randn({16, 3})).argmax(1));
  }
  const auto dir = std::filesystem::temp_directory_path() / "kiln_metrics_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto ckpt = dir / "step5.ckpt";
  kiln::TrainerConfig cfg{.max_epochs = 1, .default_root_dir = dir, .enable_progress_bar = false};
  double whole_acc, whole_auroc;
  {
    torch::manual_seed(1);
    EpochMetrics m;
    auto save = kiln::lambda_callback([&](const kiln::event::train_batch_end&, auto& t) {
      if (t.state().global_step == 5) t.save_checkpoint(ckpt);
    });
    kiln::Trainer<EpochMetrics, kiln::Loggers<>, kiln::Callbacks<decltype(save)>> t(cfg, save);
    t.fit(m, data);
    whole_acc = t.callback_metrics().at("train/acc");
    whole_auroc = t.callback_metrics().at("train/auroc");
  }
  torch::manual_seed(99);  // the resumed run's weights come from the checkpoint
  EpochMetrics m;
  kiln::Trainer<EpochMetrics, kiln::Loggers<>> t(cfg);
  t.fit(m, data, {.ckpt_path = ckpt});
  CHECK(t.callback_metrics().at("train/acc") == whole_acc);
  CHECK(t.callback_metrics().at("train/auroc") == whole_auroc);
  CHECK(m.acc.state_dict().at("samples").item<int64_t>() == 0);  // reset after the epoch
  std::filesystem::remove_all(dir);
}

namespace {

// The module of fixtures/previous_layout_main.cpp, which wrote fixtures/previous_layout.ckpt.
struct PreviousLayoutNet : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  PreviousLayoutNet() { fc = register_module("fc", torch::nn::Linear(3, 1)); }
  torch::Tensor training_step(const std::pair<torch::Tensor, torch::Tensor>& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("train/loss", loss, {.on_step = false, .on_epoch = true});
    return loss;
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
};

}  // namespace

TEST_CASE("a checkpoint of the previous layout (callback states under typeid names) still resumes", "[checkpoint][regression]") {
  PreviousLayoutNet m;
  kiln::Trainer<PreviousLayoutNet, kiln::Callbacks<kiln::EarlyStopping>, kiln::Loggers<>> t(
      {.max_epochs = 3, .enable_progress_bar = false},
      kiln::EarlyStopping({.monitor = "train/loss", .patience = 5, .check_on_train_epoch_end = true}));
  std::vector<std::pair<torch::Tensor, torch::Tensor>> data{{torch::randn({8, 3}), torch::randn({8, 1})}};
  t.fit(m, data, {.ckpt_path = KILN_PREVIOUS_LAYOUT_CHECKPOINT});  // all 3 epochs done: restores only
  // The values previous_layout_main printed when it wrote the file.
  CHECK(t.state().global_step == 12);
  CHECK(t.callback<kiln::EarlyStopping>().best_score() == 1.2772293984889984);
  CHECK(t.callback<kiln::EarlyStopping>().wait_count() == 0);
  auto w = m.fc->weight.contiguous();
  CHECK(w.data_ptr<float>()[0] == 0.974190354f);
  CHECK(w.data_ptr<float>()[1] == -1.28925431f);
  CHECK(w.data_ptr<float>()[2] == 0.0675041005f);
  CHECK(m.fc->bias.item<float>() == -0.261460334f);
}

TEST_CASE("callback states are stored under state_key() or the type's declared name", "[checkpoint]") {
  kiln::EarlyStopping es({.monitor = "x"});
  CHECK(kiln::detail::state_key_of(es) == "kiln::EarlyStopping");
  CHECK(kiln::ModelCheckpoint::state_key() == "ModelCheckpoint");
}
