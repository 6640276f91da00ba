// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/not_a_data_source.cpp — fit() is given something that is not a range of batches.
// kiln-expect-error: kiln: the data is not a data source\. Pass a range of batches
#include "net.hpp"

int main() {
  Net model;
#ifdef KILN_MISTAKE
  Batch data{torch::zeros({2, 4}), torch::zeros({2, 1})};  // one batch, not a range of batches
#else
  std::vector<Batch> data{{torch::zeros({2, 4}), torch::zeros({2, 1})}};
#endif
  kiln::Trainer<Net> trainer({.max_epochs = 1});
  trainer.fit(model, data);
}
