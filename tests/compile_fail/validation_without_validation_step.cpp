// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/validation_without_validation_step.cpp — fit() gets validation data but the module has no validation_step.
// kiln-expect-error: kiln: validation data was given but the module has no validation_step\. Add `void validation_step\(const Batch& batch, kiln::StepContext& ctx\)`
#include "net.hpp"

struct Validated : Net {
#ifndef KILN_MISTAKE
  void validation_step(const Batch& b, kiln::StepContext& ctx) { ctx.log("val/loss", torch::mse_loss(fc(b.first), b.second)); }
#endif
};

int main() {
  Validated model;
  std::vector<Batch> train, val;
  kiln::Trainer<Validated> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, train, val);
}
