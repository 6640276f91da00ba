// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/datamodule_private_val_loader.cpp — a DataModule's val_dataloader() is private: fit would skip validation unseen.
// kiln-expect-error: kiln: the DataModule's val_dataloader\(\) cannot be called as dm\.val_dataloader\(\) or does not return batches
#include "net.hpp"

struct Validated : Net {
  void validation_step(const Batch&, kiln::StepContext&) {}
};

class Data {
 public:
  std::vector<Batch> train_dataloader() { return {}; }
#ifdef KILN_MISTAKE
 private:
#endif
  std::vector<Batch> val_dataloader() { return {}; }
};

int main() {
  Validated model;
  Data dm;
  kiln::Trainer<Validated> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, dm);
}
