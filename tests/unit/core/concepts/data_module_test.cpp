// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/concepts/data_module_test.cpp — DataModule: fit, validate and test take one and call its hooks in Lightning's order.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../../data/data_fixture.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

using data_fixture::fresh_dir;

// A DataModule that records the calls the Trainer makes.
struct Recorder {
  std::vector<std::string> calls;
  std::vector<Batch> batches;
  Recorder() {
    for (int i = 0; i < 4; ++i) batches.emplace_back(torch::full({2, 1}, double(i)), torch::full({2, 1}, double(i)));
  }
  void prepare_data() { calls.push_back("prepare_data"); }
  void setup(kiln::Stage s) { calls.push_back("setup:" + std::string(kiln::to_string(s))); }
  void teardown(kiln::Stage s) { calls.push_back("teardown:" + std::string(kiln::to_string(s))); }
  std::vector<Batch> train_dataloader() { calls.push_back("train_dataloader"); return batches; }
  std::vector<Batch> val_dataloader() { calls.push_back("val_dataloader"); return {batches[0]}; }
  std::vector<Batch> test_dataloader() { calls.push_back("test_dataloader"); return batches; }
};
struct TrainOnly {
  std::vector<Batch> train_dataloader() { return {Batch{torch::ones({2, 1}), torch::ones({2, 1})}}; }
};

struct Reg : torch::nn::Module {
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(1, 1))};
  std::int64_t val = 0, test = 0;
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  void validation_step(const Batch&, kiln::StepContext&) { ++val; }
  void test_step(const Batch& b, kiln::StepContext& ctx) { ++test; ctx.log("test/loss", torch::mse_loss(fc(b.first), b.second)); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() { return std::make_unique<torch::optim::SGD>(parameters(), 0.01); }
  kiln::HParams hparams() const { return {{"lr", 0.01}, {"layers", std::int64_t{1}}, {"name", std::string("a b")}, {"bias", true}}; }
};
struct NoVal : torch::nn::Module {
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(1, 1))};
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() { return std::make_unique<torch::optim::SGD>(parameters(), 0.01); }
};

}  // namespace

TEST_CASE("fit/validate/test take a DataModule and call its hooks in Lightning's order", "[data][datamodule]") {
  static_assert(kiln::DataModule<Recorder> && kiln::DataModule<TrainOnly>);
  static_assert(!kiln::DataModule<std::vector<Batch>> && !kiln::DataSource<Recorder>);
  const auto root = fresh_dir("datamodule");
  Recorder dm;
  Reg m;
  kiln::Trainer<Reg> t({.max_epochs = 2, .num_sanity_val_steps = 0, .default_root_dir = root, .enable_progress_bar = false});
  t.fit(m, dm);
  REQUIRE(dm.calls == std::vector<std::string>{"prepare_data", "setup:fit", "train_dataloader", "val_dataloader", "teardown:fit"});
  REQUIRE(m.val == 2);  // one validation batch per epoch
  dm.calls.clear();
  auto r = t.test(m, dm);
  REQUIRE(dm.calls == std::vector<std::string>{"prepare_data", "setup:test", "test_dataloader", "teardown:test"});
  REQUIRE(m.test == 4);
  REQUIRE(r.count("test/loss") == 1);
  dm.calls.clear();
  t.validate(m, dm);
  REQUIRE(dm.calls == std::vector<std::string>{"prepare_data", "setup:validate", "val_dataloader", "teardown:validate"});

  // The module's hparams() reach hparams.yaml beside metrics.csv.
  std::ifstream in(t.logger<kiln::CsvLogger>().log_dir() / "hparams.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  REQUIRE(yaml == "bias: true\nlayers: 1\nlr: 0.01\nname: \"a b\"\n");
  REQUIRE(t.logger<kiln::CsvLogger>().log_dir() == root / "lightning_logs" / "version_0");

  // A DataModule with val_dataloader() and a module without validation_step: fit trains only.
  NoVal nv;
  Recorder dm2;
  kiln::Trainer<NoVal, kiln::Loggers<>> t2({.max_epochs = 1, .enable_progress_bar = false});
  t2.fit(nv, dm2);
  REQUIRE(t2.state().global_step == 4);
  REQUIRE(std::find(dm2.calls.begin(), dm2.calls.end(), "val_dataloader") == dm2.calls.end());

  TrainOnly only;
  kiln::Trainer<Reg, kiln::Loggers<>> t3({.max_epochs = 1, .enable_progress_bar = false});
  t3.fit(m, only);
  REQUIRE(t3.state().global_step == 1);
}
