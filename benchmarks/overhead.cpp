// SPDX-License-Identifier: Apache-2.0
// benchmarks/overhead.cpp — Trainer overhead: steps/s of a tiny MLP against a hand-written LibTorch loop.
// Trains 784-64-10 (batch 32, Adam, synthetic data) for --steps steps three ways, interleaved in
// each of --repeats repeats: (a) a hand-written loop, (b) Trainer<Net, Loggers<>> with the
// progress bar off, (c) (b) plus 20 callbacks that handle no batch event. All three must end
// with bit-identical weights (else exit 1). Prints per-repeat steps/s and
// `RESULT overhead trainer_vs_raw=<median b/a> callbacks_vs_raw=<median c/a>`; then (d) (b) with
// Profiler<Simple> (every phase and handler timed), interleaved with (b) in the same way:
// `RESULT overhead_profiler simple_vs_none=<median d/b>`.
// `--only raw|trainer|callbacks` (or a|b|c) runs one way alone and prints a hash of its final
// weights, so runs in separate processes (benchmarks/overhead_instructions.sh, under callgrind)
// can still be checked to end with identical weights.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <time.h>

#include <torch/torch.h>

#include <kiln/kiln.hpp>
#include <kiln/loggers/detail/crc32c.hpp>

#include "median.hpp"

// Client requests for callgrind (no-ops outside valgrind): with --only, only the measured run is
// instrumented, because instrumenting LibTorch's start-up as well takes ~90 s a run here.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif

using kiln_bench::median;

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;
constexpr double kLr = 1e-3;

struct Net : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Net() {
    fc1 = register_module("fc1", torch::nn::Linear(784, 64));
    fc2 = register_module("fc2", torch::nn::Linear(64, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }

  torch::Tensor training_step(const Batch& b, kiln::StepContext&) {
    return torch::cross_entropy_loss(forward(b.first), b.second);  // logs nothing
  }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(kLr));
  }
};

/// A callback with a handler for fit_start only; Idle<I> for distinct I are distinct types.
template <int I>
struct Idle {
  template <class T>
  void on(const kiln::event::fit_start&, T&) { ++calls; }
  int calls = 0;
};
template <class Seq>
struct idle_callbacks;
template <int... I>
struct idle_callbacks<std::integer_sequence<int, I...>> {
  using type = kiln::Callbacks<Idle<I>...>;
};
constexpr int kCallbacks = 20;
using TwentyIdle = idle_callbacks<std::make_integer_sequence<int, kCallbacks>>::type;

using Clock = std::chrono::steady_clock;

/// Wall time (steady_clock, the figure reported) and this process's CPU time (less sensitive to
/// other jobs on a shared machine), from construction to stop().
struct Timer {
  Clock::time_point wall0 = Clock::now();
  double cpu0 = cpu_now();
  static double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  std::pair<double, double> stop() const {
    return {std::chrono::duration<double>(Clock::now() - wall0).count(), cpu_now() - cpu0};
  }
};

/// A fresh Net holding `init`'s weights.
std::shared_ptr<Net> clone_of(Net& init) {
  auto net = std::make_shared<Net>();
  torch::NoGradGuard no_grad;
  auto src = init.parameters(), dst = net->parameters();
  for (std::size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  return net;
}

int g_threads = 1;  // --threads: the raw loop and the Trainer must run with the same count

// The allocator is left as the environment says, so all three ways run under the same malloc
// settings (kiln's tuning is process-wide and would change the raw loop's runs after it).
kiln::TrainerConfig config() {
  return {.max_epochs = 1, .num_sanity_val_steps = 0, .enable_progress_bar = false,
          .logger = false, .accelerator = "cpu", .num_threads = g_threads, .tune_host_allocator = false};
}

struct Run {
  double seconds = 0, cpu_seconds = 0;
  std::shared_ptr<Net> net;
};

/// (a) The bar: forward, cross_entropy, backward, Adam step, zero the gradients.
Run run_raw(Net& init, const std::vector<Batch>& data, bool set_to_none) {
  Run r{0, 0, clone_of(init)};
  Net& net = *r.net;
  const Timer timer;
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(kLr));
  net.train();
  for (const auto& b : data) {
    auto loss = torch::cross_entropy_loss(net.forward(b.first), b.second);
    loss.backward();
    opt.step();
    if (set_to_none) kiln::compat::zero_grad_to_none(opt);
    else opt.zero_grad();  // LibTorch 1.13: fills zeros
  }
  std::tie(r.seconds, r.cpu_seconds) = timer.stop();
  return r;
}

/// (b), (c) and (d): Trainer::fit over the same batches, one epoch.
template <class... Policies, class... Args>
Run run_trainer(Net& init, std::vector<Batch>& data, Args&&... args) {
  Run r{0, 0, clone_of(init)};
  kiln::Trainer<Net, kiln::Loggers<>, Policies...> trainer(config(), std::forward<Args>(args)...);
  const Timer timer;
  trainer.fit(*r.net, data);
  std::tie(r.seconds, r.cpu_seconds) = timer.stop();
  if (trainer.state().global_step != static_cast<std::int64_t>(data.size())) {
    std::fprintf(stderr, "overhead: the Trainer took %lld steps, expected %zu\n",
                 static_cast<long long>(trainer.state().global_step), data.size());
    std::exit(1);
  }
  if constexpr ((std::is_same_v<Policies, TwentyIdle> || ...)) {
    // The callbacks are really there: each saw fit_start once.
    if (trainer.template callback<Idle<0>>().calls != 1 ||
        trainer.template callback<Idle<kCallbacks - 1>>().calls != 1) {
      std::fprintf(stderr, "overhead: the idle callbacks did not receive fit_start\n");
      std::exit(1);
    }
  }
  return r;
}

/// Exits 1 naming the first parameter where `got` differs from `want`.
void require_identical(const Net& want, const Net& got, const char* way) {
  auto w = want.named_parameters(), g = got.named_parameters();
  for (auto& item : w) {
    const auto& other = g[item.key()];
    if (!torch::equal(item.value(), other)) {
      const double diff = (item.value() - other).abs().max().item<double>();
      std::fprintf(stderr, "overhead: FAIL: %s ends with different weights than the raw loop: %s "
                   "(max |diff| = %g)\n", way, item.key().c_str(), diff);
      std::exit(1);
    }
  }
}

#ifdef CALLGRIND_START_INSTRUMENTATION
constexpr bool kCallgrindMarks = true;
#else
constexpr bool kCallgrindMarks = false;
#endif

/// Turns callgrind's instrumentation on or off (nothing when built without valgrind's header).
void instrument(bool on) {
  if constexpr (kCallgrindMarks) {
#ifdef CALLGRIND_START_INSTRUMENTATION
    if (on) CALLGRIND_START_INSTRUMENTATION;
    else CALLGRIND_STOP_INSTRUMENTATION;
#endif
  }
  (void)on;
}

/// kiln's CRC-32C over the bytes of every parameter, in registration order: equal hashes from
/// two processes mean identical weights (as require_identical checks within one process).
std::uint32_t weights_hash(const Net& net) {
  std::uint32_t h = 0;
  for (const auto& p : net.parameters()) {
    const torch::Tensor t = p.detach().contiguous();
    h = kiln::detail::crc32c({static_cast<const char*>(t.data_ptr()), t.nbytes()}, h);
  }
  return h;
}

struct Options {
  long steps = 3000;
  int repeats = 5;
  int threads = 1;
  bool raw_set_to_none = false;
  char only = 0;  ///< 'a', 'b' or 'c': run only that way (for perf/strace/callgrind), no ratios
  long warmup = 300;  ///< unmeasured steps of each way run first (capped at --steps)
};

Options parse(int argc, char** argv) {
  Options o;
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s [--steps N] [--repeats R] [--threads T] [--raw-zero-grad fill|none]"
                 " [--only raw|trainer|callbacks] [--warmup N]\n",
                 argv[0]);
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--steps") && has_value) o.steps = std::atol(argv[++i]);
    else if (!std::strcmp(argv[i], "--repeats") && has_value) o.repeats = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && has_value) o.threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--raw-zero-grad") && has_value) {
      const std::string v = argv[++i];
      if (v != "fill" && v != "none") usage();
      o.raw_set_to_none = v == "none";
    } else if (!std::strcmp(argv[i], "--only") && has_value) {
      const std::string v = argv[++i];
      if (v == "a" || v == "raw") o.only = 'a';
      else if (v == "b" || v == "trainer") o.only = 'b';
      else if (v == "c" || v == "callbacks") o.only = 'c';
      else usage();
    } else if (!std::strcmp(argv[i], "--warmup") && has_value) o.warmup = std::atol(argv[++i]);
    else usage();
  }
  if (o.steps < 1 || o.repeats < 1 || o.threads < 1 || o.warmup < 0) usage();
  return o;
}

/// `steps` batches cycling through a pool of 256 distinct ones (bounded memory). The pool has 256
/// batches whatever `steps` is, so runs of different lengths differ only in the steps taken
/// (overhead_instructions.sh subtracts a shorter run's instruction count from a longer one's).
std::vector<Batch> make_data(long steps) {
  std::vector<Batch> pool;
  for (long i = 0; i < 256; ++i)
    pool.emplace_back(torch::randn({32, 784}), torch::randint(0, 10, {32}, torch::kLong));
  std::vector<Batch> data;
  data.reserve(static_cast<std::size_t>(steps));
  for (long i = 0; i < steps; ++i) data.push_back(pool[static_cast<std::size_t>(i) % pool.size()]);
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  g_threads = opt.threads;
  torch::set_num_threads(opt.threads);
  torch::manual_seed(0);
  Net init;
  auto data = make_data(opt.steps);
  const char* mmap_max = std::getenv("MALLOC_MMAP_MAX_");
  std::printf("overhead: MLP 784-64-10, batch 32, Adam, %ld steps, %d repeats, %d thread(s), raw "
              "zero_grad=%s, MALLOC_MMAP_MAX_=%s\n",
              opt.steps, opt.repeats, opt.threads, opt.raw_set_to_none ? "none" : "fill",
              mmap_max ? mmap_max : "(unset)");

  // Warm-up (not measured): first-touch allocations, OpenBLAS buffers, lazy initialisation.
  // With --only, only that way warms up, so a profile of it holds no work of the other two.
  if (opt.warmup > 0) {
    std::vector<Batch> warm(data.begin(), data.begin() + std::min(opt.steps, opt.warmup));
    if (!opt.only || opt.only == 'a') run_raw(init, warm, opt.raw_set_to_none);
    if (!opt.only || opt.only == 'b') run_trainer<>(init, warm);
    if (!opt.only || opt.only == 'c') run_trainer<TwentyIdle>(init, warm);
  }

  if (opt.only) {  // one way alone, for profilers; prints steps/s and its final weights' hash
    // overhead_instructions.sh reads this to know whether it may start callgrind uninstrumented.
    std::printf("callgrind_marks=%d\n", kCallgrindMarks ? 1 : 0);
    for (int r = 0; r < opt.repeats; ++r) {
      instrument(true);
      const Run run = opt.only == 'a'   ? run_raw(init, data, opt.raw_set_to_none)
                      : opt.only == 'b' ? run_trainer<>(init, data)
                                        : run_trainer<TwentyIdle>(init, data);
      instrument(false);
      std::printf("only %c, repeat %d: %.1f steps/s (%.3f s wall, %.3f s CPU) weights_hash=%08x\n",
                  opt.only, r + 1, double(opt.steps) / run.seconds, run.seconds, run.cpu_seconds,
                  static_cast<unsigned>(weights_hash(*run.net)));
    }
    return 0;
  }

  std::vector<double> trainer_ratio, callbacks_ratio, trainer_cpu, callbacks_cpu, rate[3];
  for (int r = 0; r < opt.repeats; ++r) {
    Run runs[3];
    for (int k = 0; k < 3; ++k) {  // rotate the order so no way always runs first
      switch ((k + r) % 3) {
        case 0: runs[0] = run_raw(init, data, opt.raw_set_to_none); break;
        case 1: runs[1] = run_trainer<>(init, data); break;
        case 2: runs[2] = run_trainer<TwentyIdle>(init, data); break;
      }
    }
    require_identical(*runs[0].net, *runs[1].net, "Trainer");
    require_identical(*runs[0].net, *runs[2].net, "Trainer+20 callbacks");
    const double n = static_cast<double>(opt.steps);
    const double a = n / runs[0].seconds, b = n / runs[1].seconds, c = n / runs[2].seconds;
    rate[0].push_back(a);
    rate[1].push_back(b);
    rate[2].push_back(c);
    trainer_ratio.push_back(b / a);
    callbacks_ratio.push_back(c / a);
    trainer_cpu.push_back(runs[0].cpu_seconds / runs[1].cpu_seconds);
    callbacks_cpu.push_back(runs[0].cpu_seconds / runs[2].cpu_seconds);
    std::printf("repeat %d: raw=%.1f trainer=%.1f callbacks=%.1f steps/s  (b/a=%.3f c/a=%.3f; "
                "by CPU time b/a=%.3f c/a=%.3f)\n",
                r + 1, a, b, c, b / a, c / a, trainer_cpu.back(), callbacks_cpu.back());
    std::fflush(stdout);
  }
  std::printf("weights: bit-identical in all three ways\n");
  std::printf("median steps/s: raw=%.1f trainer=%.1f callbacks=%.1f\n", median(rate[0]), median(rate[1]),
              median(rate[2]));
  std::printf("cpu-time medians: trainer_vs_raw=%.3f callbacks_vs_raw=%.3f\n", median(trainer_cpu),
              median(callbacks_cpu));
  std::printf("RESULT overhead trainer_vs_raw=%.3f callbacks_vs_raw=%.3f\n", median(trainer_ratio),
              median(callbacks_ratio));
  std::fflush(stdout);

  // (d) against (b): the Simple profiler's cost, its table kept off stdout.
  const kiln::Simple simple{.dirpath = std::filesystem::temp_directory_path() / "kiln_overhead_profiler", .print = false};
  std::vector<double> profiler_ratio;
  for (int r = 0; r < opt.repeats; ++r) {
    Run plain, profiled;
    for (int k = 0; k < 2; ++k) {
      if ((k + r) % 2 == 0) plain = run_trainer<>(init, data);
      else profiled = run_trainer<kiln::Profiler<kiln::Simple>>(init, data, simple);
    }
    require_identical(*plain.net, *profiled.net, "Trainer+Profiler<Simple>");
    profiler_ratio.push_back(plain.seconds / profiled.seconds);
    std::printf("repeat %d: trainer=%.1f trainer+simple profiler=%.1f steps/s (d/b=%.3f)\n", r + 1,
                double(opt.steps) / plain.seconds, double(opt.steps) / profiled.seconds, profiler_ratio.back());
    std::fflush(stdout);
  }
  std::printf("RESULT overhead_profiler simple_vs_none=%.3f\n", median(profiler_ratio));
}
