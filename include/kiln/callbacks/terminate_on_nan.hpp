// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/terminate_on_nan.hpp — TerminateOnNan: a NaN or infinite loss ends fit with an error before it reaches the weights.
#pragma once
#include <cmath>

#include <ATen/core/Tensor.h>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>

namespace kiln {

/// Checks every training loss before its backward pass (Ignite's TerminateOnNan; Lightning's
/// detect_anomaly finds the same later and slower). A NaN or infinite loss throws kiln::Error
/// naming the epoch, batch, global step and value, so no optimizer step, and no checkpoint
/// written after it, ever holds the poisoned weights. Reads the loss each step: one device
/// synchronisation per batch.
struct TerminateOnNan {
  template <class T>
  void on(const event::before_backward& e, T& t) {
    const at::Tensor bad = e.loss.detach().isfinite().logical_not();
    if (!bad.any().template item<bool>()) return;
    const double value = e.loss.detach().masked_select(bad).flatten()[0].template item<double>();
    const auto& s = t.state();
    throw Error(fmt::format("kiln: TerminateOnNan: the training loss is {} at epoch {}, batch {}, global step {}; "
                            "stopped before its backward pass, so the weights and checkpoints are those of step {}",
                            value, s.epoch, s.batch_idx, s.global_step, s.global_step));
  }
};

}  // namespace kiln
