// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/config_lightning_argument_inline.cpp — Lightning's Trainer(precision="16-mixed") written as a TrainerConfig field.
// kiln-expect-error: kiln: precision is not a TrainerConfig field: a Trainer's precision is part of its type, as in kiln::Trainer<Net, kiln::Precision<kiln::FP16Mixed>>
#include "net.hpp"

int main() {
  Net model;
  std::vector<Batch> data;
#ifdef KILN_MISTAKE
  kiln::Trainer<Net> trainer({.max_epochs = 1, .precision = "16-mixed"});
#else
  kiln::Trainer<Net, kiln::Precision<kiln::FP16Mixed>> trainer({.max_epochs = 1});
#endif
  trainer.fit(model, data);
}
