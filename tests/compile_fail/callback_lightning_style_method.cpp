// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/callback_lightning_style_method.cpp — a callback written as in Lightning, with on_train_epoch_end(trainer), which kiln never calls.
// kiln-expect-error: kiln: a callback or logger has a Lightning-style on_<event> method, which kiln never calls
#include "net.hpp"

struct Cb {
  int calls = 0;
#ifdef KILN_MISTAKE
  void on_train_epoch_end(auto& trainer) { ++calls; }
#else
  void on(const kiln::event::train_epoch_end&, auto& trainer) { ++calls; }
#endif
};

int main() { fit_once<Net, kiln::Trainer<Net, kiln::Callbacks<Cb>>>(); }
