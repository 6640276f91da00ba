// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/callback_engine_event_only.cpp — a Trainer callback handles only an Engine event (Ignite's epoch_completed), which a Trainer never emits.
// kiln-expect-error: kiln: a callback or logger handles only Engine events \(started, epoch_completed, \.\.\.\), which a Trainer never emits
#include "net.hpp"

struct Cb {
  int calls = 0;
#ifdef KILN_MISTAKE
  void on(const kiln::event::epoch_completed&, auto& trainer) { ++calls; }
#else
  void on(const kiln::event::train_epoch_end&, auto& trainer) { ++calls; }
#endif
};

int main() { fit_once<Net, kiln::Trainer<Net, kiln::Callbacks<Cb>>>(); }
