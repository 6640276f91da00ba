// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/hook_wrong_signature.cpp — a module hook has the right name but the wrong parameters.
// kiln-expect-error: kiln: the module's on_train_epoch_end has the wrong parameters, so kiln would never call it\. Declare it as `void on_train_epoch_end\(kiln::StepContext& ctx\)`
#include "common.hpp"

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
#ifdef KILN_MISTAKE
  void on_train_epoch_end(int epoch) {}
#else
  void on_train_epoch_end(kiln::StepContext& ctx) {}
#endif
};

int main() { fit_once<Net>(); }
