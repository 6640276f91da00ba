// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/training_step_wrong_return.cpp — training_step returns the loss as a double.
// kiln-expect-error: kiln: training_step must return the loss as a torch::Tensor\. Return the loss tensor
#include "common.hpp"

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
#ifdef KILN_MISTAKE
  double training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second).item<double>(); }
#else
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
#endif
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() { fit_once<Net>(); }
