// SPDX-License-Identifier: Apache-2.0
// kiln/core/logging.hpp — the vocabulary of logging: options, reductions, metric maps, metric references.
#pragma once
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

namespace kiln {

/// How a fit/validate/test/predict call ended, as loggers that track runs record it
/// (Logger::finalize): done, stopped by an error, or stopped by a preemption signal.
enum class RunStatus { finished, failed, killed };

/// How values logged on_epoch are reduced over the epoch.
enum class Reduce { mean, sum, max, min };

/// Options of StepContext::log, named as Lightning's self.log. Unset on_step/on_epoch take the
/// stage's default: on_step in training, on_epoch in validation and test.
struct LogOptions {
  std::optional<bool> on_step;
  std::optional<bool> on_epoch;
  bool prog_bar = false;
  Reduce reduce = Reduce::mean;
  bool sync_dist = false;  ///< reduce over ranks (a no-op on one process)
  /// The value's weight in an on_epoch mean (Lightning's batch_size): default, the size of the
  /// step's batch (first dimension of its first tensor), so a short last batch counts for what
  /// it holds and the epoch mean of per-batch means is the mean over samples.
  std::optional<std::int64_t> batch_size;
};

/// A metric's states by name (kiln::metrics' state_dict).
using StateMap = std::map<std::string, at::Tensor>;

/// A metric object logged from a step (kiln::metrics), seen through plain function pointers so
/// core does not depend on metrics/: compute (synced), reset, and the last forward value.
struct MetricRef {
  void* obj = nullptr;
  at::Tensor (*compute)(void*) = nullptr;
  void (*reset)(void*) = nullptr;
  at::Tensor (*forward_cache)(void*) = nullptr;
  StateMap (*state_dict)(void*) = nullptr;
  void (*merge_state_dict)(void*, const StateMap&) = nullptr;

  template <class M>
  static MetricRef of(M& m) {
    MetricRef r;
    r.obj = &m;
    r.compute = [](void* p) { return at::Tensor(static_cast<M*>(p)->compute()); };
    r.reset = [](void* p) { static_cast<M*>(p)->reset(); };
    if constexpr (requires { { m.forward_cache() } -> std::convertible_to<at::Tensor>; })
      r.forward_cache = [](void* p) { return at::Tensor(static_cast<M*>(p)->forward_cache()); };
    if constexpr (requires(const StateMap& s) { m.merge_state_dict(s); StateMap(m.state_dict()); }) {
      r.state_dict = [](void* p) { return StateMap(static_cast<M*>(p)->state_dict()); };
      r.merge_state_dict = [](void* p, const StateMap& s) { static_cast<M*>(p)->merge_state_dict(s); };
    }
    return r;
  }
};

/// Metric name → value, as loggers and callbacks receive them.
using MetricMap = std::map<std::string, double, std::less<>>;

}  // namespace kiln
