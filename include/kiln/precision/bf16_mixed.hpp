// SPDX-License-Identifier: Apache-2.0
// kiln/precision/bf16_mixed.hpp — BF16Mixed: float32 weights, bfloat16 autocast forward (Lightning's "bf16-mixed").
#pragma once
#include <kiln/precision/detail/mixed_precision.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: float32 weights; forward and loss under bfloat16 autocast (Lightning's
/// "bf16-mixed"). bfloat16 has float32's range, so no loss scaling is needed.
struct BF16Mixed {};

template <>
class PrecisionImpl<BF16Mixed> : public detail::MixedPrecision<at::kBFloat16> {
 public:
  PrecisionImpl() = default;
  explicit PrecisionImpl(const BF16Mixed&) {}
};

}  // namespace kiln
