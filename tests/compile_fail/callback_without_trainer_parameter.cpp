// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/callback_without_trainer_parameter.cpp — a callback's on(event) lacks the trainer parameter, so it would never be called.
// kiln-expect-error: kiln: a callback's or logger's on\(event\) has no trainer parameter, so kiln would never call it
#include "net.hpp"

struct Cb {
  int calls = 0;
#ifdef KILN_MISTAKE
  void on(const kiln::event::train_epoch_end&) { ++calls; }
#else
  void on(const kiln::event::train_epoch_end&, auto&) { ++calls; }
#endif
};

int main() { fit_once<Net, kiln::Trainer<Net, kiln::Callbacks<Cb>>>(); }
