// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/misspelled_event.cpp — a callback handles a misspelled event (events are types, so it does not compile).
// kiln-expect-error: 'train_batch_ned' in namespace 'kiln::event' does not name a type
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

struct Spy {
  int batches = 0;
#ifdef KILN_MISTAKE
  void on(const kiln::event::train_batch_ned&, auto&) { ++batches; }
#else
  void on(const kiln::event::train_batch_end&, auto&) { ++batches; }
#endif
};

int main() {
  Net model;
  std::vector<Batch> data;
  kiln::Trainer<Net, kiln::Callbacks<Spy>> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, data);
}
