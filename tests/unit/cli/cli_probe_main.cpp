// SPDX-License-Identifier: Apache-2.0
// tests/unit/cli/cli_probe_main.cpp — a LightningCLI program for lightning_cli_test: a tiny regression model and
// data module, each built from its hyper-parameters; after fit it prints the final parameters exactly.
#include <cstdio>
#include <vector>

#include <torch/torch.h>

#include <kiln/cli.hpp>
#include <kiln/kiln.hpp>
#include <kiln/precision/bf16_mixed.hpp>
#include <kiln/strategy/ddp.hpp>

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct ProbeNetHparams {
  double lr = 0.05;
  std::int64_t hidden = 8;
  std::string activation = "relu";
  void hyperparameters(auto& field) {
    field("lr", lr, "SGD's learning rate");
    field("hidden", hidden, "hidden units");
    field("activation", activation, "relu or tanh");
  }
};

struct ProbeNet : torch::nn::Module {
  ProbeNetHparams hp;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  explicit ProbeNet(ProbeNetHparams h) : hp(std::move(h)) {
    if (hp.activation != "relu" && hp.activation != "tanh")
      throw kiln::Error("probe: model.activation must be relu or tanh, not " + hp.activation);
    fc1 = register_module("fc1", torch::nn::Linear(4, hp.hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hp.hidden, 1));
  }
  const ProbeNetHparams& hparams() const { return hp; }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = fc1(x);
    return fc2(hp.activation == "relu" ? torch::relu(h) : torch::tanh(h));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(forward(b.first), b.second);
    ctx.log("train/loss", loss);
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) { ctx.log("val/loss", torch::mse_loss(forward(b.first), b.second)); }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(hp.lr));
  }
};

struct ProbeDataHparams {
  std::int64_t batches = 6;
  std::int64_t batch_size = 8;
  void hyperparameters(auto& field) {
    field("batches", batches, "training batches per epoch");
    field("batch_size", batch_size, "rows per batch");
  }
};

/// Random inputs drawn from torch's generator at each epoch: the run repeats only if the seed does.
struct ProbeData {
  ProbeDataHparams hp;
  explicit ProbeData(ProbeDataHparams h) : hp(h) {}
  const ProbeDataHparams& hparams() const { return hp; }
  std::vector<Batch> batches(std::int64_t n) const {
    std::vector<Batch> out;
    for (std::int64_t i = 0; i < n; ++i) {
      auto x = torch::randn({hp.batch_size, 4});
      out.emplace_back(x, x.sum(1, true));
    }
    return out;
  }
  std::vector<Batch> train_dataloader() { return batches(hp.batches); }
  std::vector<Batch> val_dataloader() { return batches(2); }
};

int main(int argc, char** argv) {
  using Program = kiln::cli::LightningCLI<ProbeNet, ProbeData, kiln::cli::Precisions<kiln::FP32, kiln::BF16Mixed>,
                                          kiln::cli::Strategies<kiln::SingleDevice, kiln::DDP>, kiln::Loggers<kiln::CsvLogger>>;
  return Program::main(argc, argv, {.description = "kiln's LightningCLI probe", .trainer_defaults = {.max_epochs = 2, .enable_progress_bar = false}},
                   [](auto& trainer, ProbeNet& model, ProbeData& data, kiln::cli::Subcommand sub) {
                     const int rc = Program::run_subcommand(trainer, model, data, sub);
                     if (sub == kiln::cli::Subcommand::fit) {
                       // Every parameter in hexadecimal: equal text means bit-identical values.
                       for (const auto& p : model.parameters()) {
                         auto flat = p.detach().flatten().contiguous();
                         for (std::int64_t i = 0; i < flat.numel(); ++i) std::printf("%a ", flat[i].item<float>());
                       }
                       std::printf("\nlog_dir: %s rank: %d\n", trainer.log_dir().c_str(), trainer.strategy().rank());
                     }
                     return rc;
                   });
}
