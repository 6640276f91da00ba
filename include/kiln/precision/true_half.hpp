// SPDX-License-Identifier: Apache-2.0
// kiln/precision/true_half.hpp — BF16True and FP16True: the whole model in 16 bits (Lightning's "bf16-true", "16-true").
#pragma once
#include <kiln/precision/detail/cast_precision.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: parameters, buffers, batches and optimizer state in bfloat16; no autocast, no
/// loss scaling. Halves memory; the updates lose precision (fine-tuning, inference).
struct BF16True {};

/// Precision tag: as BF16True in float16. Setup fails with an Error where the device has no
/// float16 matrix multiplication (CPU on LibTorch 1.13).
struct FP16True {};

template <>
class PrecisionImpl<BF16True> : public detail::CastPrecision<at::kBFloat16> {
 public:
  PrecisionImpl() = default;
  explicit PrecisionImpl(const BF16True&) {}
  void setup(torch::nn::Module& m, const c10::Device& d) { CastPrecision::setup(m, d, "BF16True"); }
};

template <>
class PrecisionImpl<FP16True> : public detail::CastPrecision<at::kHalf> {
 public:
  PrecisionImpl() = default;
  explicit PrecisionImpl(const FP16True&) {}
  void setup(torch::nn::Module& m, const c10::Device& d) { CastPrecision::setup(m, d, "FP16True"); }
};

}  // namespace kiln
