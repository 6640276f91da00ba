// SPDX-License-Identifier: Apache-2.0
// kiln/precision/fp32.hpp — FP32: full single precision (the default; Lightning's "32-true").
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <kiln/precision/precision.hpp>

namespace kiln {

/// Precision tag: float32 parameters and math, no autocast, no loss scaling.
struct FP32 {};

template <>
class PrecisionImpl<FP32> {
 public:
  struct NoAutocast {};
  void setup_module(torch::nn::Module&) {}
  NoAutocast autocast() const { return {}; }
  void backward(const at::Tensor& loss) { loss.backward(); }
  void unscale(torch::optim::Optimizer&) {}
  bool optimizer_step(torch::optim::Optimizer& opt) {
    opt.step();
    return true;
  }
};

}  // namespace kiln
