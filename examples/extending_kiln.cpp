// SPDX-License-Identifier: Apache-2.0
// examples/extending_kiln.cpp — teaches: a strategy, a precision, a logger and a callback of your
// own, each one small type that kiln checks against its concept where the Trainer takes it.
// Prints one line per extension and `extended: ok` when every one did its job.
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

using Batch = std::pair<torch::Tensor, torch::Tensor>;

// A strategy: a tag and its StrategyImpl (kiln::DistributedStrategy lists the members). This one
// is SingleDevice (a world of one, collectives are identities) that counts gradient syncs.
struct CountingDevice {};
template <>
class kiln::StrategyImpl<CountingDevice> : public kiln::StrategyImpl<kiln::SingleDevice> {
 public:
  void reduce_gradients() { ++syncs; }
  int syncs = 0;
};

// A precision: a tag and its PrecisionImpl; PrecisionDefaults gives float32 behaviour and this
// one changes only backward (kiln::PrecisionPolicy lists the members).
struct CountingFP32 {};
template <>
class kiln::PrecisionImpl<CountingFP32> : public kiln::detail::PrecisionDefaults {
 public:
  PrecisionImpl() = default;
  explicit PrecisionImpl(const CountingFP32&) {}
  void backward(const at::Tensor& loss) {
    ++backwards;
    loss.backward();
  }
  int backwards = 0;
};

// A logger: log_metrics and save (kiln::Logger).
struct MemoryLogger {
  void log_metrics(const kiln::MetricMap& m, std::int64_t step) {
    for (const auto& [k, v] : m) rows.push_back(fmt::format("{}={:.3f}@{}", k, v, step));
  }
  void save() {}
  std::vector<std::string> rows;
};

// A callback: `on` overloads for the events it wants (kiln/core/events.hpp); the rest cost nothing.
struct EpochCounter {
  template <class Trainer>
  void on(const kiln::event::train_epoch_end&, Trainer&) { ++epochs; }
  int epochs = 0;
};

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(4, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("loss", loss);
    return loss;
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() {
  torch::manual_seed(0);
  std::vector<Batch> data;
  for (int i = 0; i < 4; ++i) data.emplace_back(torch::randn({8, 4}), torch::randn({8, 1}));
  Net net;
  kiln::Trainer<Net, kiln::Strategy<CountingDevice>, kiln::Precision<CountingFP32>, kiln::Callbacks<EpochCounter>,
                kiln::Loggers<MemoryLogger>>
      trainer({.max_epochs = 2, .log_every_n_steps = 1, .enable_progress_bar = false});
  trainer.fit(net, data);
  const int syncs = trainer.strategy().syncs, backwards = trainer.precision().backwards;
  const int epochs = trainer.callback<EpochCounter>().epochs;
  const auto rows = trainer.logger<MemoryLogger>().rows.size();
  std::printf("strategy: %d gradient syncs\nprecision: %d backwards\ncallback: %d epochs\nlogger: %zu values\n", syncs,
              backwards, epochs, rows);
  const bool ok = syncs == 8 && backwards == 8 && epochs == 2 && rows > 0;
  std::printf("extended: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
