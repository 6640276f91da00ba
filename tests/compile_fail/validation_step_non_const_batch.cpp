// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/validation_step_non_const_batch.cpp — validation_step(Batch&) given const validation data.
// kiln-expect-error: kiln: the module's validation_step cannot be called with \(batch, kiln::StepContext&\) for this data
#include "net.hpp"

struct Validated : Net {
  int batches = 0;
#ifdef KILN_MISTAKE
  void validation_step(Batch&, kiln::StepContext&) { ++batches; }
#else
  void validation_step(const Batch&, kiln::StepContext&) { ++batches; }
#endif
};

int main() {
  Validated model;
  std::vector<Batch> train;
  const std::vector<Batch> val;
  kiln::Trainer<Validated> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, train, val);
}
