// SPDX-License-Identifier: Apache-2.0
// benchmarks/shim/.../context.h — stands in for LibTorch's distributed-autograd context header,
// which Debian's libtorch-dev does not ship although c10d/reducer.hpp includes it. reducer.hpp
// needs only two names from it: the callback type (which it checks against its own) and the
// context pointer type of one member. ddp_reducer never touches a context, so these
// declarations suffice; the build adds this folder with -idirafter, so a LibTorch that has the
// real header uses it.
#pragma once
#include <functional>
#include <memory>

#include <ATen/core/Tensor.h>

namespace torch::distributed::autograd {
class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;
}  // namespace torch::distributed::autograd
