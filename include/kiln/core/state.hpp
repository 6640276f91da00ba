// SPDX-License-Identifier: Apache-2.0
// kiln/core/state.hpp — loop progress shared by the Engine, the Trainer and handlers.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include <kiln/core/stage.hpp>

namespace kiln {

/// Where a loop is. Handlers read it through `engine.state()` / `trainer.state()` and stop a run
/// with `request_stop()` (Ignite's terminate(), Lightning's should_stop).
struct State {
  Stage stage = Stage::fit;
  std::int64_t epoch = 0;        ///< current epoch, 0-based; equals max_epochs after a full run
  std::int64_t max_epochs = 1;   ///< -1: no limit
  std::int64_t batch_idx = 0;    ///< index of the current batch inside its epoch
  std::int64_t iteration = 0;    ///< batches processed in total, over all epochs
  std::int64_t global_step = 0;  ///< optimizer steps taken (Lightning's global_step)
  std::optional<std::int64_t> epoch_length;  ///< batches per epoch once known
  at::Tensor output;             ///< what the last process call returned, if a tensor
  bool should_stop = false;
  bool stop_epoch = false;       ///< ends the current epoch only (Ignite's terminate_epoch)
  std::string stop_reason;

  /// Ask the loop to stop after the current batch; `reason` is printed and kept.
  void request_stop(std::string reason = {}) {
    should_stop = true;
    if (stop_reason.empty()) stop_reason = std::move(reason);
  }
};

}  // namespace kiln
