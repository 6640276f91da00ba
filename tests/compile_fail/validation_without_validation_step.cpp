// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/validation_without_validation_step.cpp — fit() gets validation data but the module has no validation_step.
// kiln-expect-error: kiln: validation data was given but the module has no validation_step\. Add `void validation_step\(const Batch& batch, kiln::StepContext& ctx\)`
#include "common.hpp"

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
#ifdef KILN_MISTAKE
  // no validation_step
#else
  void validation_step(const Batch& b, kiln::StepContext& ctx) { ctx.log("val/loss", torch::mse_loss(fc(b.first), b.second)); }
#endif
};

int main() {
  Net model;
  std::vector<Batch> train, val;
  kiln::Trainer<Net> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, train, val);
}
