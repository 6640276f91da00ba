// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/callback_handles_nothing.cpp — a type in Callbacks<...> that handles no event (here int).
// kiln-expect-error: kiln: a type listed in Callbacks<\.\.\.> handles no event, so kiln would never call it
#include "net.hpp"

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Callbacks<int, kiln::EarlyStopping>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Callbacks<kiln::EarlyStopping>>;
#endif

int main() {
  Net model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false}, kiln::EarlyStopping({.monitor = "loss"}));
  trainer.fit(model, data);
}
