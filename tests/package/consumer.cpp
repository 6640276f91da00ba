// SPDX-License-Identifier: Apache-2.0
// tests/package/consumer.cpp — a program built against an installed kiln via find_package(kiln).
#include <cstdio>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

struct Regressor : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Regressor() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  torch::Tensor training_step(const std::pair<torch::Tensor, torch::Tensor>& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("loss", loss, {.on_epoch = true});
    return loss;
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
};

int main() {
  torch::manual_seed(0);
  auto w = torch::randn({4, 1});
  std::vector<std::pair<torch::Tensor, torch::Tensor>> data;
  for (int i = 0; i < 20; ++i) {
    auto x = torch::randn({16, 4});
    data.emplace_back(x, x.matmul(w));
  }
  Regressor model;
  kiln::Trainer<Regressor, kiln::Loggers<>> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, data);
  const double first = trainer.callback_metrics().at("loss_epoch");
  kiln::Trainer<Regressor, kiln::Loggers<>> more({.max_epochs = 5, .enable_progress_bar = false});
  more.fit(model, data);
  const double later = more.callback_metrics().at("loss_epoch");
  std::printf("consumer: first epoch loss %.4f, after 5 more %.4f\n", first, later);
  if (later < first) std::printf("consumer: loss decreased\n");
  return later < first ? 0 : 1;
}
