// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/progress_bar_pty_main.cpp — a short fit with the default bar on stderr, for a pty and a pipe.
#include <filesystem>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/trainer.hpp>

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(3, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("train/loss", loss, {.prog_bar = true});
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::mse_loss(fc(b.first), b.second), {.prog_bar = true});
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

std::vector<Batch> data(int batches) {
  std::vector<Batch> out;
  for (int i = 0; i < batches; ++i) {
    auto x = torch::randn({4, 3});
    out.emplace_back(x, x.sum(1, true));
  }
  return out;
}

}  // namespace

int main() {
  torch::manual_seed(0);
  const auto root = std::filesystem::temp_directory_path() / "kiln_progress_bar_pty";
  std::filesystem::remove_all(root);
  Net net;
  auto train = data(10), val = data(5);
  kiln::Trainer<Net> trainer({.max_epochs = 2, .default_root_dir = root, .logger = false});
  trainer.fit(net, train, val);
  std::filesystem::remove_all(root);
}
