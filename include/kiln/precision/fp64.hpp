// SPDX-License-Identifier: Apache-2.0
// kiln/precision/fp64.hpp — FP64: double precision (Lightning's "64-true").
#pragma once
#include <kiln/precision/detail/cast_precision.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: the module's floating-point parameters and buffers, and the batches'
/// floating-point tensors, in float64.
struct FP64 {
  static constexpr const char* name = "FP64";
};

template <>
class PrecisionImpl<FP64> : public detail::CastPrecision<FP64, at::kDouble> {
  using CastPrecision::CastPrecision;
};

}  // namespace kiln
