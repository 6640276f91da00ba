// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/strategy.hpp — StrategyImpl<Tag> (one specialization per strategy) and batch moving.
#pragma once
#include <ATen/core/Tensor.h>

#include <kiln/core/diagnostics.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/core/tensor_tree.hpp>

namespace kiln {

/// The implementation of strategy tag Tag. Unknown tags land here and fail with one sentence;
/// each strategy specializes it in its own header (strategy/single_device.hpp, ...).
///
/// A strategy offers: setup(config), device(), setup_module(module),
/// with_batch_on_device(batch, f), rank(), local_rank(), world_size(), is_global_zero(), barrier().
template <class Tag>
class StrategyImpl {
  static_assert(detail::always_false<Tag>::value, KILN_ERR_UNKNOWN_STRATEGY);
};

namespace detail {

/// `t` with every tensor moved to `d` (non-blocking).
template <class T>
T move_tree(const T& t, const at::Device& d) {
  return map_tree(t, [&](const at::Tensor& x) { return x.to(d, /*non_blocking=*/true); });
}

/// Calls f(batch) with the batch on `d`: the batch itself on CPU (no copy), else a copy moved
/// non-blocking (each strategy's with_batch_on_device).
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
