// SPDX-License-Identifier: Apache-2.0
// tests/integration/tensorboard_probe_main.cpp — events for tensorboard_reader.py to read with TensorBoard's own reader.
// Usage: kiln_tensorboard_probe DIR
// Fits a linear regressor (hparams lr, batch_size, optimizer, nesterov) for 2 epochs of 8
// batches with Loggers<TensorBoardLogger, CsvLogger>, log_every_n_steps 2 and
// WeightHistograms every 4 steps; then, with a second TensorBoardLogger in DIR/extra, a
// histogram of 1000 seeded normal values (`known`, values in known.f64), text, an RGB float
// image [3, 5, 7] (`image/rgb`, expected pixels in rgb.u8 as H x W x 3) and a batch of five
// grey uint8 images [5, 1, 4, 6] as a grid (`image/grid`, grid.u8 as H x W). Prints
// "tensorboard probe: wrote DIR".
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>
#include <kiln/loggers/tensorboard_images.hpp>

#include "../unit/linear_data.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 2));
  }
  kiln::HParams hparams() const {
    return {{"lr", 0.05}, {"batch_size", std::int64_t{4}}, {"optimizer", std::string("sgd")}, {"nesterov", true}};
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first).sum(1, true), b.second);
    ctx.log("train/loss", loss);
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::mse_loss(fc(b.first).sum(1, true), b.second));
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
};

void write_raw(const std::filesystem::path& path, const torch::Tensor& t) {
  const auto c = t.contiguous();
  std::ofstream(path, std::ios::binary).write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kiln_tensorboard_probe DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  kiln::TrainerConfig config{.max_epochs = 2, .default_root_dir = dir};
  config.log_every_n_steps = 2;
  config.enable_progress_bar = false;
  config.num_sanity_val_steps = 0;
  kiln::Trainer<Net, kiln::Callbacks<kiln::WeightHistograms>, kiln::Loggers<kiln::TensorBoardLogger, kiln::CsvLogger>> trainer(
      config, kiln::WeightHistograms({.every_n_steps = 4}));
  Net net;
  auto train = kiln_test::linear_data(8, 4, 0), val = kiln_test::linear_data(2, 4, 1);
  trainer.fit(net, train, val);

  kiln::TensorBoardLogger extra({.save_dir = dir / "extra"});
  torch::manual_seed(7);
  const auto known = torch::randn({10, 100}, torch::kDouble);
  write_raw(dir / "known.f64", known);
  extra.log_histogram("known", known, 0);
  extra.log_text("notes", "hello **kiln**", 3);
  const auto rgb = torch::rand({3, 5, 7});
  write_raw(dir / "rgb.u8", rgb.mul(255).round().to(torch::kByte).permute({1, 2, 0}));
  kiln::log_image(extra, "image/rgb", rgb, 1);
  const auto batch = torch::randint(0, 256, {5, 1, 4, 6}, torch::kByte);
  write_raw(dir / "grid.u8", kiln::make_grid(batch)[0]);
  kiln::log_image(extra, "image/grid", batch, 2);
  std::printf("tensorboard probe: wrote %s\n", dir.c_str());
  return 0;
}
