// SPDX-License-Identifier: Apache-2.0
// kiln/core/tensor_tree.hpp — batches made of tensors, and mapping a function over their tensors.
#pragma once
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/data/example.h>

namespace kiln::detail {

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

/// Batches made of tensors (Tensor, Example, pair, tuple, vector of those): strategies move
/// them between devices, "true" precisions cast their floating-point tensors.
template <class T>
inline constexpr bool is_tensor_tree = tensor_tree<std::remove_cvref_t<T>>::value;

/// A copy of tree `t` with every tensor replaced by f(tensor).
template <class T, class F>
T map_tree(const T& t, const F& f) {
  if constexpr (std::is_same_v<T, at::Tensor>) {
    return f(t);
  } else if constexpr (requires { t.data; t.target; }) {
    return T{map_tree(t.data, f), map_tree(t.target, f)};
  } else if constexpr (requires { t.data; }) {  // torch::data::TensorExample: no target
    return T{map_tree(t.data, f)};
  } else if constexpr (requires { t.first; t.second; }) {
    return T{map_tree(t.first, f), map_tree(t.second, f)};
  } else if constexpr (requires { std::tuple_size<T>::value; }) {
    return std::apply([&](const auto&... x) { return T{map_tree(x, f)...}; }, t);
  } else {
    T out;
    out.reserve(t.size());
    for (const auto& x : t) out.push_back(map_tree(x, f));
    return out;
  }
}

}  // namespace kiln::detail
