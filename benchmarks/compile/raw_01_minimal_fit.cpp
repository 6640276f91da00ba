// SPDX-License-Identifier: Apache-2.0
// benchmarks/compile/raw_01_minimal_fit.cpp — examples/01_minimal_fit.cpp's work hand-written in LibTorch (a compile-time baseline).
// Same model, data, Adam, 10 epochs with validation, then test; no kiln. measure.sh compiles it
// to show what any LibTorch program of this size costs over an empty <torch/torch.h> TU.
#include <cstdio>
#include <vector>

#include <torch/torch.h>

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Classifier : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Classifier() {
    fc1 = register_module("fc1", torch::nn::Linear(20, 64));
    fc2 = register_module("fc2", torch::nn::Linear(64, 4));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }
};
std::vector<Batch> make_data(int batches, int batch_size, torch::Tensor rule) {
  std::vector<Batch> out;
  for (int i = 0; i < batches; ++i) {
    auto x = torch::randn({batch_size, 20});
    out.emplace_back(x, x.matmul(rule).argmax(1));
  }
  return out;
}
int main() {
  torch::manual_seed(0);
  auto rule = torch::randn({20, 4});
  auto train = make_data(100, 32, rule), val = make_data(20, 64, rule), test = make_data(20, 64, rule);
  Classifier model;
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(1e-2));
  for (int epoch = 0; epoch < 10; ++epoch) {
    model.train();
    double sum = 0;
    for (auto& [x, y] : train) {
      auto loss = torch::cross_entropy_loss(model.forward(x), y);
      loss.backward();
      opt.step();
      opt.zero_grad();
      sum += loss.item<double>();
    }
    model.eval();
    torch::NoGradGuard ng;
    double acc = 0;
    for (auto& [x, y] : val)
      acc += (model.forward(x).argmax(1) == y).to(torch::kFloat).mean().item<double>();
    std::fprintf(stderr, "epoch %d loss %.4f val/acc %.4f\n", epoch, sum / double(train.size()),
                 acc / double(val.size()));
  }
  torch::NoGradGuard ng;
  double acc = 0;
  for (auto& [x, y] : test)
    acc += (model.forward(x).argmax(1) == y).to(torch::kFloat).mean().item<double>();
  std::printf("test/acc: %.4f\n", acc / double(test.size()));
}
