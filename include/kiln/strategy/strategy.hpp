// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/strategy.hpp — StrategyImpl<Tag> (one specialization per strategy) and batch moving.
#pragma once
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/data/example.h>

#include <kiln/core/diagnostics.hpp>
#include <kiln/core/policies.hpp>

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

template <class T>
struct tensor_tree : std::false_type {};
template <>
struct tensor_tree<at::Tensor> : std::true_type {};
template <class D, class T>
struct tensor_tree<torch::data::Example<D, T>> : std::true_type {};
template <class A, class B>
struct tensor_tree<std::pair<A, B>> : std::bool_constant<tensor_tree<A>::value && tensor_tree<B>::value> {};
template <class... Ts>
struct tensor_tree<std::tuple<Ts...>> : std::bool_constant<(tensor_tree<Ts>::value && ...)> {};
template <class T>
struct tensor_tree<std::vector<T>> : tensor_tree<T> {};

/// Batches made of tensors (Tensor, Example, pair, tuple, vector of those): these move devices.
template <class T>
inline constexpr bool is_tensor_tree = tensor_tree<std::remove_cvref_t<T>>::value;

template <class T>
T move_tree(const T& t, const at::Device& d) {
  if constexpr (std::is_same_v<T, at::Tensor>) {
    return t.to(d, /*non_blocking=*/true);
  } else if constexpr (requires { t.data; t.target; }) {
    return T{move_tree(t.data, d), move_tree(t.target, d)};
  } else if constexpr (requires { t.data; }) {  // torch::data::TensorExample: no target
    return T{move_tree(t.data, d)};
  } else if constexpr (requires { t.first; t.second; }) {
    return T{move_tree(t.first, d), move_tree(t.second, d)};
  } else if constexpr (requires { std::tuple_size<T>::value; }) {
    return std::apply([&](const auto&... x) { return T{move_tree(x, d)...}; }, t);
  } else {
    T out;
    out.reserve(t.size());
    for (const auto& x : t) out.push_back(move_tree(x, d));
    return out;
  }
}

}  // namespace detail
}  // namespace kiln
