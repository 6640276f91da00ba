// SPDX-License-Identifier: Apache-2.0
// kiln/core/config.hpp — TrainerConfig: the runtime options, with Lightning's names and defaults.
#pragma once
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/linkage.hpp>

namespace kiln {

/// A batch count (integer) or a fraction of the data (floating point), as Lightning's
/// `limit_*_batches` and `val_check_interval` take.
struct BatchLimit {
  double value = 1.0;
  bool is_fraction = true;

  constexpr BatchLimit(std::integral auto batches)  // NOLINT: implicit on purpose
      : value(static_cast<double>(batches)), is_fraction(false) {}
  constexpr BatchLimit(std::floating_point auto fraction)  // NOLINT: implicit on purpose
      : value(static_cast<double>(fraction)), is_fraction(true) {}

  /// True for the default 1.0: all batches.
  constexpr bool is_all() const { return is_fraction && value == 1.0; }

  /// The number of batches this limit allows for data of `size` batches (nullopt: unknown size,
  /// -1 in the result: no limit). A fraction of data of unknown size is an error naming `option`.
  std::int64_t resolve(std::optional<std::int64_t> size, std::string_view option) const {
    if (!is_fraction) return size ? std::min<std::int64_t>(*size, std::int64_t(value)) : std::int64_t(value);
    if (is_all()) return size ? *size : -1;
    if (!size)
      throw Error(fmt::format("kiln: {}={} is a fraction, but the data does not know its size; "
                              "give a batch count instead",
                              option, value));
    const auto n = static_cast<std::int64_t>(value * static_cast<double>(*size));
    if (n == 0 && value > 0 && *size > 0)
      throw Error(fmt::format("kiln: {}={} of {} batches is less than one batch; raise it or give a "
                              "batch count", option, value, *size));
    return n;
  }
};

/// How gradient_clip_val is applied (Lightning's gradient_clip_algorithm).
enum class GradClipAlgorithm { norm, value };

/// Runtime options of a Trainer, one X(type, name, default, description) per field: the table
/// defines TrainerConfig, its inline form in the Trainer's constructor call
/// (trainer/inline_config.hpp) and the descriptions a command line can show. Names, meanings and
/// defaults follow Lightning's Trainer.
#define KILN_TRAINER_CONFIG_FIELDS(X)                                                             \
  X(std::int64_t, max_epochs, -1, "epochs to train; -1: 1000, or unlimited when max_steps is set") \
  X(std::int64_t, max_steps, -1, "optimizer steps to train; -1: no limit")                        \
  X(BatchLimit, limit_train_batches, 1.0, "training batches per epoch: a count, or a fraction")   \
  X(BatchLimit, limit_val_batches, 1.0, "validation batches: a count, or a fraction")             \
  X(BatchLimit, limit_test_batches, 1.0, "test batches: a count, or a fraction")                  \
  X(BatchLimit, limit_predict_batches, 1.0, "predict batches: a count, or a fraction")            \
  X(BatchLimit, val_check_interval, 1.0,                                                          \
    "validate every N training batches (a count) or fraction of an epoch")                        \
  X(std::int64_t, check_val_every_n_epoch, 1, "validate after every N-th epoch")                   \
  X(std::int64_t, num_sanity_val_steps, 2,                                                        \
    "validation batches run before training; -1: the whole validation data")                      \
  X(std::int64_t, accumulate_grad_batches, 1, "batches whose gradients add up to one step")       \
  X(std::optional<double>, gradient_clip_val, std::nullopt, "clip gradients at this norm/value")  \
  X(GradClipAlgorithm, gradient_clip_algorithm, GradClipAlgorithm::norm,                          \
    "how gradient_clip_val clips: norm or value")                                                 \
  X(std::int64_t, log_every_n_steps, 50, "log training metrics every N steps")                    \
  X(std::int64_t, fast_dev_run, 0, "N > 0 (or true): N batches of each loop, no loggers")         \
  X(std::optional<std::uint64_t>, seed, std::nullopt,                                             \
    "seed torch and kiln's generators at the start of every fit, validate, test and predict")     \
  X(bool, deterministic, false, "use deterministic algorithms only")                              \
  X(std::filesystem::path, default_root_dir, ".", "where logs and checkpoints go")                \
  X(bool, enable_progress_bar, true, "show a progress bar")                                       \
  X(bool, logger, true, "false turns every logger off")                                           \
  X(std::string, accelerator, "auto", "\"cpu\", \"cuda\" or \"auto\"")                            \
  X(std::int64_t, devices, 1, "devices (ranks) to train on")                                      \
  X(std::optional<int>, num_threads, std::nullopt, "LibTorch's intra- and inter-op threads")      \
  X(bool, tune_host_allocator, true, "keep freed host memory for reuse")                          \
  X(bool, cpu_channels_last, true, "on CPU, store Conv2d weights channels-last")                  \
  X(bool, handle_preemption_signals, true,                                                        \
    "on SIGTERM or SIGUSR1 during fit, write last.pt and stop")                                   \
  X(bool, exit_on_preemption, true, "after the preemption checkpoint, exit the process")

/// Runtime options of a Trainer (the fields of KILN_TRAINER_CONFIG_FIELDS). More on some:
/// - seed: a module or loader built before fit draws from LibTorch's default generator, which is
///   seeded differently in every process: call kiln::seed_everything(seed) before building them
///   too, as Lightning's seed_everything is called first.
/// - num_threads: default kiln::default_num_threads() — KILN_NUM_THREADS, else OMP_NUM_THREADS,
///   else the usable cores divided among the processes of this node (util/threads.hpp).
/// - tune_host_allocator: kiln::tune_host_allocator (util/host_allocator.hpp); false, or the
///   environment variable KILN_HOST_ALLOCATOR=system, leaves glibc's malloc as it is.
/// - cpu_channels_last: convolutions take oneDNN's faster path
///   (strategy/detail/channels_last.hpp); false keeps LibTorch's default layout.
/// - handle_preemption_signals: a scheduler's preemption (SLURM sends SIGUSR1 before it kills a
///   job): the run finishes its optimizer step, writes <checkpoint dir>/last.pt and exits with
///   kiln::preempted_exit_code (util/preemption.hpp). false leaves signals alone.
/// - exit_on_preemption: false returns from fit() with state().stop_reason naming the signal and
///   the file.
struct TrainerConfig {
#define KILN_CONFIG_MEMBER(type, name, init, description) type name = init;
  KILN_TRAINER_CONFIG_FIELDS(KILN_CONFIG_MEMBER)
#undef KILN_CONFIG_MEMBER
};

/// Options of one fit() call (Lightning's `fit(..., ckpt_path=...)`).
struct FitOptions {
  /// Resume from this checkpoint (Trainer::save_checkpoint's, or ModelCheckpoint's): a path, or
  /// "last" / "best" for the listed ModelCheckpoint's last or best file.
  std::optional<std::filesystem::path> ckpt_path;
  /// false: load the module's parameters that match by name and shape, report the rest.
  bool strict = true;
};

/// Throws kiln::Error naming the first option of `c` that is out of range.
KILN_DECL void validate(const TrainerConfig& c);

/// The options fast_dev_run implies (Lightning: N batches of every loop, one epoch, no sanity
/// check, no loggers); other configs are returned unchanged.
KILN_DECL TrainerConfig effective(TrainerConfig c);

}  // namespace kiln

#if KILN_DEFINITIONS
namespace kiln {

KILN_DECL void validate(const TrainerConfig& c) {
  auto need = [](bool ok, std::string_view key, auto got, std::string_view rule) {
    if (!ok) throw Error(fmt::format("kiln: TrainerConfig.{} must be {} (got {})", key, rule, got));
  };
  need(c.max_epochs >= -1, "max_epochs", c.max_epochs, ">= 0, or -1");
  need(c.max_steps >= -1, "max_steps", c.max_steps, ">= 0, or -1");
  need(c.check_val_every_n_epoch >= 1, "check_val_every_n_epoch", c.check_val_every_n_epoch, ">= 1");
  need(c.num_sanity_val_steps >= -1, "num_sanity_val_steps", c.num_sanity_val_steps, ">= -1");
  need(c.accumulate_grad_batches >= 1, "accumulate_grad_batches", c.accumulate_grad_batches, ">= 1");
  need(c.log_every_n_steps >= 1, "log_every_n_steps", c.log_every_n_steps, ">= 1");
  need(c.fast_dev_run >= 0, "fast_dev_run", c.fast_dev_run, ">= 0");
  need(c.devices >= 1, "devices", c.devices, ">= 1");
  need(!c.num_threads || *c.num_threads >= 1, "num_threads", c.num_threads.value_or(0), ">= 1");
  need(!c.gradient_clip_val || *c.gradient_clip_val >= 0, "gradient_clip_val",
       c.gradient_clip_val.value_or(0), ">= 0");
  auto limit_ok = [&](const BatchLimit& l, std::string_view key) {
    need(l.value >= 0 && (!l.is_fraction || l.value <= 1.0), key, l.value,
         "a batch count >= 0 or a fraction in [0, 1]");
  };
  limit_ok(c.limit_train_batches, "limit_train_batches");
  limit_ok(c.limit_val_batches, "limit_val_batches");
  limit_ok(c.limit_test_batches, "limit_test_batches");
  limit_ok(c.limit_predict_batches, "limit_predict_batches");
  need(c.val_check_interval.value > 0 && (!c.val_check_interval.is_fraction || c.val_check_interval.value <= 1.0),
       "val_check_interval", c.val_check_interval.value, "a batch count >= 1 or a fraction in (0, 1]");
  need(c.accelerator == "cpu" || c.accelerator == "cuda" || c.accelerator == "auto", "accelerator",
       c.accelerator, "\"cpu\", \"cuda\" or \"auto\"");
}

KILN_DECL TrainerConfig effective(TrainerConfig c) {
  if (c.max_epochs == -1) c.max_epochs = c.max_steps == -1 ? 1000 : -1;
  if (c.fast_dev_run > 0) {
    const auto n = c.fast_dev_run;
    c.max_epochs = 1;
    c.max_steps = n;
    c.limit_train_batches = n;
    c.limit_val_batches = n;
    c.limit_test_batches = n;
    c.limit_predict_batches = n;
    c.val_check_interval = 1.0;
    c.check_val_every_n_epoch = 1;
    c.num_sanity_val_steps = 0;
    c.log_every_n_steps = 1;
    c.logger = false;
  }
  return c;
}

}  // namespace kiln
#endif  // KILN_DEFINITIONS
