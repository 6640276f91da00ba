// SPDX-License-Identifier: Apache-2.0
// benchmarks/precision.cpp — steps/s and peak memory of the Fashion-MNIST CNN under FP32 and BF16Mixed on CPU.
// Usage: precision [--steps N] [--repeats R] [--batch B] [--threads T]
// Each measurement runs in a child process (this binary again, --child fp32|bf16_mixed), so each
// peak is its own: the child loads --steps batches of Fashion-MNIST training images, resets its
// peak-RSS mark (/proc/self/clear_refs), fits examples/fashion_cnn.hpp's model for 5 warm-up
// steps, then times a fit of --steps steps with Trainer<FashionCNN, Loggers<>, Precision<P>>
// and reports steps/s and peak RSS above the mark (model, gradients, Adam state, activations,
// autocast's weight copies). The modes alternate, order rotated per repeat; the parent prints
// medians and
//   RESULT precision fp32_steps_per_s=<a> bf16_mixed_steps_per_s=<b> bf16_vs_fp32=<b/a>
//          fp32_peak_mib=<c> bf16_mixed_peak_mib=<d> bf16_vs_fp32_peak=<d/c>
// --threads 0 (default): kiln's default thread count.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "../examples/fashion_cnn.hpp"

#include "median.hpp"

using kiln_bench::median;

namespace {

// A field of /proc/self/status in KiB (VmRSS, VmHWM).
long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + key.size());
  return -1;
}

// The last training loss (the run must stay finite).
struct LastLoss {
  double loss = 0;
  template <class T>
  void on(const kiln::event::train_batch_end& e, T&) { loss = e.loss.item<double>(); }
};

template <class P>
int child(int steps, int batch, int threads) {
  kiln::seed_everything(1);
  kiln::data::FashionMNIST train({.split = kiln::data::Split::train});
  std::vector<torch::data::Example<>> data;
  for (int i = 0; i < steps + 5; ++i) {
    const auto at = (static_cast<std::int64_t>(i) * batch) % (train.images().size(0) - batch);
    data.push_back({train.images().slice(0, at, at + batch).clone(), train.targets().slice(0, at, at + batch).clone()});
  }
  std::vector<torch::data::Example<>> warmup(data.begin(), data.begin() + 5), timed(data.begin() + 5, data.end());
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";  // peak RSS := current RSS
  }
  const long base_kib = status_kib("VmRSS");
  FashionCNN net;
  const kiln::TrainerConfig config{.max_epochs = 1, .num_sanity_val_steps = 0, .enable_progress_bar = false,
                                   .accelerator = "cpu",
                                   .num_threads = threads > 0 ? std::optional<int>(threads) : std::nullopt};
  kiln::Trainer<FashionCNN, kiln::Loggers<>, kiln::Precision<P>>(config).fit(net, warmup);
  kiln::Trainer<FashionCNN, kiln::Loggers<>, kiln::Precision<P>, kiln::Callbacks<LastLoss>> trainer(config);
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(net, timed);
  const double rate = steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double loss = trainer.template callback<LastLoss>().loss;
  if (!std::isfinite(loss)) {
    std::fprintf(stderr, "precision: the loss is %f, not finite\n", loss);
    return 1;
  }
  std::printf("steps_per_s=%.3f peak_kib=%ld loss=%.4f threads=%d\n", rate, status_kib("VmHWM") - base_kib, loss,
              torch::get_num_threads());
  return 0;
}

// Runs this binary as a child for `mode`; returns its steps/s and peak MiB.
std::array<double, 2> measure(const std::string& mode, int steps, int batch, int threads) {
  const std::string cmd = "/proc/" + std::to_string(getpid()) + "/exe --child " + mode + " --steps " + std::to_string(steps) +
                          " --batch " + std::to_string(batch) + " --threads " + std::to_string(threads);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    std::perror("precision: popen");
    std::exit(1);
  }
  std::array<char, 512> line{};
  std::string out;
  while (std::fgets(line.data(), line.size(), p)) out += line.data();
  const int status = pclose(p);
  double rate = 0;
  long peak = 0;
  if (status != 0 || std::sscanf(out.c_str(), "steps_per_s=%lf peak_kib=%ld", &rate, &peak) != 2) {
    std::fprintf(stderr, "precision: child %s failed (status %d): %s\n", mode.c_str(), status, out.c_str());
    std::exit(1);
  }
  std::printf("%-10s %s", mode.c_str(), out.c_str());
  std::fflush(stdout);
  return {rate, peak / 1024.0};
}

}  // namespace

int main(int argc, char** argv) {
  std::string child_mode;
  int steps = 60, repeats = 5, batch = 64, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--child")) child_mode = argv[i + 1];
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--steps N] [--repeats R] [--batch B] [--threads T]\n", argv[0]);
      return 2;
    }
  }
  if (steps < 1 || repeats < 1 || batch < 1 || threads < 0) {
    std::fprintf(stderr, "precision: --steps, --repeats and --batch must be >= 1, --threads >= 0\n");
    return 2;
  }
  try {
    if (child_mode == "fp32") return child<kiln::FP32>(steps, batch, threads);
    if (child_mode == "bf16_mixed") return child<kiln::BF16Mixed>(steps, batch, threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "precision: %s\n", e.what());
    return 1;
  }
  if (!child_mode.empty()) {
    std::fprintf(stderr, "precision: --child takes fp32 or bf16_mixed, not %s\n", child_mode.c_str());
    return 2;
  }
  std::map<std::string, std::vector<double>> rate, peak;
  const std::array<std::string, 2> modes{"fp32", "bf16_mixed"};
  for (int r = 0; r < repeats; ++r)
    for (int k = 0; k < 2; ++k) {
      const auto& mode = modes[static_cast<std::size_t>((r + k) % 2)];
      const auto [s, m] = measure(mode, steps, batch, threads);
      rate[mode].push_back(s);
      peak[mode].push_back(m);
    }
  const double r32 = median(rate["fp32"]), rbf = median(rate["bf16_mixed"]);
  const double p32 = median(peak["fp32"]), pbf = median(peak["bf16_mixed"]);
  std::printf("RESULT precision fp32_steps_per_s=%.2f bf16_mixed_steps_per_s=%.2f bf16_vs_fp32=%.3f "
              "fp32_peak_mib=%.1f bf16_mixed_peak_mib=%.1f bf16_vs_fp32_peak=%.3f\n",
              r32, rbf, rbf / r32, p32, pbf, pbf / p32);
}
