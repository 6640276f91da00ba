// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/cli_module_not_buildable.cpp — LightningCLI over a module built from something else than its hparams() struct.
// kiln-expect-error: kiln: LightningCLI builds the module from the struct its hparams\(\) returns
#include <kiln/cli.hpp>

#include "net.hpp"

struct WideHparams {
  std::int64_t width = 4;
  void hyperparameters(auto& field) { field("width", width, "units"); }
};

struct WideNet : torch::nn::Module {
  WideHparams hp;
  torch::nn::Linear fc{nullptr};
#ifdef KILN_MISTAKE
  explicit WideNet(std::int64_t width) { hp.width = width; fc = register_module("fc", torch::nn::Linear(4, width)); }
#else
  explicit WideNet(WideHparams h) : hp(h) { fc = register_module("fc", torch::nn::Linear(4, hp.width)); }
#endif
  const WideHparams& hparams() const { return hp; }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return fc(b.first).sum(); }
  std::unique_ptr<torch::optim::Optimizer> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

struct WideData {
  std::vector<Batch> train_dataloader() { return {}; }
};

int main(int argc, char** argv) { return kiln::cli::LightningCLI<WideNet, WideData>::main(argc, argv); }
