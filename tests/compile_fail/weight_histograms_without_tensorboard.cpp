// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/weight_histograms_without_tensorboard.cpp — WeightHistograms in a Trainer whose loggers have no TensorBoardLogger.
// kiln-expect-error: kiln: WeightHistograms writes to a TensorBoardLogger: add kiln::TensorBoardLogger to Loggers<\.\.\.>\.
#include "net.hpp"

int main() {
#ifdef KILN_MISTAKE
  kiln::Trainer<Net, kiln::Callbacks<kiln::WeightHistograms>, kiln::Loggers<kiln::CsvLogger>> trainer;
#else
  kiln::Trainer<Net, kiln::Callbacks<kiln::WeightHistograms>, kiln::Loggers<kiln::CsvLogger, kiln::TensorBoardLogger>> trainer;
#endif
  Net net;
  std::vector<Batch> data;
  trainer.fit(net, data);
}
