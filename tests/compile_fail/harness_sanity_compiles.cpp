// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/harness_sanity_compiles.cpp — no mistake at all: the harness must report that it compiled.
// kiln-expect-error: kiln: the module has no training_step\.
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

int main() {
  Net model;
  std::vector<Batch> data;
#ifdef KILN_MISTAKE
  kiln::Trainer<Net> trainer({.max_epochs = 2, .enable_progress_bar = false});
#else
  kiln::Trainer<Net> trainer({.max_epochs = 1, .enable_progress_bar = false});
#endif
  trainer.fit(model, data);
}
