// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/instance_twice.cpp — two objects of the same callback type are passed to the Trainer constructor.
// kiln-expect-error: kiln: two objects of the same callback or logger type were passed to the Trainer constructor\.
#include "net.hpp"

struct Counter {
  int every = 1;
  void on(const kiln::event::train_batch_end&, auto&) {}
};

int main() {
  Net model;
  std::vector<Batch> data;
#ifdef KILN_MISTAKE
  kiln::Trainer<Net, kiln::Callbacks<Counter>> trainer({.max_epochs = 1}, Counter{.every = 2}, Counter{.every = 3});
#else
  kiln::Trainer<Net, kiln::Callbacks<Counter>> trainer({.max_epochs = 1}, Counter{.every = 2});
#endif
  trainer.fit(model, data);
}
