// SPDX-License-Identifier: Apache-2.0
// tests/unit/regressions/issue_2_test.cpp — regressions found reviewing the core (issue 2).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;
using Catch::Matchers::Contains;

std::vector<Batch> batches(int n, int size = 4) {
  torch::manual_seed(3);
  std::vector<Batch> out;
  for (int i = 0; i < n; ++i) {
    auto x = torch::randn({size, 3});
    out.emplace_back(x, x.sum(1, true));
  }
  return out;
}

struct Reg : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Reg() {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  template <class B>
  torch::Tensor training_step(const B& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(input(b)), target(b));
    ctx.log("train_loss", loss, {.on_step = true, .on_epoch = true, .prog_bar = true});
    return loss;
  }
  template <class B>
  void validation_step(const B& b, kiln::StepContext& ctx) {
    ctx.log("val_loss", torch::mse_loss(fc(input(b)), target(b)));
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
  static torch::Tensor input(const Batch& b) { return b.first; }
  static torch::Tensor target(const Batch& b) { return b.second; }
  static torch::Tensor input(const torch::data::Example<>& b) { return b.data; }
  static torch::Tensor target(const torch::data::Example<>& b) { return b.target; }
};

// Unsized data: an input range without size().
struct Unsized {
  std::vector<Batch>* data;
  auto begin() const { return data->begin(); }
  auto end() const { return data->end(); }
};

kiln::TrainerConfig quiet(kiln::TrainerConfig c) {
  c.enable_progress_bar = false;
  return c;
}

struct EpochEndReader {
  std::vector<double> seen;
  template <class T>
  void on(const kiln::event::train_epoch_end&, T& t) { seen.push_back(t.callback_metrics().at("train_loss_epoch")); }
};

struct StageProbe {
  std::vector<kiln::Stage> at_validation_end;
  template <class T>
  void on(const kiln::event::validation_end&, T& t) { at_validation_end.push_back(t.state().stage); }
};

struct CsvProbe {
  std::filesystem::path file;
  std::size_t lines_seen = 0;
  template <class T>
  void on(const kiln::event::train_batch_end& e, T&) {
    if (e.batch_idx != 140) return;  // mid-epoch: what a SIGKILL now would leave on disk
    std::ifstream in(file);
    for (std::string l; std::getline(in, l);) ++lines_seen;
  }
};

struct ManualSched : torch::nn::Module {
  static constexpr bool automatic_optimization = false;
  torch::Tensor w = register_parameter("w", torch::ones({1}));
  void training_step(const Batch&, kiln::StepContext& ctx) {
    ctx.manual_backward(w.sum());
    ctx.optimizer_step();
  }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::SGD>(std::vector{w}, torch::optim::SGDOptions(1.0));
    auto sched = std::make_unique<kiln::StepLR>(*opt, 1, 0.5);
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched)};
  }
};

}  // namespace

TEST_CASE("a torch::data loader with workers survives limits and the sanity check", "[regressions][issue_2]") {
  auto make = [] {
    auto ds = torch::data::datasets::TensorDataset(torch::randn({40, 3})).map(torch::data::transforms::Stack<torch::data::TensorExample>());
    return torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
        std::move(ds), torch::data::DataLoaderOptions().batch_size(4).workers(2));
  };
  struct OnTensors : torch::nn::Module {
    torch::nn::Linear fc{register_module("fc", torch::nn::Linear(3, 1))};
    torch::Tensor training_step(const torch::data::TensorExample& b, kiln::StepContext&) { return fc(b.data).pow(2).mean(); }
    void validation_step(const torch::data::TensorExample& b, kiln::StepContext& ctx) { ctx.log("v", fc(b.data).mean()); }
    std::unique_ptr<torch::optim::SGD> configure_optimizers() {
      return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.01));
    }
  };
  auto train = make(), val = make();
  OnTensors m;
  kiln::Trainer<OnTensors, kiln::Loggers<>> t(quiet({.max_epochs = 3, .limit_train_batches = 3, .num_sanity_val_steps = 2}));
  REQUIRE_NOTHROW(t.fit(m, train, val));
  REQUIRE(t.state().global_step == 9);
}

TEST_CASE("epoch values are in callback_metrics when train_epoch_end runs; the plain name too", "[regressions][issue_2]") {
  auto data = batches(4);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>, kiln::Callbacks<EpochEndReader>> t(quiet({.max_epochs = 2}));
  t.fit(m, data);
  const auto& seen = t.callback<EpochEndReader>().seen;
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[1] == t.callback_metrics().at("train_loss_epoch"));
  REQUIRE(seen[0] != seen[1]);  // epoch 0's own value, not a stale one
  REQUIRE(t.callback_metrics().at("train_loss") == seen[1]);
  REQUIRE(t.progress_bar_metrics().count("train_loss_step") == 1);
  REQUIRE(t.progress_bar_metrics().count("train_loss") == 0);  // not shown three times
}

TEST_CASE("ReduceLROnPlateau on a step-logged value works before log_every_n_steps", "[regressions][issue_2]") {
  struct StepPlateau : Reg {
    kiln::OptimizerConfig configure_optimizers() {
      auto opt = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
      auto sched = std::make_unique<kiln::ReduceLROnPlateau>(*opt, kiln::ReduceLROnPlateau::Options{.patience = 1000});
      return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::step,
              .monitor = "train_loss"};
    }
  };
  auto data = batches(5);
  StepPlateau m;
  kiln::Trainer<StepPlateau, kiln::Loggers<>> t(quiet({.max_epochs = 1}));
  REQUIRE_NOTHROW(t.fit(m, data));
}

TEST_CASE("unsized data with accumulation stops at max_steps in the same epoch", "[regressions][issue_2]") {
  auto data = batches(5);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(quiet({.max_epochs = 10, .max_steps = 3, .accumulate_grad_batches = 2}));
  t.fit(m, Unsized{&data});
  REQUIRE(t.state().global_step == 3);
  REQUIRE(t.state().epoch == 1);
}

TEST_CASE("limit_train_batches=0 skips training; a fraction under one batch is an error", "[regressions][issue_2]") {
  auto data = batches(10), val = batches(2);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(quiet({.max_epochs = 5, .limit_train_batches = 0, .num_sanity_val_steps = 0}));
  t.fit(m, data, val);
  REQUIRE(t.state().global_step == 0);
  REQUIRE(t.state().epoch == 0);
  kiln::Trainer<Reg, kiln::Loggers<>> small(quiet({.max_epochs = 1, .limit_train_batches = 0.05}));
  REQUIRE_THROWS_WITH(small.fit(m, data), Contains("limit_train_batches=0.05 of 10 batches"));
}

TEST_CASE("empty data stops instead of running empty epochs", "[regressions][issue_2]") {
  std::vector<Batch> none;
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(quiet({.max_epochs = -1, .max_steps = 5}));
  t.fit(m, Unsized{&none});
  REQUIRE(t.state().epoch == 1);
  REQUIRE_THAT(t.state().stop_reason, Contains("no batches"));
}

TEST_CASE("an integer val_check_interval longer than an epoch is an error", "[regressions][issue_2]") {
  auto data = batches(10), val = batches(2);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(quiet({.max_epochs = 1, .val_check_interval = 20}));
  REQUIRE_THROWS_WITH(t.fit(m, data, val), Contains("val_check_interval=20") && Contains("10 training batches"));
}

TEST_CASE("manual optimization leaves epoch schedulers to the user", "[regressions][issue_2]") {
  ManualSched m;
  auto data = batches(2);
  kiln::Trainer<ManualSched, kiln::Loggers<>> t(quiet({.max_epochs = 3}));
  t.fit(m, data);
  REQUIRE(t.optimizers()[0].optimizer->param_groups()[0].options().get_lr() == 1.0);
}

TEST_CASE("the loss kept in state().output carries no autograd graph", "[regressions][issue_2]") {
  auto data = batches(2);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(quiet({.max_epochs = 1}));
  t.fit(m, data);
  REQUIRE(t.state().output.defined());
  REQUIRE_FALSE(t.state().output.requires_grad());
}

TEST_CASE("callbacks see Stage::sanity_check during the sanity check", "[regressions][issue_2]") {
  auto data = batches(2), val = batches(2);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>, kiln::Callbacks<StageProbe>> t(quiet({.max_epochs = 1, .num_sanity_val_steps = 1}));
  t.fit(m, data, val);
  const auto& stages = t.callback<StageProbe>().at_validation_end;
  REQUIRE(stages.size() == 2);
  REQUIRE(stages[0] == kiln::Stage::sanity_check);
  REQUIRE(stages[1] == kiln::Stage::fit);
}

TEST_CASE("running a finished Engine again starts a new run, as in Ignite", "[regressions][issue_2]") {
  std::vector<int> data(5, 1);
  int processed = 0;
  kiln::Engine engine([&](auto&, int&) { ++processed; });
  engine.run(data, {.max_epochs = 2});
  engine.run(data, {.max_epochs = 2});
  REQUIRE(processed == 20);
  REQUIRE(engine.state().epoch == 2);
}

TEST_CASE("CsvLogger writes at every log interval, not only at epoch end", "[regressions][issue_2]") {
  const auto root = std::filesystem::temp_directory_path() / "kiln_flush_test";
  std::filesystem::remove_all(root);
  auto data = batches(150, 2);
  Reg m;
  kiln::Trainer<Reg, kiln::Callbacks<CsvProbe>> t(
      {.max_epochs = 1, .log_every_n_steps = 1, .default_root_dir = root, .enable_progress_bar = false},
      CsvProbe{root / "lightning_logs" / "version_0" / "metrics.csv"});
  t.fit(m, data);
  // At batch 140's end its row is not yet published: the header and the rows of batches 0-139.
  REQUIRE(t.callback<CsvProbe>().lines_seen == 141);
}
