// SPDX-License-Identifier: Apache-2.0
// tests/integration/kill_resume_main.cpp — a training program kill_and_resume.sh SIGKILLs at random moments and resumes.
// Usage: kiln_kill_resume_probe --dir D [--ballast-mb N]   train (resuming from D/checkpoints/last.pt when there is one)
//        kiln_kill_resume_probe --check D                  load every checkpoint in D/checkpoints
// The program a user writes from the README: a dropout MLP, Adam with a StepLR through
// OptimizerConfig, a shuffled kiln::data::loader with 2 workers, validation every epoch, and
// ModelCheckpoint writing after every optimizer step with save_last; every run passes
// ckpt_path = "last". At the end it writes the parameters' bytes to D/final.bin, so two runs can
// be compared bit for bit. --ballast-mb adds a buffer of N MiB to the module (saved in every
// checkpoint, unused by training) so each checkpoint write takes long enough to be killed in.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include <torch/torch.h>

#include <kiln/callbacks/model_checkpoint.hpp>
#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

namespace {

namespace fs = std::filesystem;
using Example = torch::data::Example<>;

struct Mlp : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  explicit Mlp(std::int64_t ballast_mb) {
    fc1 = register_module("fc1", torch::nn::Linear(16, 64));
    fc2 = register_module("fc2", torch::nn::Linear(64, 4));
    if (ballast_mb > 0) register_buffer("ballast", torch::zeros({ballast_mb * 1024 * 1024 / 4}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return fc2(torch::dropout(torch::relu(fc1(x)), 0.2, is_training()));
  }
  torch::Tensor training_step(const Example& b, kiln::StepContext& ctx) {
    auto loss = torch::cross_entropy_loss(forward(b.data), b.target);
    ctx.log("train/loss", loss);
    return loss;
  }
  void validation_step(const Example& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::cross_entropy_loss(forward(b.data), b.target));
  }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-2));
    auto sched = std::make_unique<kiln::StepLR>(*opt, 1, 0.7);
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::epoch};
  }
};

// 384 samples of a fixed random rule: 12 batches of 32 an epoch.
struct Rule : torch::data::datasets::Dataset<Rule> {
  torch::Tensor x, y;
  explicit Rule(std::uint64_t seed) {
    torch::manual_seed(seed);
    x = torch::randn({384, 16});
    y = x.matmul(torch::randn({16, 4})).argmax(1);
  }
  Example get(std::size_t i) override { return {x[std::int64_t(i)], y[std::int64_t(i)]}; }
  torch::optional<std::size_t> size() const override { return 384; }
};

int check(const fs::path& dir) {
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir / "checkpoints")) {
    if (e.path().extension() != ".pt") continue;  // a killed write's .tmp is not a checkpoint
    Mlp m(0);
    kiln::load_weights(m, e.path().string(), /*strict=*/false);  // the ballast may be absent from m
    ++files;
  }
  std::printf("checked %d checkpoint files\n", files);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir;
  std::int64_t ballast_mb = 0;
  bool check_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--check")) dir = argv[i + 1], check_only = true;
    else if (!std::strcmp(argv[i], "--ballast-mb")) ballast_mb = std::atol(argv[i + 1]);
    else return std::fprintf(stderr, "kiln_kill_resume_probe: unknown option %s\n", argv[i]), 2;
  }
  if (dir.empty()) return std::fprintf(stderr, "kiln_kill_resume_probe: --dir or --check is required\n"), 2;
  try {
    if (check_only) return check(dir);
    kiln::seed_everything(3);
    Mlp model(ballast_mb);
    auto train = kiln::data::loader(Rule(1), {.batch_size = 32, .shuffle = true, .workers = 2});
    auto val = kiln::data::loader(Rule(2), {.batch_size = 128});
    kiln::Trainer<Mlp, kiln::Loggers<>, kiln::Callbacks<kiln::ModelCheckpoint>> trainer(
        {.max_epochs = 8, .default_root_dir = dir, .enable_progress_bar = false},
        kiln::ModelCheckpoint({.dirpath = dir / "checkpoints", .save_last = true, .every_n_train_steps = 1}));
    trainer.fit(model, train, val, {.ckpt_path = "last"});
    std::ofstream out(dir / "final.bin", std::ios::binary);
    for (const auto& p : model.parameters()) {
      const auto c = p.detach().contiguous();
      out.write(static_cast<const char*>(c.data_ptr()), std::streamsize(c.nbytes()));
    }
    std::printf("finished: global_step=%ld\n", static_cast<long>(trainer.state().global_step));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_kill_resume_probe: %s\n", e.what());
    return 1;
  }
}
