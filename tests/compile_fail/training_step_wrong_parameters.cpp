// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/training_step_wrong_parameters.cpp — training_step exists but takes (int), not (batch, ctx).
// kiln-expect-error: kiln: the module's training_step cannot be called with \(batch, kiln::StepContext&\) for this data: it is private, or its parameters differ
#include "common.hpp"

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
#ifdef KILN_MISTAKE
  torch::Tensor training_step(int batch_idx) { return torch::zeros({}); }
#else
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
#endif
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() { fit_once<Net>(); }
