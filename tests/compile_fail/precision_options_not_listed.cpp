// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/precision_options_not_listed.cpp — configured FP16Mixed options go to a Trainer whose precision is FP32.
// kiln-expect-error: kiln: a precision's options \(such as kiln::FP16Mixed\{\.\.\.\}\) were passed to the Trainer constructor, but the Trainer's Precision<\.\.\.> is another precision
#include <kiln/precision/fp16_mixed.hpp>

#include "net.hpp"

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net>;
#else
using Trainer = kiln::Trainer<Net, kiln::Precision<kiln::FP16Mixed>>;
#endif

int main() {
  Net model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false}, kiln::FP16Mixed{.scaler = {.init_scale = 1024}});
  trainer.fit(model, data);
}
