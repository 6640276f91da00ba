// SPDX-License-Identifier: Apache-2.0
// benchmarks/loggers.cpp — what each logger costs the training loop: steps/s with CSV, TensorBoard and MLflow against none.
// Usage: loggers [--steps N] [--repeats R] [--mlflow URI] [--dir DIR] [--only WAY]
//        (URI default: $MLFLOW_TRACKING_URI; benchmarks/with_mlflow_server.sh PYTHON loggers starts a server)
// Trains 784-64-10 (batch 32, Adam, synthetic data; training_step logs its loss) for N steps with
// log_every_n_steps = 50, four ways interleaved (in a rotating order) in each of R repeats: Trainer<Net, Loggers<>>
// with logging on but no logger (the baseline), Loggers<CsvLogger>, Loggers<TensorBoardLogger>
// and Loggers<MLFlowLogger> to the server at URI. Each fit is
// timed whole: MLflow's run start, and its flush and end, are in it. Prints per-repeat steps/s
// and `RESULT loggers csv_vs_none=<median> tensorboard_vs_none=<median> mlflow_vs_none=<median>`
// (`mlflow_vs_none=skipped` without a URI), then the same ratios of steps per CPU second of
// the training thread (`RESULT loggers_thread_cpu ...`): the loop's own cost, steady where wall
// time on a shared machine is not. `--only none|csv|tensorboard|mlflow` runs one fit of one way
// (for benchmarks/loggers_instructions.sh, which counts instructions under callgrind). Exits 1 if MLflow dropped a value or the ways
// did not take N steps.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <time.h>

#include <fmt/format.h>
#include <torch/torch.h>

#include <kiln/kiln.hpp>
#include <kiln/loggers/mlflow_logger.hpp>

#include "median.hpp"

// Client requests for callgrind (no-ops outside valgrind): with --only, only fit() is counted.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Net() {
    torch::manual_seed(0);
    fc1 = register_module("fc1", torch::nn::Linear(784, 64));
    fc2 = register_module("fc2", torch::nn::Linear(64, 10));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::cross_entropy_loss(fc2(torch::relu(fc1(b.first))), b.second);
    ctx.log("train/loss", loss);
    return loss;
  }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-3));
  }
};

std::filesystem::path g_dir = std::filesystem::temp_directory_path() / "kiln_bench_loggers";
bool g_instrument = false;  // --only: callgrind counts fit() alone

kiln::TrainerConfig config(std::int64_t steps) {
  kiln::TrainerConfig c{.max_steps = steps, .num_sanity_val_steps = 0, .enable_progress_bar = false,
                        .accelerator = "cpu", .num_threads = 1, .tune_host_allocator = false};
  c.log_every_n_steps = 50;
  c.default_root_dir = g_dir;
  return c;
}

/// CPU seconds of the calling thread: the training loop's own work (one thread: LibTorch runs
/// its operators inline), without what other processes and kiln's MLflow sender thread take.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Speed {
  double wall = 0, cpu = 0;  ///< steps per wall-clock second, and per CPU second of the loop's thread
};

/// One fit with `LoggerList` (constructed from `loggers...`).
template <class LoggerList, class... Args>
Speed measure(std::vector<Batch>& data, std::int64_t steps, Args&&... loggers) {
  Net net;
  kiln::Trainer<Net, LoggerList> trainer(config(steps), std::forward<Args>(loggers)...);
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = thread_cpu_s();
#ifdef CALLGRIND_START_INSTRUMENTATION
  if (g_instrument) CALLGRIND_START_INSTRUMENTATION;
#endif
  trainer.fit(net, data);
#ifdef CALLGRIND_STOP_INSTRUMENTATION
  if (g_instrument) CALLGRIND_STOP_INSTRUMENTATION;
#endif
  const double cpu = thread_cpu_s() - c0;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (trainer.state().global_step != steps) {
    std::fprintf(stderr, "loggers: FAIL: %lld steps, expected %lld\n", static_cast<long long>(trainer.state().global_step),
                 static_cast<long long>(steps));
    std::exit(1);
  }
  if constexpr (std::is_same_v<LoggerList, kiln::Loggers<kiln::MLFlowLogger>>) {
    const auto& l = trainer.template logger<kiln::MLFlowLogger>();
    if (l.dropped() != 0 || l.queued() == 0) {
      std::fprintf(stderr, "loggers: FAIL: MLflow dropped %lld of %lld values\n", static_cast<long long>(l.dropped()),
                   static_cast<long long>(l.queued()));
      std::exit(1);
    }
  }
  return {static_cast<double>(steps) / s, static_cast<double>(steps) / cpu};
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t steps = 20000;  // ~10 s a fit here: MLflow's run start and end (~0.25 s) are part of it
  int repeats = 5;
  std::optional<std::string> mlflow, only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    else
    if (!std::strcmp(argv[i], "--steps")) steps = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--mlflow")) mlflow = argv[i + 1];
    else if (!std::strcmp(argv[i], "--dir")) g_dir = argv[i + 1];
    else {
      std::fprintf(stderr, "loggers: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (const char* uri = std::getenv("MLFLOW_TRACKING_URI"); uri && !mlflow) mlflow = uri;  // with_mlflow_server.sh's
  std::filesystem::remove_all(g_dir);
  torch::manual_seed(1);
  std::vector<Batch> data;
  for (int i = 0; i < 100; ++i) data.emplace_back(torch::randn({32, 784}), torch::randint(0, 10, {32}));

  if (only) {  // one way, one fit, for benchmarks/loggers_instructions.sh under callgrind
    g_instrument = true;
    // Everything MLflow gets goes in the final flush: a request every send_every would make the
    // count depend on how slowly valgrind runs.
    auto quiet = kiln::MLFlowLogger::Options{.tracking_uri = mlflow.value_or(""), .experiment_name = "kiln benchmark",
                                             .send_every = std::chrono::hours(1)};
    if (*only == "none") measure<kiln::Loggers<>>(data, steps);
    else if (*only == "csv") measure<kiln::Loggers<kiln::CsvLogger>>(data, steps);
    else if (*only == "tensorboard") measure<kiln::Loggers<kiln::TensorBoardLogger>>(data, steps);
    else if (*only == "mlflow" && mlflow) measure<kiln::Loggers<kiln::MLFlowLogger>>(data, steps, kiln::MLFlowLogger(quiet));
    else {
      std::fprintf(stderr, "loggers: --only takes none, csv, tensorboard or mlflow (with --mlflow URI)\n");
      return 2;
    }
    std::printf("loggers: %s ran %lld steps\n", only->c_str(), static_cast<long long>(steps));
    std::filesystem::remove_all(g_dir);
    return 0;
  }

  // Each repeat runs the ways in a rotated order, so that none of them always follows another
  // (the MLflow server still writes the previous run's last batch while the next way starts).
  const int ways = mlflow ? 4 : 3;
  std::vector<double> wall[4], cpu[4];  // ratios to the baseline, per repeat
  for (int r = 0; r < repeats; ++r) {
    Speed speed[4];
    for (int k = 0; k < ways; ++k) {
      switch (const int way = (r + k) % ways) {
        case 0: speed[way] = measure<kiln::Loggers<>>(data, steps); break;
        case 1: speed[way] = measure<kiln::Loggers<kiln::CsvLogger>>(data, steps); break;
        case 2: speed[way] = measure<kiln::Loggers<kiln::TensorBoardLogger>>(data, steps); break;
        default:
          speed[way] = measure<kiln::Loggers<kiln::MLFlowLogger>>(
              data, steps, kiln::MLFlowLogger({.tracking_uri = *mlflow, .experiment_name = "kiln benchmark"}));
      }
    }
    std::printf("repeat %d: steps/s (per CPU second of the loop's thread)", r);
    const char* names[] = {"none", "csv", "tensorboard", "mlflow"};
    for (int w = 0; w < ways; ++w) {
      std::printf(" %s %.0f (%.0f)", names[w], speed[w].wall, speed[w].cpu);
      wall[w].push_back(speed[w].wall / speed[0].wall);
      cpu[w].push_back(speed[w].cpu / speed[0].cpu);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  auto result = [&](const char* what, std::vector<double>* ratios) {
    const std::string m = mlflow ? fmt::format("{:.3f}", kiln_bench::median(ratios[3])) : "skipped";
    std::printf("RESULT %s csv_vs_none=%.3f tensorboard_vs_none=%.3f mlflow_vs_none=%s\n", what,
                kiln_bench::median(ratios[1]), kiln_bench::median(ratios[2]), m.c_str());
  };
  result("loggers", wall);
  result("loggers_thread_cpu", cpu);
  std::filesystem::remove_all(g_dir);
  return 0;
}
