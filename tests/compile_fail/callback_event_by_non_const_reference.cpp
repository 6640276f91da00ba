// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/callback_event_by_non_const_reference.cpp — a callback takes its event by non-const reference, so it would never be called.
// kiln-expect-error: kiln: a callback's or logger's on\(\.\.\.\) takes an event by non-const reference, so kiln, which passes events as const, would never call it
#include "net.hpp"

struct Cb {
  int calls = 0;
#ifdef KILN_MISTAKE
  void on(kiln::event::train_epoch_end&, auto& trainer) { ++calls; }
#else
  void on(const kiln::event::train_epoch_end&, auto& trainer) { ++calls; }
#endif
};

int main() { fit_once<Net, kiln::Trainer<Net, kiln::Callbacks<Cb>>>(); }
