// SPDX-License-Identifier: Apache-2.0
// kiln/util/torch_compat.hpp — the one place where LibTorch 1.13 and 2.x differ for kiln.
#pragma once
#include <string>
#include <utility>

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <kiln/core/error.hpp>

namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d

namespace kiln::compat {

/// The base class of c10d's Gloo and NCCL groups: LibTorch 2 made them c10d::Backend
/// implementations (1.x: ProcessGroup ones); both have the collectives kiln calls, with the same
/// signatures.
#if TORCH_VERSION_MAJOR >= 2
using GroupBase = c10d::Backend;
#else
using GroupBase = c10d::ProcessGroup;
#endif

/// A parameter's gradient accumulator node, as autograd hands it out: a std::shared_ptr<Node> in
/// LibTorch 1.x, a c10::intrusive_ptr<Node> in recent 2.x.
using GradAccumulatorPtr = decltype(torch::autograd::impl::grad_accumulator(std::declval<const at::Tensor&>()));

/// Drops every gradient of `opt`'s parameters (zero_grad(set_to_none=true)). LibTorch 1.13's
/// Optimizer::zero_grad() has no set_to_none and fills zeros; dropping skips a memset per
/// parameter and gives the same result, since the next backward writes fresh gradients.
inline void zero_grad_to_none(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

/// Turns deterministic algorithms on or off (torch.use_deterministic_algorithms).
inline void use_deterministic_algorithms(bool on) {
  at::globalContext().setDeterministicAlgorithms(on, /*warn_only=*/false);
}

// Autocast state per device type. LibTorch 2.4 replaced the per-device functions (set_cpu_enabled,
// set_autocast_gpu_dtype, ...) by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool autocast_enabled(c10::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
inline at::ScalarType autocast_dtype(c10::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
inline void set_autocast(c10::DeviceType d, bool on, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(d, dtype);
  at::autocast::set_autocast_enabled(d, on);
}
#else
inline bool autocast_enabled(c10::DeviceType d) {
  if (d == c10::DeviceType::CPU) return at::autocast::is_cpu_enabled();
  if (d == c10::DeviceType::CUDA) return at::autocast::is_enabled();
  return false;
}
inline at::ScalarType autocast_dtype(c10::DeviceType d) {
  return d == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
inline void set_autocast(c10::DeviceType d, bool on, at::ScalarType dtype) {
  if (d == c10::DeviceType::CPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(on);
  } else if (d == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(on);
  } else {
    throw Error("kiln: autocast is supported on CPU and CUDA only, not on " + c10::DeviceTypeName(d));
  }
}
#endif

/// Whether this LibTorch can autocast to `dtype` on device type `d` (LibTorch 1.13's CPU
/// autocast takes bfloat16 only and rejects float16).
inline bool autocast_supports(c10::DeviceType d, at::ScalarType dtype) {
  const auto previous = autocast_dtype(d);
  try {
    set_autocast(d, autocast_enabled(d), dtype);
  } catch (const c10::Error&) {
    return false;
  } catch (const Error&) {
    return false;
  }
  set_autocast(d, autocast_enabled(d), previous);
  return true;
}

}  // namespace kiln::compat
