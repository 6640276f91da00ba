// SPDX-License-Identifier: Apache-2.0
// kiln/tuner/batch_size_scaler.hpp — scale_batch_size: Lightning's power and binsearch batch-size search, to out-of-memory or a memory cap.
#pragma once
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <malloc.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/tuner/detail/trial.hpp>

namespace kiln {

struct ScaleBatchSizeOptions {
  enum class Mode { power, binsearch } mode = Mode::power;
  std::int64_t steps_per_trial = 3;
  std::int64_t init_val = 2;
  std::int64_t max_trials = 25;
  /// On the CPU, where nothing runs out of memory before the machine does: a trial whose peak
  /// resident memory (the process's, Linux's VmHWM) exceeds this many bytes counts as out of memory.
  std::optional<std::uint64_t> max_memory;
};

struct BatchSizeTrial {
  std::int64_t batch_size = 0;
  bool fits = false;
  std::uint64_t peak_memory = 0;  ///< the process's peak resident bytes during the trial (0 when not measured)
};

struct ScaleBatchSizeResult {
  std::int64_t batch_size = 0;  ///< the largest batch size that fit (0: none did)
  std::vector<BatchSizeTrial> trials;
};

namespace detail {

/// The process's resident memory: its peak since the last reset (VmHWM), and the reset (writing
/// 5 to /proc/self/clear_refs, Linux >= 4.0).
struct PeakResidentMemory {
  static std::uint64_t peak() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "VmHWM:   1234 kB"
    throw Error("kiln: scale_batch_size: /proc/self/status has no VmHWM, which max_memory needs (Linux)");
  }
  static void reset() {
    ::malloc_trim(0);  // memory freed by earlier trials, kept by malloc, must not count
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    if (!out.good()) throw Error("kiln: scale_batch_size: cannot reset the peak memory (/proc/self/clear_refs), which max_memory needs");
  }
};

inline bool is_out_of_memory(const std::exception& e) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&e)) return true;
  return std::string(e.what()).find("out of memory") != std::string::npos;  // also CUDA's "CUDA error: out of memory"
}

}  // namespace detail

/// Lightning's batch-size finder (Tuner.scale_batch_size): trains `steps_per_trial` steps on
/// `make_data(batch_size)` for growing batch sizes from init_val. `power` doubles the size until a
/// trial runs out of memory; `binsearch` then bisects between the last size that fit and the
/// first that did not. Out of memory is LibTorch's (a CUDA allocation failing, caught and
/// recovered from) or, with `max_memory`, a trial whose peak resident memory exceeds it. The
/// trainer gives the options, strategy and precision; each trial starts from the module's
/// weights as they were, and afterwards the weights, buffers and generators are as before.
template <class TrainerT, class Module, class MakeData>
ScaleBatchSizeResult scale_batch_size(TrainerT& trainer, Module& module, MakeData&& make_data, ScaleBatchSizeOptions o = {}) {
  if (o.init_val < 1 || o.steps_per_trial < 1 || o.max_trials < 1)
    throw Error(fmt::format("kiln: scale_batch_size needs init_val, steps_per_trial and max_trials >= 1 (got {}, {}, {})",
                            o.init_val, o.steps_per_trial, o.max_trials));
  detail::SavedTunerState<Module> saved(module);
  ScaleBatchSizeResult result;
  const auto trial = [&](std::int64_t batch_size) {
    saved.restore();  // every trial starts from the same weights
    BatchSizeTrial t{batch_size, true, 0};
    if (o.max_memory) detail::PeakResidentMemory::reset();
    try {
      detail::TrialTrainer<TrainerT> run(detail::trial_config(trainer.config(), o.steps_per_trial));
      auto data = make_data(batch_size);
      run.fit(module, data);
    } catch (const std::exception& e) {
      if (!detail::is_out_of_memory(e)) throw;
      t.fits = false;
    }
    if (o.max_memory) {
      t.peak_memory = detail::PeakResidentMemory::peak();
      t.fits = t.fits && t.peak_memory <= *o.max_memory;
    }
    result.trials.push_back(t);
    if (t.fits && batch_size > result.batch_size) result.batch_size = batch_size;
    return t.fits;
  };
  std::int64_t size = o.init_val, low = 0, high = 0;  // high: the smallest size known not to fit (0: none yet)
  for (std::int64_t n = 0; n < o.max_trials; ++n) {
    if (trial(size)) {
      low = size;
      if (high == 0) size *= 2;
      else if (high - low <= 1) break;
      else size = (low + high) / 2;
    } else {
      high = size;
      if (o.mode == ScaleBatchSizeOptions::Mode::power || high - low <= 1) break;
      size = (low + high) / 2;
      if (size < 1) break;
    }
  }
  return result;
}

}  // namespace kiln
