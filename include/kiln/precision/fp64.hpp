// SPDX-License-Identifier: Apache-2.0
// kiln/precision/fp64.hpp — FP64: double precision (Lightning's "64-true").
#pragma once
#include <kiln/precision/detail/cast_precision.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: the module's floating-point parameters and buffers, and the batches'
/// floating-point tensors, in float64.
struct FP64 {};

template <>
class PrecisionImpl<FP64> : public detail::CastPrecision<at::kDouble> {
 public:
  PrecisionImpl() = default;
  explicit PrecisionImpl(const FP64&) {}
  void setup(torch::nn::Module& m, const c10::Device& d) { CastPrecision::setup(m, d, "FP64"); }
};

}  // namespace kiln
