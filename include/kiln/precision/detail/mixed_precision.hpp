// SPDX-License-Identifier: Apache-2.0
// kiln/precision/detail/mixed_precision.hpp — what BF16Mixed and FP16Mixed share: float32 weights, an autocast forward.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/precision/detail/autocast_guard.hpp>
#include <kiln/precision/detail/defaults.hpp>
#include <kiln/util/torch_compat.hpp>

namespace kiln {

namespace detail {

template <at::ScalarType D>
class MixedPrecision : public PrecisionDefaults {
 public:
  void setup(torch::nn::Module&, const c10::Device& device) {
    device_ = device.type();
    active_ = compat::autocast_supports(device_, D);
    if (!active_ && D == at::kBFloat16)
      throw Error(fmt::format("kiln: Precision<BF16Mixed>: this LibTorch cannot autocast to bfloat16 on {}",
                              c10::DeviceTypeName(device_, true)));
    if (!active_)
      notice_ = fmt::format("kiln: Precision<FP16Mixed>: this LibTorch cannot autocast to float16 on {}, so the "
                            "forward runs in float32; the loss scaling runs in full (BF16Mixed gives "
                            "reduced-precision math there)", c10::DeviceTypeName(device_, true));
  }
  AutocastGuard autocast() const { return AutocastGuard(device_, D, active_); }
  /// Whether the forward really runs under autocast (see FP16Mixed's CPU note).
  bool autocast_active() const { return active_; }

 protected:
  c10::DeviceType device_ = c10::DeviceType::CPU;
  bool active_ = true;
};

}  // namespace detail

}  // namespace kiln
