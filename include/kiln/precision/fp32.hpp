// SPDX-License-Identifier: Apache-2.0
// kiln/precision/fp32.hpp — FP32: full single precision (the default; Lightning's "32-true").
#pragma once
#include <kiln/precision/detail/defaults.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: float32 parameters and math, no autocast, no loss scaling.
struct FP32 {};

template <>
class PrecisionImpl<FP32> : public detail::PrecisionDefaults {
 public:
  PrecisionImpl() = default;
  explicit PrecisionImpl(const FP32&) {}
};

}  // namespace kiln
