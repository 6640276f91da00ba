// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/training_step_private.cpp — training_step is there but private (a `class` without `public:`).
// kiln-expect-error: kiln: the module's training_step cannot be called with \(batch, kiln::StepContext&\) for this data: it is private
#include "common.hpp"

class Net : public torch::nn::Module {
#ifndef KILN_MISTAKE
 public:
#endif
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }

 public:
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() { fit_once<Net>(); }
