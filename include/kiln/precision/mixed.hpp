// SPDX-License-Identifier: Apache-2.0
// kiln/precision/mixed.hpp — BF16Mixed and FP16Mixed: float32 weights, autocast forward, (FP16) loss scaling.
#pragma once
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <kiln/core/error.hpp>
#include <kiln/precision/detail/autocast_guard.hpp>
#include <kiln/precision/detail/defaults.hpp>
#include <kiln/precision/grad_scaler.hpp>
#include <kiln/precision/precision.hpp>
#include <kiln/util/torch_compat.hpp>

namespace kiln {

/// Precision tag: float32 weights; forward and loss under bfloat16 autocast (Lightning's
/// "bf16-mixed"). bfloat16 has float32's range, so no loss scaling is needed.
struct BF16Mixed {};

/// Precision tag: float32 weights; forward and loss under float16 autocast with dynamic loss
/// scaling (Lightning's "16-mixed"). Configure the scaler by passing an instance to the Trainer:
/// `Trainer<M, Precision<FP16Mixed>> t(cfg, kiln::FP16Mixed{.scaler = {.init_scale = 1024}})`.
///
/// Where the device cannot autocast to float16 (CPU on LibTorch 1.13, which autocasts to
/// bfloat16 only) the forward runs in float32 and the loss scaling still runs in full; setup
/// says so once. Use BF16Mixed for reduced-precision math on such a CPU.
struct FP16Mixed {
  GradScalerOptions scaler = {};
};

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

template <>
class PrecisionImpl<BF16Mixed> : public detail::MixedPrecision<at::kBFloat16> {
 public:
  PrecisionImpl() = default;
  explicit PrecisionImpl(const BF16Mixed&) {}
};

template <>
class PrecisionImpl<FP16Mixed> : public detail::MixedPrecision<at::kHalf> {
 public:
  PrecisionImpl() = default;
  explicit PrecisionImpl(const FP16Mixed& tag) : scaler_(tag.scaler) {}

  void setup(torch::nn::Module& m, const c10::Device& device) {
    MixedPrecision::setup(m, device);
    scaler_.to(device);
  }
  void backward(const at::Tensor& loss) { scaler_.scale(loss).backward(); }
  void unscale(torch::optim::Optimizer& opt) { scaler_.unscale(opt); }
  bool optimizer_step(torch::optim::Optimizer& opt) { return scaler_.step(opt); }
  void update() { scaler_.update(); }
  template <class Archive>
  void save(Archive& a) const { scaler_.save(a); }
  template <class Archive>
  void load(Archive& a) { scaler_.load(a); }

  GradScaler& scaler() { return scaler_; }
  const GradScaler& scaler() const { return scaler_; }

 private:
  GradScaler scaler_;
};

}  // namespace kiln
