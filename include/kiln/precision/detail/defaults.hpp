// SPDX-License-Identifier: Apache-2.0
// kiln/precision/detail/defaults.hpp — what a precision does when it adds nothing (FP32's behaviour).
#pragma once
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace kiln::detail {

/// The precision interface with float32 behaviour; each policy overrides what it changes.
struct PrecisionDefaults {
  struct NoAutocast {};
  void setup(torch::nn::Module&, const c10::Device&) {}
  /// Said once by the Trainer (global rank 0) after setup; empty when there is nothing to say.
  const std::string& setup_notice() const { return notice_; }
  NoAutocast autocast() const { return {}; }
  template <class Batch, class F>
  decltype(auto) with_batch(Batch& batch, F&& f) { return f(batch); }
  void backward(const at::Tensor& loss) { loss.backward(); }
  void unscale(torch::optim::Optimizer&) {}
  bool optimizer_step(torch::optim::Optimizer& opt) {
    opt.step();
    return true;
  }
  void update() {}
  template <class Archive>
  void save(Archive&) const {}
  template <class Archive>
  void load(Archive&) {}

 protected:
  std::string notice_;
};

}  // namespace kiln::detail
