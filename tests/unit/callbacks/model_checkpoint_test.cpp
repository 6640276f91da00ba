// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/model_checkpoint_test.cpp — ModelCheckpoint: which files exist after fit, what they hold, its errors.
#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks/model_checkpoint.hpp>
#include <kiln/trainer.hpp>

namespace {

namespace fs = std::filesystem;
using Batch = std::pair<torch::Tensor, torch::Tensor>;
using Catch::Matchers::Contains;

// Trains a linear model; validation logs a scripted value per epoch, so the test decides which
// epochs are best.
struct Scripted : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  std::vector<double> script;
  explicit Scripted(std::vector<double> values) : script(std::move(values)) {
    torch::manual_seed(5);
    fc = register_module("fc", torch::nn::Linear(2, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("train/loss", loss);
    return loss;
  }
  void validation_step(const Batch&, kiln::StepContext& ctx) {
    ctx.log("val/score", script.at(static_cast<std::size_t>(ctx.epoch())));
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
};

// Listed before ModelCheckpoint: copies the weights each epoch's validation saw.
struct Snapshots {
  std::vector<torch::Tensor> weights;
  template <class T>
  void on(const kiln::event::validation_end&, T& t) {
    if (t.state().stage == kiln::Stage::fit) weights.push_back(t.module()->fc->weight.detach().clone());
  }
};

std::vector<Batch> data() {
  torch::manual_seed(0);
  std::vector<Batch> out;
  for (int i = 0; i < 3; ++i) {
    auto x = torch::randn({4, 2});
    out.emplace_back(x, x.sum(1, true));
  }
  return out;
}

kiln::TrainerConfig config(const fs::path& root, std::int64_t epochs) {
  fs::remove_all(root);
  return {.max_epochs = epochs, .num_sanity_val_steps = 0, .default_root_dir = root, .enable_progress_bar = false};
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  if (fs::exists(dir))
    for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

torch::Tensor weight_in(const std::string& path) {
  Scripted m({});
  kiln::load_weights(m, path);
  return m.fc->weight.detach();
}

using Trainer = kiln::Trainer<Scripted, kiln::Callbacks<Snapshots, kiln::ModelCheckpoint>, kiln::Loggers<>>;

}  // namespace

TEST_CASE("ModelCheckpoint keeps the top k files by the monitored value, each holding its epoch's weights",
          "[callbacks][model_checkpoint]") {
  const auto root = fs::temp_directory_path() / "kiln_ckpt_topk_test";
  Scripted m({0.9, 0.5, 0.7, 0.3, 0.6});  // best (min): epoch 3, then epoch 1
  auto train = data(), val = data();
  Trainer t(config(root, 5), kiln::ModelCheckpoint({.dirpath = root / "ckpt",
                                                    .filename = "e{epoch}-{val/score:.2f}",
                                                    .monitor = "val/score",
                                                    .save_top_k = 2,
                                                    .save_last = true}));
  t.fit(m, train, val);
  const auto& ckpt = t.callback<kiln::ModelCheckpoint>();
  // Lightning's "name=value" with '/' made safe; no temporary file left behind.
  REQUIRE(files_in(root / "ckpt") == std::vector<std::string>{"e1-val_score=0.50.pt", "e3-val_score=0.30.pt", "last.pt"});
  REQUIRE(ckpt.best_model_path() == (root / "ckpt" / "e3-val_score=0.30.pt").string());
  REQUIRE(ckpt.best_model_score() == Approx(0.3));
  REQUIRE(ckpt.last_model_path() == (root / "ckpt" / "last.pt").string());

  const auto& seen = t.callback<Snapshots>().weights;
  REQUIRE(seen.size() == 5);
  REQUIRE_FALSE(torch::equal(seen[1], seen[3]));  // the model did change between the two
  REQUIRE(torch::equal(weight_in(ckpt.best_model_path()), seen[3]));
  REQUIRE(torch::equal(weight_in((root / "ckpt" / "e1-val_score=0.50.pt").string()), seen[1]));
  REQUIRE(torch::equal(weight_in(ckpt.last_model_path()), seen[4]));
}

TEST_CASE("ModelCheckpoint with mode max, save_top_k -1 and 0, and no monitor", "[callbacks][model_checkpoint]") {
  const auto root = fs::temp_directory_path() / "kiln_ckpt_modes_test";
  auto train = data(), val = data();

  SECTION("mode max keeps the highest; the default folder is the logger's version folder") {
    Scripted m({0.2, 0.8, 0.4});
    kiln::Trainer<Scripted, kiln::Callbacks<kiln::ModelCheckpoint>> t(
        config(root, 3), kiln::ModelCheckpoint({.monitor = "val/score", .mode = "max"}));
    t.fit(m, train, val);
    const auto dir = root / "lightning_logs" / "version_0" / "checkpoints";
    REQUIRE(t.callback<kiln::ModelCheckpoint>().dirpath() == dir);
    REQUIRE(files_in(dir) == std::vector<std::string>{"epoch=1-step=6.pt"});  // 3 batches an epoch
    REQUIRE(t.callback<kiln::ModelCheckpoint>().best_model_score() == Approx(0.8));
  }
  SECTION("save_top_k -1 keeps every epoch") {
    Scripted m({0.2, 0.8, 0.4});
    Trainer t(config(root, 3), kiln::ModelCheckpoint({.dirpath = root, .monitor = "val/score", .save_top_k = -1}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"epoch=0-step=3.pt", "epoch=1-step=6.pt", "epoch=2-step=9.pt"});
    REQUIRE(t.callback<kiln::ModelCheckpoint>().best_model_path() == (root / "epoch=0-step=3.pt").string());
  }
  SECTION("save_top_k 0 writes only last.pt") {
    Scripted m({0.2, 0.8, 0.4});
    Trainer t(config(root, 3), kiln::ModelCheckpoint({.dirpath = root, .monitor = "val/score", .save_top_k = 0, .save_last = true}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"last.pt"});
    REQUIRE(t.callback<kiln::ModelCheckpoint>().best_model_path().empty());
  }
  SECTION("no monitor keeps the latest only") {
    Scripted m({0.2, 0.8, 0.4});
    Trainer t(config(root, 3), kiln::ModelCheckpoint({.dirpath = root}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"epoch=2-step=9.pt"});
    REQUIRE(torch::equal(weight_in(t.callback<kiln::ModelCheckpoint>().best_model_path()), t.callback<Snapshots>().weights.back()));
  }
}

TEST_CASE("ModelCheckpoint names what is wrong: an unlogged monitor, a bad mode or top-k", "[callbacks][model_checkpoint]") {
  const auto root = fs::temp_directory_path() / "kiln_ckpt_errors_test";
  auto train = data(), val = data();
  Scripted m({0.5, 0.5});
  Trainer t(config(root, 2), kiln::ModelCheckpoint({.dirpath = root, .monitor = "val/acc"}));
  REQUIRE_THROWS_WITH(t.fit(m, train, val), Contains("\"val/acc\", which was not logged") && Contains("val/score"));
  REQUIRE(files_in(root).empty());

  REQUIRE_THROWS_WITH(kiln::ModelCheckpoint({.mode = "best"}), Contains("mode must be \"min\" or \"max\""));
  REQUIRE_THROWS_WITH(kiln::ModelCheckpoint({.save_top_k = -2}), Contains("save_top_k must be >= -1 (got -2)"));
}
