// SPDX-License-Identifier: Apache-2.0
// kiln/precision/fp16_mixed.hpp — FP16Mixed: float32 weights, float16 autocast forward, dynamic loss scaling (Lightning's "16-mixed").
#pragma once
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <kiln/precision/detail/mixed_precision.hpp>
#include <kiln/precision/grad_scaler.hpp>
#include <kiln/precision/precision.hpp>

namespace kiln {

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
