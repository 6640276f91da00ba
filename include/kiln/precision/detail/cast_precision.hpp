// SPDX-License-Identifier: Apache-2.0
// kiln/precision/detail/cast_precision.hpp — "true" precisions: module and floating batches in one dtype.
#pragma once
#include <string>

#include <ATen/ATen.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/tensor_tree.hpp>
#include <kiln/precision/detail/defaults.hpp>

namespace kiln::detail {

/// Casts the module's floating-point parameters and buffers to D at setup (integer buffers such
/// as BatchNorm's step count keep their type, unlike Module::to(dtype)), and the floating-point
/// tensors of each batch before the step. Tensors a step creates itself keep the default dtype
/// (float32): kiln does not switch the process-wide default as Lightning does, since loader
/// worker threads share it. Create them with `x.options()`.
/// `Tag::name` names the policy in errors.
template <class Tag, at::ScalarType D>
class CastPrecision : public PrecisionDefaults {
 public:
  CastPrecision() = default;
  explicit CastPrecision(const Tag&) {}
  void setup(torch::nn::Module& m, const c10::Device& device) {
    if (D != at::kDouble) probe(device, Tag::name);
    torch::NoGradGuard no_grad;
    for (auto& p : m.parameters())
      if (p.is_floating_point() && p.scalar_type() != D) p.set_data(p.data().to(D));
    for (auto& b : m.buffers())
      if (b.is_floating_point() && b.scalar_type() != D) b.set_data(b.data().to(D));
  }
  template <class Batch, class F>
  decltype(auto) with_batch(Batch& batch, F&& f) {
    if constexpr (is_tensor_tree<Batch>) {
      auto cast = map_tree(batch, [](const at::Tensor& x) { return x.is_floating_point() ? x.to(D) : x; });
      return f(cast);
    } else {
      return f(batch);
    }
  }

 private:
  // A model without matrix multiplication in D cannot train; say so before the first step.
  static void probe(const c10::Device& device, const char* name) {
    try {
      auto x = at::ones({2, 2}, at::TensorOptions().dtype(D).device(device));
      (void)at::mm(x, x);
    } catch (const c10::Error& e) {
      std::string why = e.what_without_backtrace();
      why = why.substr(0, why.find('\n'));
      throw Error(fmt::format("kiln: Precision<{}> needs {} matrix multiplication on {}, which this LibTorch "
                              "lacks ({}); use BF16True or a mixed precision there", name,
                              c10::toString(D), c10::DeviceTypeName(device.type(), true), why));
    }
  }
};

}  // namespace kiln::detail
