// SPDX-License-Identifier: Apache-2.0
// examples/fashion_mnist_cnn.cpp — teaches: a DataModule, validation each epoch, the best checkpoint, a final test,
// and a command line with a YAML config (kiln::cli::LightningCLI).
// A small CNN on Fashion-MNIST; with the defaults (5 epochs) it reaches about 0.91 test
// accuracy. Logs go to CSV and TensorBoard under <default_root_dir>/lightning_logs/version_N,
// with the run's config.yaml: `fashion_mnist_cnn fit --config <that file>` repeats the run.
//   fashion_mnist_cnn fit --trainer.max_epochs 2 --model.lr 2e-3 --data.batch_size 128
//   fashion_mnist_cnn fit --help
#include <cstdio>

#include <torch/torch.h>

#include <kiln/cli.hpp>
#include <kiln/data.hpp>
#include <kiln/kiln.hpp>
#include <kiln/precision/bf16_mixed.hpp>

#include "fashion_cnn.hpp"

using FashionData = kiln::data::FashionMNISTDataModule;
using Program = kiln::cli::LightningCLI<FashionCNN, FashionData, kiln::cli::Precisions<kiln::FP32, kiln::BF16Mixed>,
                                    kiln::Callbacks<kiln::ModelCheckpoint>,
                                    kiln::Loggers<kiln::CsvLogger, kiln::TensorBoardLogger>>;

int main(int argc, char** argv) {
  const kiln::cli::Settings settings{
      .description = "Trains a small CNN on Fashion-MNIST (kiln's main example).",
      .trainer_defaults = {.max_epochs = 5, .seed = 42, .default_root_dir = "runs/fashion_mnist_cnn"},
      .seed_everything_default = {.seed = 42},
      .links = {{"trainer.max_epochs", "model.epochs"}},  // the learning rate decays over the whole run
  };
  return Program::main(argc, argv, settings, [](auto& trainer, FashionCNN& model, FashionData& data, kiln::cli::Subcommand sub) {
    if (sub != kiln::cli::Subcommand::fit) return Program::run_subcommand(trainer, model, data, sub);
    trainer.fit(model, data);
    // Test the best weights, not the last (Lightning's trainer.test(ckpt_path="best")).
    const auto& best = trainer.template callback<kiln::ModelCheckpoint>().best_model_path();
    if (!best.empty()) kiln::load_weights(model, best);
    auto results = trainer.test(model, data);
    std::printf("test/acc: %.4f\n", results.at("test/acc"));
    std::printf("best checkpoint: %s\n", best.empty() ? "(none: fast dev run)" : best.c_str());
    std::printf("logs: %s\n", trainer.log_dir().string().c_str());
    return 0;
  }, kiln::ModelCheckpoint({.filename = "epoch={epoch}-{val/acc:.4f}", .monitor = "val/acc", .mode = "max"}));
}
