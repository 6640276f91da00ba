// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/test_without_test_step.cpp — test() is called but the module has no test_step.
// kiln-expect-error: kiln: test\(\) was called but the module has no test_step\. Add `void test_step\(const Batch& batch, kiln::StepContext& ctx\)`
#include "net.hpp"

struct Tested : Net {
#ifndef KILN_MISTAKE
  void test_step(const Batch& b, kiln::StepContext& ctx) { ctx.log("test/loss", torch::mse_loss(fc(b.first), b.second)); }
#endif
};

int main() {
  Tested model;
  std::vector<Batch> data;
  kiln::Trainer<Tested> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.test(model, data);
}
