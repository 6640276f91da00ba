// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/misspelled_event.cpp — a callback handles a misspelled event (events are types, so it does not compile).
// kiln-expect-error: 'train_batch_ned' in namespace 'kiln::event' does not name a type
// The compiler's error (with its "did you mean") comes first; kiln then says the callback handles
// no event, which is true of what is left of it.
// kiln-max-lines: 18
#include "net.hpp"

struct Spy {
  int batches = 0;
#ifdef KILN_MISTAKE
  void on(const kiln::event::train_batch_ned&, auto&) { ++batches; }
#else
  void on(const kiln::event::train_batch_end&, auto&) { ++batches; }
#endif
};

int main() {
  Net model;
  std::vector<Batch> data;
  kiln::Trainer<Net, kiln::Callbacks<Spy>> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, data);
}
