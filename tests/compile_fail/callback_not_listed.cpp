// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/callback_not_listed.cpp — trainer.callback<T>() asks for a callback type that is not in Callbacks<...>.
// kiln-expect-error: kiln: trainer\.callback<T>\(\) names a type that is not in Callbacks<\.\.\.>\. Add it to the list\.
#include "net.hpp"

struct Counter {
  int batches = 0;
  void on(const kiln::event::train_batch_end&, auto&) { ++batches; }
};

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net>;
#else
using Trainer = kiln::Trainer<Net, kiln::Callbacks<Counter>>;
#endif

int main() {
  Net model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, data);
  return trainer.callback<Counter>().batches;
}
