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

}  // namespace detail
}  // namespace kiln
