// SPDX-License-Identifier: Apache-2.0
// benchmarks/cpu_throughput.cpp — one measurement of training steps/s: a hand-written LibTorch loop or kiln's Trainer.
// Usage: cpu_throughput --model mlp|cnn --mode raw|kiln [--threads N] [--steps N]
//                       [--precision fp32|bf16-mixed] [--device cpu|cuda]
//   --threads 0: no thread setting at all: LibTorch's own default (raw) or kiln's (kiln).
// Prints `steps_per_s=<x> peak_rss_kb=<y> threads=<n> first_step_unix=<t>`, t being the wall clock
// (seconds since the epoch) when the process's first training step had finished: a driver that
// notes the time it started the process gets start-to-first-step. benchmarks/cpu_throughput.py
// runs this and plain PyTorch under each allocator setting; benchmarks/vs_lightning.py runs it
// next to PyTorch, Lightning and Ignite.
//   mlp: 784-64-10 with ReLU, batch 32; cnn: examples/fashion_cnn.hpp's layers (conv 32, conv 64,
//   fc 128 with dropout, fc 10), batch 64. Both: Adam(1e-3), cross-entropy, synthetic data (a
//   fixed set of batches, cycled), the same in Python.
// raw: the loop a LibTorch user writes (zero_grad, forward, loss, backward, step), with the
// process's malloc as the environment set it. kiln: Trainer<Net, Loggers<>, Precision<P>, ...> with
// kiln's defaults (host allocator tuned unless KILN_HOST_ALLOCATOR=system), progress bar off; the
// thread count is the one given, so both modes compare at the same count.
// bf16-mixed: raw runs forward and loss under bfloat16 autocast, as torch.autocast does; kiln
// uses Precision<BF16Mixed>. --device cuda: the batches stay on the host and move to cuda:0 each
// step (as a DataLoader's would), and the clock is read after the device has finished.
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

// Seconds since the epoch, the clock of Python's time.time(), which the driver compares with.
double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// CUDA runs asynchronously: without waiting, a clock would time the queueing of the work.
void wait_for(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

struct Measurement {
  double steps_per_s;
  double first_step_unix;
};

template <class Net>
Measurement raw_loop(const std::vector<Batch>& data, int warmup, int steps, const torch::Device& device, bool bf16) {
  Net net;
  net.to(device);
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(1e-3));
  auto step = [&](int i) {
    const auto& b = data[static_cast<std::size_t>(i) % data.size()];
    const auto x = b.first.to(device), y = b.second.to(device);
    opt.zero_grad();
    // torch.autocast's region: on for forward and loss; leaving it drops the cached bfloat16
    // copies of the weights, which the optimizer step is about to make stale.
    if (bf16) kiln::compat::set_autocast(device.type(), true, torch::kBFloat16);
    auto loss = torch::cross_entropy_loss(net.forward(x), y);
    if (bf16) {
      kiln::compat::set_autocast(device.type(), false, torch::kBFloat16);
      at::autocast::clear_cache();
    }
    loss.backward();
    opt.step();
  };
  step(0);
  wait_for(device);
  const double first_step = unix_now();
  for (int i = 1; i < warmup; ++i) step(i);
  wait_for(device);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step(warmup + i);
  wait_for(device);
  return {steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), first_step};
}

// Notes when the first training step of the process has finished.
struct FirstStep {
  torch::Device device;
  double finished = 0;  // seconds since the epoch; 0 until then
  template <class T>
  void on(const kiln::event::train_batch_end&, T&) {
    if (finished != 0) return;
    wait_for(device);
    finished = unix_now();
  }
};

template <class Net, class P>
Measurement kiln_fit(const std::vector<Batch>& data, int warmup, int steps, const torch::Device& device, int threads) {
  Net net;
  const kiln::TrainerConfig config{.max_epochs = 1, .num_sanity_val_steps = 0, .enable_progress_bar = false,
                                   .accelerator = device.is_cuda() ? "cuda" : "cpu",
                                   .num_threads = threads > 0 ? std::optional<int>(threads) : std::nullopt};
  auto first = cycle(data, warmup), timed = cycle(data, steps);
  using Fit = kiln::Trainer<Net, kiln::Loggers<>, kiln::Precision<P>, kiln::Callbacks<FirstStep>>;
  Fit warm(config, FirstStep{device});  // warm-up, as the raw loop's
  warm.fit(net, first);
  const double first_step = warm.template callback<FirstStep>().finished;
  // One Trainer type for both fits halves the instantiations to compile; given the time already
  // taken, the timed fit's FirstStep is one comparison per step and never waits for the device.
  Fit trainer(config, FirstStep{device, first_step});
  wait_for(device);
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(net, timed);
  wait_for(device);
  return {steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), first_step};
}

template <class Net>
Measurement run(const std::string& mode, bool bf16, const std::vector<Batch>& data, int warmup, int steps,
                const torch::Device& device, int threads) {
  if (mode == "raw") return raw_loop<Net>(data, warmup, steps, device, bf16);
  return bf16 ? kiln_fit<Net, kiln::BF16Mixed>(data, warmup, steps, device, threads)
              : kiln_fit<Net, kiln::FP32>(data, warmup, steps, device, threads);
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --model mlp|cnn --mode raw|kiln [--threads N] [--steps N] [--precision fp32|bf16-mixed] "
               "[--device cpu|cuda]\n",
               argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, mode, precision = "fp32", device_name = "cpu";
  int threads = 1, steps = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--mode")) mode = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--precision")) precision = argv[i + 1];
    else if (!std::strcmp(argv[i], "--device")) device_name = argv[i + 1];
    else usage(argv[0]);
  }
  if ((model != "mlp" && model != "cnn") || (mode != "raw" && mode != "kiln") || threads < 0 || steps < 0 ||
      (precision != "fp32" && precision != "bf16-mixed") || (device_name != "cpu" && device_name != "cuda"))
    usage(argv[0]);
  if (device_name == "cuda" && !torch::cuda::is_available()) {
    std::fprintf(stderr, "cpu_throughput: --device cuda, but this LibTorch sees no CUDA device\n");
    return 2;
  }
  const bool cnn = model == "cnn", bf16 = precision == "bf16-mixed";
  const torch::Device device = device_name == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (steps == 0) steps = cnn ? 60 : 3000;
  const int warmup = cnn ? 5 : 100;
  if (threads > 0) torch::set_num_threads(threads);
  const auto data = make_data(cnn);
  const auto m = cnn ? run<Cnn>(mode, bf16, data, warmup, steps, device, threads)
                     : run<Mlp>(mode, bf16, data, warmup, steps, device, threads);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("steps_per_s=%.2f peak_rss_kb=%ld threads=%d first_step_unix=%.6f\n", m.steps_per_s, usage.ru_maxrss,
              torch::get_num_threads(), m.first_step_unix);
}
