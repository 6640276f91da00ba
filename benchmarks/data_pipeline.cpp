// SPDX-License-Identifier: Apache-2.0
// benchmarks/data_pipeline.cpp — is the input pipeline fast enough for fashion_mnist_cnn's training step?
// In each of --repeats repeats, interleaved (order rotated per repeat), it measures samples/s of:
//   loader0, loader2  kiln::data::loader over Fashion-MNIST's 55000 training images (batch 64,
//                     shuffled, as FashionMNISTDataModule), iterated alone with 0 and 2 workers;
//   step              Trainer::fit of examples/fashion_cnn.hpp on --batches batches already in
//                     memory (a std::vector): the training step with no input pipeline at all;
//   fit0, fit2        the same fit fed by the loader with 0 and 2 workers.
// Prints medians and `RESULT data_pipeline loader0=<samples/s> loader2=... step=... fit0=...
// fit2=... loader2_vs_step=<loader2/step> fit2_vs_step=<fit2/step>`. The loader is not the
// bottleneck when loader2_vs_step is well above 1 and fit2_vs_step is close to 1. --threads
// (default 1, so the workers have the second core; 0: kiln's default) sets the fit's threads; the allocator is kiln's default (tuned unless
// KILN_HOST_ALLOCATOR=system).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "../examples/fashion_cnn.hpp"

#include "median.hpp"

using kiln_bench::median;

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kBatch = 64;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

kiln::data::Loader<kiln::data::FashionMNIST> make_loader(const kiln::data::FashionMNIST& train, std::size_t workers) {
  return kiln::data::loader(train, {.batch_size = kBatch, .shuffle = true, .workers = workers, .seed = 7});
}

// One epoch of the loader alone; every batch's bytes are read, as a step would.
double loader_alone(const kiln::data::FashionMNIST& train, std::size_t workers) {
  auto loader = make_loader(train, workers);
  const auto start = Clock::now();
  std::int64_t samples = 0;
  double checksum = 0;
  for (auto& b : loader) {
    samples += b.data.size(0);
    checksum += b.data.sum().item<double>() + static_cast<double>(b.target.sum().item<std::int64_t>());
  }
  const double s = seconds_since(start);
  if (checksum == 0) std::abort();  // keeps the reads from being optimised away
  return double(samples) / s;
}

// fit() of a fresh FashionCNN on `data` for `batches` steps; samples/s over the whole fit.
int g_threads = 1;  // --threads; 0: kiln's default (usable cores / local processes)

template <class Data>
double fit_rate(Data& data, std::int64_t batches) {
  torch::manual_seed(0);
  FashionCNN model;
  kiln::Trainer<FashionCNN, kiln::Loggers<>> trainer({.max_epochs = 1,
                                                      .limit_train_batches = batches,
                                                      .num_sanity_val_steps = 0,
                                                      .enable_progress_bar = false,
                                                      .num_threads = g_threads > 0 ? std::optional<int>(g_threads) : std::nullopt});
  const auto start = Clock::now();
  trainer.fit(model, data);
  const double s = seconds_since(start);
  if (trainer.state().global_step != batches) {
    std::fprintf(stderr, "data_pipeline: fit ran %lld steps, expected %lld\n",
                 static_cast<long long>(trainer.state().global_step), static_cast<long long>(batches));
    std::exit(1);
  }
  return double(batches * static_cast<std::int64_t>(kBatch)) / s;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t batches = 200;
  int repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--batches") batches = std::atoll(argv[i + 1]);
    else if (a == "--repeats") repeats = std::atoi(argv[i + 1]);
    else if (a == "--threads") g_threads = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--batches N] [--repeats N] [--threads N (0: kiln's default)]\n", argv[0]);
      return 2;
    }
  }
  if (batches < 1 || batches > 55000 / std::int64_t(kBatch) || repeats < 1) {
    std::fprintf(stderr, "data_pipeline: --batches must be in [1, %lld], --repeats >= 1\n",
                 static_cast<long long>(55000 / kBatch));
    return 2;
  }
  const kiln::data::FashionMNIST train({.split = kiln::data::Split::train});
  // The step baseline: the same first batches the loader would serve, already in memory.
  std::vector<torch::data::Example<>> in_memory;
  for (auto& b : make_loader(train, 0)) {
    in_memory.push_back(b);
    if (std::int64_t(in_memory.size()) == batches) break;
  }
  std::printf("threads: intra-op %d in the fits; %lld batches of %zu per fit\n",
              g_threads > 0 ? g_threads : kiln::default_num_threads(), static_cast<long long>(batches), kBatch);

  const char* names[] = {"loader0", "loader2", "step", "fit0", "fit2"};
  std::vector<std::vector<double>> rates(5);
  for (int r = 0; r < repeats; ++r) {
    for (int k = 0; k < 5; ++k) {
      const int which = (k + r) % 5;
      double rate = 0;
      if (which == 0) rate = loader_alone(train, 0);
      if (which == 1) rate = loader_alone(train, 2);
      if (which == 2) rate = fit_rate(in_memory, batches);
      if (which == 3) { auto l = make_loader(train, 0); rate = fit_rate(l, batches); }
      if (which == 4) { auto l = make_loader(train, 2); rate = fit_rate(l, batches); }
      rates[which].push_back(rate);
      std::printf("repeat %d %-8s %10.0f samples/s\n", r, names[which], rate);
      std::fflush(stdout);
    }
  }
  std::vector<double> m;
  for (auto& v : rates) m.push_back(median(v));
  std::printf("RESULT data_pipeline loader0=%.0f loader2=%.0f step=%.0f fit0=%.0f fit2=%.0f "
              "loader2_vs_step=%.1f fit2_vs_step=%.3f\n",
              m[0], m[1], m[2], m[3], m[4], m[1] / m[2], m[4] / m[2]);
}
