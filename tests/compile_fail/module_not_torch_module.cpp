// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/module_not_torch_module.cpp — the module is a plain struct, not a torch::nn::Module.
// kiln-expect-error: kiln: the module must derive from torch::nn::Module\. Declare it as `struct Net : torch::nn::Module { \.\.\. }`
#include "common.hpp"

#ifdef KILN_MISTAKE
struct Net {
#else
struct Net : torch::nn::Module {
#endif
  torch::Tensor w = torch::zeros({4, 1}, torch::requires_grad());
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(b.first.matmul(w), b.second); }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(std::vector<torch::Tensor>{w}, torch::optim::SGDOptions(0.1));
  }
};

int main() { fit_once<Net>(); }
