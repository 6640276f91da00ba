// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/handler_not_default_constructible.cpp — a listed callback that needs arguments is not passed to the constructor.
// kiln-expect-error: kiln: a listed callback or logger has no default constructor and was not passed to the Trainer constructor\.
#include "net.hpp"

struct Printer {
  void on(const kiln::event::train_batch_end&, auto&) {}
};

int main() {
  Net model;
  std::vector<Batch> data;
  kiln::Trainer<Net, kiln::Callbacks<kiln::Every<Printer>>> trainer(
#ifdef KILN_MISTAKE
      {.max_epochs = 1});
#else
      {.max_epochs = 1}, kiln::every(10, Printer{}));
#endif
  trainer.fit(model, data);
}
