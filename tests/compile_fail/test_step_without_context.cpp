// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/test_step_without_context.cpp — test_step(batch) without the StepContext parameter.
// kiln-expect-error: kiln: the module's test_step cannot be called with \(batch, kiln::StepContext&\) for this data
#include "net.hpp"

struct Tested : Net {
  int batches = 0;
#ifdef KILN_MISTAKE
  void test_step(const Batch&) { ++batches; }
#else
  void test_step(const Batch&, kiln::StepContext&) { ++batches; }
#endif
};

int main() {
  Tested model;
  std::vector<Batch> data;
  kiln::Trainer<Tested> trainer({.enable_progress_bar = false});
  trainer.test(model, data);
}
