// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/predict_step_returns_void.cpp — predict_step returns void, so predict() has nothing to return.
// kiln-expect-error: kiln: the module's predict_step returns void, but predict\(\) returns what predict_step returned for each batch
#include "net.hpp"

struct Predicting : Net {
#ifdef KILN_MISTAKE
  void predict_step(const Batch& b, kiln::StepContext&) { (void)fc(b.first); }
#else
  torch::Tensor predict_step(const Batch& b, kiln::StepContext&) { return fc(b.first); }
#endif
};

int main() {
  Predicting model;
  std::vector<Batch> data;
  kiln::Trainer<Predicting> trainer({.enable_progress_bar = false});
  auto out = trainer.predict(model, data);
  (void)out;
}
