// SPDX-License-Identifier: Apache-2.0
// tests/integration/mlflow_probe_main.cpp — a training process that logs to an MLflow server, for mlflow_server.py.
// Usage: kiln_mlflow_probe DIR URI EXPERIMENT [--bad-name] [--warn] [--flush-ms N] [--top-k K] [--fail-at STEP]
//        [--preempt-at STEP] [--at STEP COMMAND]...
// Fits a linear regressor (hparams lr, batch_size, optimizer, nesterov) with
// Loggers<MLFlowLogger, CsvLogger> and ModelCheckpoint (save_top_k K, default 1) for 3 epochs of 8 batches, logging at every
// step (train/loss, train/nan: NaN at step 5; with --bad-name also train/acc@1, a name MLflow
// refuses), then validates once. DIR/lightning_logs/version_0/
// metrics.csv holds what was logged, for the test to compare with the server's history. --at runs
// COMMAND (a shell line) after optimizer step STEP and stops with exit 4 if it fails; --fail-at
// throws from training_step at that step; --preempt-at raises SIGTERM there (kiln exits 75).
// Prints `run_id=<id> queued=<n> dropped=<n>` when it ends normally; exits 3 with the error on a
// kiln::Error.
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include <torch/torch.h>

#include <kiln/kiln.hpp>
#include <kiln/loggers/mlflow_logger.hpp>

#include "../unit/linear_data.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  std::int64_t fail_at = -1, preempt_at = -1, seen = 0;
  bool bad_name = false;
  Net() {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  kiln::HParams hparams() const {
    return {{"lr", 0.05}, {"batch_size", std::int64_t{4}}, {"optimizer", std::string("sgd")}, {"nesterov", false}};
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    ++seen;
    if (seen == fail_at) throw std::runtime_error("the probe fails on purpose");
    if (seen == preempt_at) std::raise(SIGTERM);  // kiln checkpoints after this step and exits 75
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("train/loss", loss);
    ctx.log("train/nan", seen == 5 ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(seen));
    if (bad_name) ctx.log("train/acc@1", 0.5);  // MLflow refuses '@': said once, not sent
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) { ctx.log("val/loss", torch::mse_loss(fc(b.first), b.second)); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
};

struct AtStep {
  std::map<std::int64_t, std::string> commands;
  template <class T>
  void on(const kiln::event::train_batch_end&, T& t) {
    const auto it = commands.find(t.state().global_step);
    if (it == commands.end()) return;
    std::fflush(nullptr);
    if (std::system(it->second.c_str()) != 0) {
      std::fprintf(stderr, "mlflow probe: `%s` failed at step %ld\n", it->second.c_str(), static_cast<long>(it->first));
      std::exit(4);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: kiln_mlflow_probe DIR URI EXPERIMENT [options]\n");
    return 2;
  }
  kiln::MLFlowLogger::Options mlflow{.tracking_uri = argv[2], .experiment_name = argv[3]};
  mlflow.tags["probe"] = "yes";
  Net net;
  AtStep at;
  std::int64_t top_k = 1;
  for (int i = 4; i < argc; ++i) {
    auto next = [&] {
      if (i + 1 >= argc) std::exit(2);
      return std::string(argv[++i]);
    };
    if (!std::strcmp(argv[i], "--bad-name")) net.bad_name = true;
    else if (!std::strcmp(argv[i], "--warn")) mlflow.on_error = kiln::MLFlowLogger::OnError::warn;
    else if (!std::strcmp(argv[i], "--flush-ms")) mlflow.flush_timeout = std::chrono::milliseconds(std::stol(next()));
    else if (!std::strcmp(argv[i], "--top-k")) top_k = std::stol(next());
    else if (!std::strcmp(argv[i], "--fail-at")) net.fail_at = std::stol(next());
    else if (!std::strcmp(argv[i], "--preempt-at")) net.preempt_at = std::stol(next());
    else if (!std::strcmp(argv[i], "--at")) {
      const auto step = std::stol(next());
      at.commands[step] = next();
    } else {
      std::fprintf(stderr, "kiln_mlflow_probe: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  kiln::TrainerConfig config{.max_epochs = 3, .default_root_dir = argv[1]};
  config.log_every_n_steps = 1;
  config.enable_progress_bar = false;
  config.num_sanity_val_steps = 0;
  kiln::Trainer<Net, kiln::Callbacks<AtStep, kiln::ModelCheckpoint>, kiln::Loggers<kiln::MLFlowLogger, kiln::CsvLogger>> trainer(
      config, std::move(at), kiln::ModelCheckpoint({.monitor = "val/loss", .save_top_k = top_k}), kiln::MLFlowLogger(mlflow));
  auto train = kiln_test::linear_data(8, 4, 0), val = kiln_test::linear_data(2, 4, 1);
  try {
    trainer.fit(net, train, val);
    trainer.validate(net, val);
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "mlflow probe: kiln::Error: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlflow probe: error: %s\n", e.what());
    return 5;
  }
  const auto& logger = trainer.logger<kiln::MLFlowLogger>();
  std::printf("run_id=%s queued=%ld dropped=%ld best=%s\n", logger.run_id().c_str(), static_cast<long>(logger.queued()),
              static_cast<long>(logger.dropped()), trainer.callback<kiln::ModelCheckpoint>().best_model_path().c_str());
  return 0;
}
