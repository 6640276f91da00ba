// SPDX-License-Identifier: Apache-2.0
// benchmarks/cpu_throughput.cpp — one measurement of training steps/s on CPU: a hand-written LibTorch loop or kiln's Trainer.
// Usage: cpu_throughput --model mlp|cnn --mode raw|kiln [--threads N] [--steps N]
//   --threads 0: no thread setting at all: LibTorch's own default (raw) or kiln's (kiln).
// Prints `steps_per_s=<x> peak_rss_kb=<y> threads=<n>`. benchmarks/cpu_throughput.py runs this
// and plain PyTorch under each allocator setting, interleaved, and prints the RESULT lines.
//   mlp: 784-64-10 with ReLU, batch 32; cnn: examples/fashion_cnn.hpp's layers (conv 32, conv 64,
//   fc 128 with dropout, fc 10), batch 64. Both: Adam(1e-3), cross-entropy, synthetic data (a
//   fixed set of batches, cycled), the same in Python.
// raw: the loop a LibTorch user writes (zero_grad, forward, loss, backward, step), with the
// process's malloc as the environment set it. kiln: Trainer<Net, Loggers<>> with kiln's
// defaults (host allocator tuned unless KILN_HOST_ALLOCATOR=system), progress bar off; the
// thread count is the one given, so both modes compare at the same count.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

#include "../examples/fashion_cnn.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Mlp : torch::nn::Module {
  torch::nn::Linear fc1{register_module("fc1", torch::nn::Linear(784, 64))};
  torch::nn::Linear fc2{register_module("fc2", torch::nn::Linear(64, 10))};
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::cross_entropy_loss(forward(b.first), b.second); }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-3));
  }
};

// The example's CNN without its augmentation and schedule, so Python can mirror it exactly.
struct Cnn : FashionCNN {
  using Batch = std::pair<torch::Tensor, torch::Tensor>;  // not FashionCNN's Example<>
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::cross_entropy_loss(forward(b.first), b.second); }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-3));
  }
};

std::vector<Batch> make_data(bool cnn) {
  torch::manual_seed(0);
  std::vector<Batch> out;
  const int n = cnn ? 16 : 256, b = cnn ? 64 : 32;
  for (int i = 0; i < n; ++i)
    out.emplace_back(cnn ? torch::randn({b, 1, 28, 28}) : torch::randn({b, 784}), torch::randint(0, 10, {b}));
  return out;
}

// `steps` batches cycled from `data`, as a range the Trainer iterates.
std::vector<Batch> cycle(const std::vector<Batch>& data, int steps) {
  std::vector<Batch> out;
  for (int i = 0; i < steps; ++i) out.push_back(data[static_cast<std::size_t>(i) % data.size()]);
  return out;
}

template <class Net>
double raw_loop(const std::vector<Batch>& data, int warmup, int steps) {
  Net net;
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(1e-3));
  auto step = [&](int i) {
    const auto& b = data[static_cast<std::size_t>(i) % data.size()];
    opt.zero_grad();
    auto loss = torch::cross_entropy_loss(net.forward(b.first), b.second);
    loss.backward();
    opt.step();
  };
  for (int i = 0; i < warmup; ++i) step(i);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step(warmup + i);
  return steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class Net>
double kiln_fit(const std::vector<Batch>& data, int warmup, int steps, int threads) {
  Net net;
  const kiln::TrainerConfig config{.max_epochs = 1, .num_sanity_val_steps = 0, .enable_progress_bar = false,
                                   .accelerator = "cpu",
                                   .num_threads = threads > 0 ? std::optional<int>(threads) : std::nullopt};
  auto first = cycle(data, warmup), timed = cycle(data, steps);
  kiln::Trainer<Net, kiln::Loggers<>>(config).fit(net, first);  // warm-up, as the raw loop's
  kiln::Trainer<Net, kiln::Loggers<>> trainer(config);
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(net, timed);
  return steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --model mlp|cnn --mode raw|kiln [--threads N] [--steps N]\n", argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, mode;
  int threads = 1, steps = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--mode")) mode = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else usage(argv[0]);
  }
  if ((model != "mlp" && model != "cnn") || (mode != "raw" && mode != "kiln") || threads < 0 || steps < 0) usage(argv[0]);
  const bool cnn = model == "cnn";
  if (steps == 0) steps = cnn ? 60 : 3000;
  const int warmup = cnn ? 5 : 100;
  if (threads > 0) torch::set_num_threads(threads);
  const auto data = make_data(cnn);
  const double rate = mode == "raw" ? (cnn ? raw_loop<Cnn>(data, warmup, steps) : raw_loop<Mlp>(data, warmup, steps))
                                    : (cnn ? kiln_fit<Cnn>(data, warmup, steps, threads) : kiln_fit<Mlp>(data, warmup, steps, threads));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("steps_per_s=%.2f peak_rss_kb=%ld threads=%d\n", rate, usage.ru_maxrss, torch::get_num_threads());
}
