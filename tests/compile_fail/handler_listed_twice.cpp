// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/handler_listed_twice.cpp — the same callback type is listed twice in Callbacks<...>.
// kiln-expect-error: kiln: the same callback or logger type is listed twice\.
#include "net.hpp"

struct Counter {
  void on(const kiln::event::train_batch_end&, auto&) {}
};
struct Other {
  void on(const kiln::event::train_batch_end&, auto&) {}
};

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Callbacks<Counter, Counter>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Callbacks<Counter, Other>>;
#endif

int main() { fit_once<Net, Trainer>(); }
