// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/weight_histograms.hpp — WeightHistograms: TensorBoard histograms of every parameter and its gradient every N steps.
#pragma once
#include <cstdint>
#include <string>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/loggers/tensorboard_logger.hpp>

namespace kiln {

/// Writes a histogram of each parameter (`weights/<name>`) and of its gradient
/// (`gradients/<name>`) to the Trainer's TensorBoardLogger every `every_n_steps` optimizer steps,
/// at the step the scalars of that step carry. Read just before the first optimizer's step, so
/// the gradients are those it applies (unscaled under mixed precision). Global rank 0 only.
class WeightHistograms {
 public:
  struct Options {
    std::int64_t every_n_steps = 100;
    bool weights = true;
    bool gradients = true;
    std::int64_t bins = 30;
  };
  WeightHistograms() = default;
  explicit WeightHistograms(Options o) : opt_(o) {
    if (opt_.every_n_steps < 1)
      throw Error(fmt::format("kiln: WeightHistograms: every_n_steps must be >= 1 (got {})", opt_.every_n_steps));
  }

  /// Checked when the Trainer type is made.
  template <class T>
  static constexpr bool check_trainer() {
    static_assert(detail::in_tuple<TensorBoardLogger, typename T::loggers_type>,
                  "kiln: WeightHistograms writes to a TensorBoardLogger: add kiln::TensorBoardLogger to Loggers<...>.");
    return true;
  }

  template <class T>
  void on(const event::before_optimizer_step& e, T& t) {
    if constexpr (detail::in_tuple<TensorBoardLogger, typename T::loggers_type>) {  // else check_trainer() said so
      const std::int64_t step = t.state().global_step + 1;  // the step this optimizer step completes
      if (e.optimizer_idx != 0 || step % opt_.every_n_steps != 0 || !t.is_global_zero() || !t.config().logger ||
          t.config().fast_dev_run != 0 || t.module() == nullptr)
        return;
      auto& logger = t.template logger<TensorBoardLogger>();
      for (const auto& p : t.module()->named_parameters()) {
        if (opt_.weights) logger.log_histogram("weights/" + p.key(), p.value(), step, opt_.bins);
        if (opt_.gradients && p.value().grad().defined())
          logger.log_histogram("gradients/" + p.key(), p.value().grad(), step, opt_.bins);
      }
    }
  }

 private:
  Options opt_;
};

}  // namespace kiln
