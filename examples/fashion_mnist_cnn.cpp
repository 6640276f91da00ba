// SPDX-License-Identifier: Apache-2.0
// examples/fashion_mnist_cnn.cpp — teaches: a DataModule, validation each epoch, the best checkpoint, a final test.
// A small CNN on Fashion-MNIST; with the defaults (5 epochs) it reaches about 0.91 test
// accuracy. Logs go to CSV and TensorBoard under <root-dir>/lightning_logs/version_N.
#include <algorithm>
#include <cstdio>

#include <torch/torch.h>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "example_args.hpp"
#include "fashion_cnn.hpp"

int main(int argc, char** argv) {
  auto args = parse_example_args(
      argc, argv, {.config = {.max_epochs = 5, .seed = 42, .default_root_dir = "runs/fashion_mnist_cnn"}, .batch_size = 64});
  // Before the model and the loaders are built: their initial weights and shuffling seeds are
  // drawn from LibTorch's generator, which is seeded differently in every process.
  kiln::seed_everything(*args.config.seed);
  kiln::data::FashionMNISTDataModule data({.root = args.data_root, .batch_size = args.batch_size, .workers = args.workers});
  FashionCNN model(1e-3, std::max<std::int64_t>(1, args.config.max_epochs));
  using Trainer = kiln::Trainer<FashionCNN, kiln::Callbacks<kiln::ModelCheckpoint>,
                                kiln::Loggers<kiln::CsvLogger, kiln::TensorBoardLogger>>;
  Trainer trainer(args.config, kiln::ModelCheckpoint({.filename = "epoch={epoch}-{val/acc:.4f}", .monitor = "val/acc", .mode = "max"}));
  trainer.fit(model, data);

  // Test the best weights, not the last (Lightning's trainer.test(ckpt_path="best")).
  const auto& best = trainer.callback<kiln::ModelCheckpoint>().best_model_path();
  if (!best.empty()) kiln::load_weights(model, best);
  auto results = trainer.test(model, data);
  std::printf("test/acc: %.4f\n", results.at("test/acc"));
  std::printf("best checkpoint: %s\n", best.empty() ? "(none: fast dev run)" : best.c_str());
  std::printf("logs: %s\n", trainer.log_dir().string().c_str());
}
