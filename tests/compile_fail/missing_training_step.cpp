// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/missing_training_step.cpp — the module has no training_step.
// kiln-expect-error: kiln: the module has no training_step\. Add `torch::Tensor training_step\(const Batch& batch, kiln::StepContext& ctx\)`
#include "common.hpp"

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
#ifdef KILN_MISTAKE
  // no training_step
#else
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
#endif
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() { fit_once<Net>(); }
