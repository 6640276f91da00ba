// SPDX-License-Identifier: Apache-2.0
// examples/01_minimal_fit.cpp — teaches: a module with training/validation steps, a Trainer, fit, test.
// Learns a noisy linear classification rule on synthetic data (examples/fashion_mnist_cnn.cpp
// trains on real images); prints `test/acc: <value>`. `--fast-dev-run` runs one batch of each loop.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Classifier : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Classifier() {
    fc1 = register_module("fc1", torch::nn::Linear(20, 64));
    fc2 = register_module("fc2", torch::nn::Linear(64, 4));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }

  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::cross_entropy_loss(forward(b.first), b.second);
    ctx.log("train/loss", loss, {.prog_bar = true});
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    auto logits = forward(b.first);
    ctx.log("val/loss", torch::cross_entropy_loss(logits, b.second), {.prog_bar = true});
    ctx.log("val/acc", (logits.argmax(1) == b.second).to(torch::kFloat).mean(), {.prog_bar = true});
  }
  void test_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("test/acc", (forward(b.first).argmax(1) == b.second).to(torch::kFloat).mean());
  }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-2));
    auto sched = std::make_unique<kiln::CosineAnnealingLR>(*opt, 10);
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::epoch};
  }
};

// Labels come from a fixed random linear rule, so a model can learn them.
std::vector<Batch> make_data(int batches, int batch_size, torch::Tensor rule) {
  std::vector<Batch> out;
  for (int i = 0; i < batches; ++i) {
    auto x = torch::randn({batch_size, 20});
    out.emplace_back(x, x.matmul(rule).argmax(1));
  }
  return out;
}

int main(int argc, char** argv) {
  kiln::TrainerConfig config{.max_epochs = 10, .seed = 42, .default_root_dir = "runs/01_minimal_fit"};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--fast-dev-run")) config.fast_dev_run = 1;
    else if (!std::strcmp(argv[i], "--max-epochs") && i + 1 < argc) config.max_epochs = std::stoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--root-dir") && i + 1 < argc) config.default_root_dir = argv[++i];
    else { std::fprintf(stderr, "usage: %s [--fast-dev-run] [--max-epochs N] [--root-dir DIR]\n", argv[0]); return 2; }
  }
  torch::manual_seed(0);
  auto rule = torch::randn({20, 4});
  auto train = make_data(100, 32, rule), val = make_data(20, 64, rule), test = make_data(20, 64, rule);

  Classifier model;
  kiln::Trainer<Classifier> trainer(config);
  trainer.fit(model, train, val);
  auto results = trainer.test(model, test);
  std::printf("test/acc: %.4f\n", results.at("test/acc"));
  std::printf("logs: %s\n", trainer.logger<kiln::CsvLogger>().log_dir().string().c_str());
}
