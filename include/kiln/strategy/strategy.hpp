// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/strategy.hpp — StrategyImpl<Tag> (one specialization per strategy) and batch moving.
#pragma once
#include <ATen/core/Tensor.h>

#include <kiln/core/diagnostics.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/core/tensor_tree.hpp>

namespace kiln {

/// The implementation of strategy tag Tag; each strategy specializes it in its own header
/// (strategy/single_device.hpp, ...). Unknown tags land here: the marker below tells
/// detail::is_strategy_tag so, and the Trainer says which slot is wrong in one sentence.
/// What a strategy offers is the concept kiln::DistributedStrategy (kiln/core/concepts/strategy.hpp).
template <class Tag>
class StrategyImpl {
 public:
  static constexpr bool kiln_unknown_tag = true;
};

namespace detail {
/// True when StrategyImpl<T> is specialized, i.e. T is a strategy's tag (such as kiln::DDP).
template <class T>
inline constexpr bool is_strategy_tag = !requires { StrategyImpl<T>::kiln_unknown_tag; };
}  // namespace detail

namespace detail {

/// `x` on `d`. A CPU tensor bound for a GPU goes through page-locked (pinned) memory, since only a
/// copy from pinned memory is really asynchronous: the step's kernels queue up behind it instead
/// of waiting for the copy (PyTorch's DataLoader(pin_memory=True) + .to(non_blocking=True)).
/// LibTorch's pinned-memory allocator caches its blocks and keeps them until the copy is done.
inline at::Tensor to_device(const at::Tensor& x, const at::Device& d) {
  if (x.device() == d) return x;
  if (d.is_cuda() && x.is_cpu() && !x.is_pinned()) return x.pin_memory().to(d, /*non_blocking=*/true);
  return x.to(d, /*non_blocking=*/true);
}

/// `t` with every tensor moved to `d` (non-blocking, through pinned memory for a GPU).
template <class T>
T move_tree(const T& t, const at::Device& d) {
  return map_tree(t, [&](const at::Tensor& x) { return to_device(x, d); });
}

/// Calls f(batch) with the batch on `d`: the batch itself on CPU (no copy), else a copy moved
/// non-blocking through pinned memory (each strategy's with_batch_on_device).
template <class Batch, class F>
decltype(auto) with_batch_on(const at::Device& d, Batch& batch, F&& f) {
  if constexpr (is_tensor_tree<Batch>) {
    if (!d.is_cpu()) {
      auto moved = move_tree(batch, d);
      return f(moved);
    }
  }
  return f(batch);
}

}  // namespace detail
}  // namespace kiln
