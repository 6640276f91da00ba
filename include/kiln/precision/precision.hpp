// SPDX-License-Identifier: Apache-2.0
// kiln/precision/precision.hpp — PrecisionImpl<Tag>: one specialization per precision policy.
#pragma once
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/policies.hpp>

namespace kiln {

/// The implementation of precision tag Tag. Unknown tags land here and fail with one sentence.
///
/// A precision offers (detail::PrecisionDefaults has the float32 behaviour of each):
/// - construction from its tag (a configured tag passed to the Trainer's constructor);
/// - setup(module, device): casts the module ("true" precisions), learns the device;
/// - autocast(): an RAII guard around forward + loss;
/// - with_batch(batch, f): f(batch), with floating-point tensors cast ("true" precisions);
/// - backward(loss), unscale(optimizer) (before clipping), optimizer_step(optimizer) returning
///   whether the step was taken (false when the loss scaler skips it), update() once per
///   iteration after every optimizer step;
/// - save(archive) / load(archive): its state for checkpoints (the loss scaler's).
template <class Tag>
class PrecisionImpl {
  static_assert(detail::always_false<Tag>::value, KILN_ERR_UNKNOWN_PRECISION);
};

}  // namespace kiln
