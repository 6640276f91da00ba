// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/callback_in_loggers.cpp — a callback (EarlyStopping) listed in Loggers<...>.
// kiln-expect-error: kiln: a type listed in Loggers<\.\.\.> has no log_metrics\(const kiln::MetricMap&, std::int64_t step\), so it is not a logger
#include "net.hpp"

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Loggers<kiln::EarlyStopping>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Callbacks<kiln::EarlyStopping>, kiln::Loggers<>>;
#endif

int main() {
  Net model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false}, kiln::EarlyStopping({.monitor = "loss"}));
  trainer.fit(model, data);
}
