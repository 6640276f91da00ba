// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/predict_without_predict_step.cpp — predict() for a module without predict_step.
// kiln-expect-error: kiln: predict\(\) was called but the module has no predict_step\.
#include "net.hpp"

struct Predictor : Net {
#ifndef KILN_MISTAKE
  torch::Tensor predict_step(const Batch& b, kiln::StepContext&) { return fc(b.first); }
#endif
};

int main() {
  Predictor model;
  std::vector<Batch> data;
  kiln::Trainer<Predictor> trainer;
  auto out = trainer.predict(model, data);
}
