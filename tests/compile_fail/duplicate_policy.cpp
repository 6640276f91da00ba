// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/duplicate_policy.cpp — the same policy slot (Precision<FP32>) is given twice.
// kiln-expect-error: kiln: Precision<\.\.\.> is given twice\. Give each policy slot at most once\.
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

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Precision<kiln::FP32>, kiln::Precision<kiln::FP32>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Precision<kiln::FP32>>;
#endif

int main() {
  Net model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, data);
}
