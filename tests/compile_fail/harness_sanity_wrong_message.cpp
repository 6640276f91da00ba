// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/harness_sanity_wrong_message.cpp — fails, but not with the expected text: the harness must notice.
// kiln-expect-error: kiln: the module has no configure_optimizers\(\)\.
#include "common.hpp"

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
#ifdef KILN_MISTAKE
  // no training_step: fails with KILN_ERR_NO_TRAINING_STEP, not the expected sentence
#else
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
#endif
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() { fit_once<Net>(); }
