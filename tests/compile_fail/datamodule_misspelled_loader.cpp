// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/datamodule_misspelled_loader.cpp — a DataModule with train_loader() instead of Lightning's train_dataloader().
// kiln-expect-error: kiln: the data has train_loader\(\), but kiln asks a DataModule for its loaders by Lightning's names\. Rename it to train_dataloader\(\)\.
#include "net.hpp"

struct Data {
  void setup(kiln::Stage) {}
#ifdef KILN_MISTAKE
  std::vector<Batch> train_loader() { return {}; }
#else
  std::vector<Batch> train_dataloader() { return {}; }
#endif
};

int main() {
  Net model;
  Data dm;
  kiln::Trainer<Net> trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, dm);
}
