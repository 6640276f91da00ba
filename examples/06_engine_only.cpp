// SPDX-License-Identifier: Apache-2.0
// examples/06_engine_only.cpp — teaches: kiln::Engine alone, Ignite style: a process function,
// handlers for its events, every()/once() filters, terminate().
#include <cstdio>
#include <cstring>
#include <vector>

#include <torch/torch.h>

#include <kiln/callbacks/filters.hpp>
#include <kiln/engine.hpp>

// Prints the running loss; wrapped in kiln::every(n, ...) below.
struct LossPrinter {
  template <class Engine>
  void on(const kiln::event::iteration_completed&, Engine& e) {
    std::printf("iteration %lld: loss %.4f\n", static_cast<long long>(e.state().iteration),
                e.state().output.template item<double>());
  }
};

// Stops the run once the loss is small enough (Ignite's engine.terminate()).
struct StopWhenGood {
  double threshold;
  template <class Engine>
  void on(const kiln::event::iteration_completed&, Engine& e) {
    if (e.state().output.template item<double>() < threshold) e.terminate();
  }
};

int main(int argc, char** argv) {
  const bool fast = argc > 1 && !std::strcmp(argv[1], "--fast-dev-run");
  torch::manual_seed(0);
  auto w = torch::randn({8, 1});
  std::vector<std::pair<torch::Tensor, torch::Tensor>> data;
  for (int i = 0; i < 50; ++i) {
    auto x = torch::randn({32, 8});
    data.emplace_back(x, x.matmul(w));
  }
  torch::nn::Linear model(8, 1);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.05));

  auto update = [&](auto& /*engine*/, const std::pair<torch::Tensor, torch::Tensor>& b) {
    opt.zero_grad();
    auto loss = torch::mse_loss(model(b.first), b.second);
    loss.backward();
    opt.step();
    return loss.detach();
  };
  kiln::Engine engine(update, kiln::every(25, LossPrinter{}), StopWhenGood{1e-4});
  engine.run(data, {.max_epochs = fast ? 1 : 20, .epoch_length = fast ? std::optional<std::int64_t>(2) : std::nullopt});
  std::printf("engine: %lld iterations, %lld epochs, final loss %.6f\n",
              static_cast<long long>(engine.state().iteration), static_cast<long long>(engine.state().epoch),
              engine.state().output.item<double>());
}
