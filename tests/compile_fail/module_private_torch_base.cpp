// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/module_private_torch_base.cpp — `class Net : torch::nn::Module` inherits privately.
// kiln-expect-error: kiln: the module derives from torch::nn::Module privately \(a `class` does unless told\)
#include "common.hpp"

#ifdef KILN_MISTAKE
class Net : torch::nn::Module {
#else
class Net : public torch::nn::Module {
#endif
 public:
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() { fit_once<Net>(); }
