// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/harness_sanity_compiles.cpp — no mistake at all: the harness must report that it compiled.
// kiln-expect-error: kiln: the module has no training_step\.
#include "net.hpp"

int main() {
  Net model;
  std::vector<Batch> data;
#ifdef KILN_MISTAKE
  kiln::Trainer<Net> trainer({.max_epochs = 2, .enable_progress_bar = false});
#else
  kiln::Trainer<Net> trainer({.max_epochs = 1, .enable_progress_bar = false});
#endif
  trainer.fit(model, data);
}
