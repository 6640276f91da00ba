// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/automatic_optimization_not_constant.cpp — automatic_optimization as a plain (non-static) member.
// kiln-expect-error: kiln: the module's automatic_optimization is not a compile-time constant, and it chooses the training loop at compile time
#include "common.hpp"

struct Net : torch::nn::Module {
#ifdef KILN_MISTAKE
  bool automatic_optimization = false;
#else
  static constexpr bool automatic_optimization = false;
#endif
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  void training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.manual_backward(loss);
    ctx.optimizer_step();
  }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() { fit_once<Net>(); }
