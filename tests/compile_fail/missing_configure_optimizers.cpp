// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/missing_configure_optimizers.cpp — the module has no configure_optimizers().
// kiln-expect-error: kiln: the module has no configure_optimizers\(\)\. Add one that returns
#include "common.hpp"

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
#ifdef KILN_MISTAKE
  // no configure_optimizers
#else
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
#endif
};

int main() { fit_once<Net>(); }
