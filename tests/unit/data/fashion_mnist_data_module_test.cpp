// SPDX-License-Identifier: Apache-2.0
// tests/unit/data/fashion_mnist_data_module_test.cpp — FashionMNISTDataModule: a linear probe trained on its loaders beats chance.
#include <memory>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

namespace {

struct Probe : torch::nn::Module {
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(784, 10))};
  torch::Tensor training_step(const torch::data::Example<>& b, kiln::StepContext&) {
    return torch::cross_entropy_loss(fc(b.data.flatten(1)), b.target);
  }
  void validation_step(const torch::data::Example<>& b, kiln::StepContext& ctx) {
    ctx.log("val/acc", (fc(b.data.flatten(1)).argmax(1) == b.target).to(torch::kFloat).mean());
  }
  void test_step(const torch::data::Example<>& b, kiln::StepContext& ctx) {
    ctx.log("test/acc", (fc(b.data.flatten(1)).argmax(1) == b.target).to(torch::kFloat).mean());
  }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() { return std::make_unique<torch::optim::Adam>(parameters(), 1e-3); }
};

}  // namespace

TEST_CASE("FashionMNISTDataModule trains a linear probe above chance", "[data][fashion_mnist][datamodule]") {
  kiln::data::FashionMNISTDataModule dm({.batch_size = 64, .seed = 1});
  Probe m;
  kiln::Trainer<Probe, kiln::Loggers<>> t({.max_epochs = 1, .limit_train_batches = 200, .limit_val_batches = 4,
                                           .num_sanity_val_steps = 0, .enable_progress_bar = false});
  t.fit(m, dm);
  REQUIRE(t.state().global_step == 200);
  REQUIRE(t.callback_metrics().at("val/acc") > 0.6);  // 10 classes: chance is 0.1
  auto r = t.test(m, dm);
  REQUIRE(r.at("test/acc") > 0.6);
}
