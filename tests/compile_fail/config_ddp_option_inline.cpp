// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/config_ddp_option_inline.cpp — a DDP option written as a TrainerConfig field in the Trainer's constructor call.
// kiln-expect-error: kiln: find_unused_parameters is an option of kiln::DDP, not of TrainerConfig\. Pass it after the config
#include <kiln/strategy/ddp.hpp>

#include "net.hpp"

int main() {
  Net model;
  std::vector<Batch> data;
#ifdef KILN_MISTAKE
  kiln::Trainer<Net, kiln::Strategy<kiln::DDP>> trainer({.max_epochs = 1, .find_unused_parameters = true});
#else
  kiln::Trainer<Net, kiln::Strategy<kiln::DDP>> trainer({.max_epochs = 1}, kiln::DDP{.find_unused_parameters = true});
#endif
  trainer.fit(model, data);
}
