// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/callback_not_listed.cpp — trainer.callback<T>() asks for a callback type that is not in Callbacks<...>.
// kiln-expect-error: kiln: trainer\.callback<T>\(\) names a type that is not in Callbacks<\.\.\.>\. Add it to the list\.
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

struct Counter {
  int batches = 0;
  void on(const kiln::event::train_batch_end&, auto&) { ++batches; }
};

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net>;
#else
using Trainer = kiln::Trainer<Net, kiln::Callbacks<Counter>>;
#endif

int main() {
  Net model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, data);
  return trainer.callback<Counter>().batches;
}
