// SPDX-License-Identifier: Apache-2.0
// kiln/precision/fp16_true.hpp — FP16True: the whole model in float16 (Lightning's "16-true").
#pragma once
#include <kiln/precision/detail/cast_precision.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: as BF16True in float16. Setup fails with an Error where the device has no
/// float16 matrix multiplication (CPU on LibTorch 1.13).
struct FP16True {
  static constexpr const char* name = "FP16True";
};

template <>
class PrecisionImpl<FP16True> : public detail::CastPrecision<FP16True, at::kHalf> {
  using CastPrecision::CastPrecision;
};

}  // namespace kiln
