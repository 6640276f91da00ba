// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/strategy_options_not_listed.cpp — configured DDP options go to a Trainer whose strategy is SingleDevice.
// kiln-expect-error: kiln: a strategy's options \(such as kiln::DDP\{\.\.\.\}\) were passed to the Trainer constructor, but the Trainer's Strategy<\.\.\.> is another strategy
#include <kiln/strategy/ddp.hpp>

#include "net.hpp"

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net>;
#else
using Trainer = kiln::Trainer<Net, kiln::Strategy<kiln::DDP>>;
#endif

int main() {
  Net model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false}, kiln::DDP{.find_unused_parameters = true});
  trainer.fit(model, data);
}
