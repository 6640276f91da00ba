// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/instance_not_listed.cpp — a callback object is passed to the Trainer but its type is not in Callbacks<...>.
// kiln-expect-error: kiln: an object passed to the Trainer constructor is neither a TrainerConfig, the tag of its Precision<\.\.\.>, nor a type listed in Callbacks<\.\.\.> or Loggers<\.\.\.>\.
#include "net.hpp"

struct Counter {
  int every = 1;
  void on(const kiln::event::train_batch_end&, auto&) {}
};

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net>;
#else
using Trainer = kiln::Trainer<Net, kiln::Callbacks<Counter>>;
#endif

int main() {
  Net model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false}, Counter{.every = 2});
  trainer.fit(model, data);
}
