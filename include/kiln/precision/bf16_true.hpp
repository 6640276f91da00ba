// SPDX-License-Identifier: Apache-2.0
// kiln/precision/bf16_true.hpp — BF16True: the whole model in bfloat16 (Lightning's "bf16-true").
#pragma once
#include <kiln/precision/detail/cast_precision.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: parameters, buffers, batches and optimizer state in bfloat16; no autocast, no
/// loss scaling. Halves memory; the updates lose precision (fine-tuning, inference).
struct BF16True {
  static constexpr const char* name = "BF16True";
};

template <>
class PrecisionImpl<BF16True> : public detail::CastPrecision<BF16True, at::kBFloat16> {
  using CastPrecision::CastPrecision;
};

}  // namespace kiln
