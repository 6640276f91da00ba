// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/grad_accumulation_scheduler.hpp — GradientAccumulationScheduler: accumulate_grad_batches by epoch.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <map>
#include <utility>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>

namespace kiln {

/// Changes accumulate_grad_batches at the start of epochs (Lightning's
/// GradientAccumulationScheduler): `{{0, 8}, {4, 4}, {8, 1}}` accumulates 8 batches in
/// epochs 0-3, 4 in epochs 4-7 and 1 after; epochs before the first key use 1. Needs automatic
/// optimization and the Trainer's own accumulate_grad_batches left at 1.
class GradientAccumulationScheduler {
 public:
  /// {epoch, factor} pairs. (An initializer list rather than a std::map: `({{0, 4}})` with a
  /// std::map parameter is ambiguous with the move constructor.)
  explicit GradientAccumulationScheduler(std::initializer_list<std::pair<const std::int64_t, std::int64_t>> scheduling)
      : sched_(scheduling) {
    if (sched_.empty()) throw Error("kiln: GradientAccumulationScheduler needs at least one {epoch, factor} pair");
    for (const auto& [epoch, factor] : sched_) {
      if (epoch < 0) throw Error(fmt::format("kiln: GradientAccumulationScheduler: epoch {} is negative", epoch));
      if (factor < 1)
        throw Error(fmt::format("kiln: GradientAccumulationScheduler: the factor for epoch {} must be >= 1 (got {})", epoch, factor));
    }
  }

  /// The factor for `epoch`.
  std::int64_t factor(std::int64_t epoch) const {
    auto it = sched_.upper_bound(epoch);
    return it == sched_.begin() ? 1 : std::prev(it)->second;
  }

  template <class T>
  void on(const event::fit_start&, T& t) {
    if constexpr (!T::automatic_optimization)
      throw Error("kiln: GradientAccumulationScheduler needs automatic optimization; this module steps its optimizers itself");
    if (t.config().accumulate_grad_batches != 1 && t.config().accumulate_grad_batches != set_)
      throw Error(fmt::format("kiln: GradientAccumulationScheduler and accumulate_grad_batches={} were both given; "
                              "leave accumulate_grad_batches at 1", t.config().accumulate_grad_batches));
  }
  template <class T>
  void on(const event::train_epoch_start&, T& t) {
    set_ = factor(t.state().epoch);
    t.set_accumulate_grad_batches(set_);
  }

 private:
  std::map<std::int64_t, std::int64_t> sched_;
  std::int64_t set_ = 1;  ///< what this callback last set (a second fit() sees it in the config)
};

}  // namespace kiln
