// SPDX-License-Identifier: Apache-2.0
// benchmarks/ddp_scaling.cpp — training throughput of the Fashion-MNIST CNN under Strategy<DDP>.
// Usage: ddp_scaling [--devices N] [--steps S] [--batch B] [--overlap 0|1]
// Each rank trains examples/fashion_cnn.hpp's model on its own synthetic batches of B images
// (one intra-op thread per process); rank 0 prints
//   ddp_scaling kiln world=<N> overlap=<0/1> samples_per_s=<all ranks' samples per second after 5 warm-up steps>
// benchmarks/ddp_scaling.sh runs it with 1 and 2 processes next to PyTorch's Python DDP.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <kiln/callbacks/lambda_callback.hpp>
#include <kiln/dist.hpp>
#include <kiln/strategy/ddp.hpp>
#include <kiln/trainer.hpp>

#include "../examples/fashion_cnn.hpp"

int main(int argc, char** argv) try {
  std::int64_t devices = 1, steps = 60, batch = 64, overlap = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--devices") devices = std::atoll(argv[i + 1]);
    else if (a == "--steps") steps = std::atoll(argv[i + 1]);
    else if (a == "--batch") batch = std::atoll(argv[i + 1]);
    else if (a == "--overlap") overlap = std::atoll(argv[i + 1]);
    else { std::fprintf(stderr, "ddp_scaling: unknown option %s\n", argv[i]); return 2; }
  }
  torch::manual_seed(0);
  std::vector<torch::data::Example<>> data;
  for (int i = 0; i < 16; ++i) data.push_back({torch::randn({batch, 1, 28, 28}), torch::randint(0, 10, {batch})});
  FashionCNN m;
  using clk = std::chrono::steady_clock;
  clk::time_point t0;
  std::int64_t seen = 0;
  auto timer = kiln::lambda_callback([&](const kiln::event::train_batch_end&, auto& t) {
    if (++seen == 5) t0 = clk::now();
  });
  kiln::Trainer<FashionCNN, kiln::Strategy<kiln::DDP>, kiln::Loggers<>, kiln::Callbacks<decltype(timer)>> t(
      {.max_steps = steps, .enable_progress_bar = false, .devices = devices, .num_threads = 1}, timer,
      kiln::DDP{.overlap = overlap != 0});
  t.fit(m, data);
  const double s = std::chrono::duration<double>(clk::now() - t0).count();
  const double rate = double((steps - 5) * batch * kiln::dist::world_size()) / s;
  if (kiln::dist::rank() == 0)
    std::printf("ddp_scaling kiln world=%d overlap=%d samples_per_s=%.1f\n", kiln::dist::world_size(), int(overlap), rate);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
