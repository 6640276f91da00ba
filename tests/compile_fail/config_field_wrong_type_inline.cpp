// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/config_field_wrong_type_inline.cpp — a TrainerConfig field written inline in the Trainer's constructor call with a value of the wrong type.
// kiln-expect-error: kiln: TrainerConfig\.max_epochs is a std::int64_t, and the value given does not convert to it \(without narrowing\)
#include "net.hpp"

int main() {
  Net model;
  std::vector<Batch> data;
#ifdef KILN_MISTAKE
  kiln::Trainer<Net> trainer({.max_epochs = "3", .enable_progress_bar = false});
#else
  kiln::Trainer<Net> trainer({.max_epochs = 3, .enable_progress_bar = false});
#endif
  trainer.fit(model, data);
}
