// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/detail/channels_last.hpp — store Conv2d weights channels-last, the layout oneDNN's CPU convolutions run fastest in.
#pragma once
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/MemoryFormat.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>

#include <kiln/core/linkage.hpp>

namespace kiln::detail {

/// Makes the weight of every torch::nn::Conv2d in `m` channels-last (NHWC strides, same values),
/// keeping each Parameter object so optimizers built before or after see the same tensors.
/// LibTorch's CPU convolution then takes oneDNN's channels-last path for that layer (it does
/// when the input or the weight is channels-last) and its outputs, gradients and optimizer
/// state follow the layout. Measured on the Fashion-MNIST CNN: 1.23-1.35x the steps/s at one
/// thread (benchmarks/RESULTS.md). Only Conv2d weights: user code may .view() its own 4-D
/// parameters, which needs the contiguous layout.
KILN_DECL void conv2d_weights_channels_last(torch::nn::Module& m);

}  // namespace kiln::detail

#if KILN_DEFINITIONS
namespace kiln::detail {

KILN_DECL void conv2d_weights_channels_last(torch::nn::Module& m) {
  auto convert = [](torch::nn::Module& module) {
    if (auto* conv = module.as<torch::nn::Conv2dImpl>()) {
      auto& w = conv->weight;
      // Not is_contiguous(ChannelsLast): a weight with one input channel passes that test with
      // NCHW strides, yet LibTorch picks the layout from the strides (suggest_memory_format),
      // so such a layer stayed NCHW and every step converted between it and the next layer
      // (measured: 0.8x instead of 1.3x). Real channels-last strides are written here.
      if (w.defined() && w.dim() == 4 && w.suggest_memory_format() != c10::MemoryFormat::ChannelsLast) {
        auto nhwc = at::empty(w.sizes(), w.options().memory_format(c10::MemoryFormat::ChannelsLast));
        nhwc.copy_(w.detach());
        w.set_data(nhwc);
      }
    }
  };
  convert(m);  // modules(include_self=true) would need `m` held by a shared_ptr; users' modules often are not
  for (const auto& child : m.modules(/*include_self=*/false)) convert(*child);
}

}  // namespace kiln::detail
#endif  // KILN_DEFINITIONS
