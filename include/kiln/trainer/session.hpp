// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/session.hpp — the state of a running fit that the loops may change, in one place.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <kiln/checkpoint/trainer_checkpoint.hpp>
#include <kiln/core/optimizer_config.hpp>
#include <kiln/core/state.hpp>
#include <kiln/trainer/log_buffer.hpp>

namespace kiln::detail {

/// What fit(), validate(), test() and predict() change as they run. The Trainer owns it; the
/// loops and connectors get it by reference and change nothing else of the Trainer's.
struct Session {
  State state;                                  ///< the fit's progress (Trainer::state())
  std::vector<OptimizerConfig> optimizers;      ///< what configure_optimizers() returned
  Progress progress;                            ///< where a checkpoint written now would resume
  std::optional<ResumePoint> resume;            ///< set by a ckpt_path, applied by the fit loop
  std::optional<std::string> stop_request;      ///< Trainer::stop_with_checkpoint's reason
  LogBuffer* live_logs = nullptr;               ///< the running fit's training logs, read lazily
  const State* evaluation_state = nullptr;      ///< the running evaluation pass's progress
  bool epoch_end_reached = false;               ///< plain names hold epoch values until the next epoch starts
  std::function<void()> train_forward;          ///< the running fit's training_step over its data, no gradients

  /// The start of a fit: its optimizers, progress at the current epoch, no stop asked.
  void begin_fit(std::vector<OptimizerConfig> opts) {
    state.stage = Stage::fit;
    optimizers = std::move(opts);
    progress = {state.epoch, 0, false};
    stop_request.reset();
  }
};

}  // namespace kiln::detail
