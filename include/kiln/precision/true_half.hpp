// SPDX-License-Identifier: Apache-2.0
// kiln/precision/true_half.hpp — BF16True and FP16True: the whole model in 16 bits (Lightning's "bf16-true", "16-true").
#pragma once
#include <kiln/precision/detail/cast_precision.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: parameters, buffers, batches and optimizer state in bfloat16; no autocast, no
/// loss scaling. Halves memory; the updates lose precision (fine-tuning, inference).
struct BF16True {
  static constexpr const char* name = "BF16True";
};

/// Precision tag: as BF16True in float16. Setup fails with an Error where the device has no
/// float16 matrix multiplication (CPU on LibTorch 1.13).
struct FP16True {
  static constexpr const char* name = "FP16True";
};

template <>
class PrecisionImpl<BF16True> : public detail::CastPrecision<BF16True, at::kBFloat16> {
  using CastPrecision::CastPrecision;
};

template <>
class PrecisionImpl<FP16True> : public detail::CastPrecision<FP16True, at::kHalf> {
  using CastPrecision::CastPrecision;
};

}  // namespace kiln
