// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/arithmetic.hpp — metrics composed by arithmetic (Ignite's MetricsLambda): 2 * p * r / (p + r).
#pragma once
#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <ATen/ATen.h>

#include <kiln/core/format.hpp>
#include <kiln/metrics/metric.hpp>

namespace kiln::metrics {
namespace detail {

/// A metric in an expression: referenced when the operand was an lvalue (the caller keeps it
/// alive, and may use it alone too), owned when it was a temporary.
template <class M, bool Owned>
struct LeafNode {
  std::conditional_t<Owned, M, M*> m;
  static constexpr std::size_t leaves = 1;
  M& get() {
    if constexpr (Owned) return m;
    else return *m;
  }
  at::Tensor eval() { return get().compute(); }
  template <class F>
  void each_leaf(F&& f) { f(get()); }
};

struct ConstNode {
  double v;
  static constexpr std::size_t leaves = 0;
  at::Scalar eval() const { return v; }
  template <class F>
  void each_leaf(F&&) {}
};

/// f applied to its operands' values.
template <class F, class... Ns>
struct FnNode {
  F f;
  std::tuple<Ns...> operands;
  static constexpr std::size_t leaves = (Ns::leaves + ... + 0);
  at::Tensor eval() {
    return std::apply([&](auto&... n) { return at::Tensor(f(n.eval()...)); }, operands);
  }
  template <class G>
  void each_leaf(G&& g) {
    std::apply([&](auto&... n) { (n.each_leaf(g), ...); }, operands);
  }
};

}  // namespace detail

/// A metric made of other metrics by arithmetic or kiln::metrics::lambda. Its type is the whole
/// expression, resolved at compile time; update() feeds each distinct operand once (a metric
/// used twice, as p in 2 * p * r / (p + r), is updated once), compute() evaluates the
/// expression on the operands' computed (synced) values.
template <class Node>
class Composed {
 public:
  static constexpr std::string_view metric_name = "Composed";
  explicit Composed(Node n) : node_(std::move(n)) {}

  template <class... A>
  void update(const A&... args) { each_distinct([&](auto& m) { m.update(args...); }); }
  at::Tensor compute() { return node_.eval(); }
  void reset() { each_distinct([](auto& m) { m.reset(); }); }
  void sync() { each_distinct([](auto& m) { m.sync(); }); }

  /// The operands' states, named "<operand index>.<state>".
  std::map<std::string, at::Tensor> state_dict() {
    std::map<std::string, at::Tensor> out;
    std::size_t i = 0;
    each_distinct([&](auto& m) {
      for (auto& [k, v] : m.state_dict()) out.emplace(fmt::format("{}.{}", i, k), v);
      ++i;
    });
    return out;
  }
  void load_state_dict(const std::map<std::string, at::Tensor>& in) {
    std::size_t i = 0;
    each_distinct([&](auto& m) { m.load_state_dict(detail::under(in, fmt::format("{}.", i++))); });
  }
  /// Folds saved states into the current ones (a resumed epoch).
  void merge_state_dict(const std::map<std::string, at::Tensor>& in) {
    std::size_t i = 0;
    each_distinct([&](auto& m) { m.merge_state_dict(detail::under(in, fmt::format("{}.", i++))); });
  }

  Node& node() { return node_; }

 private:
  template <class F>
  void each_distinct(F&& f) {
    std::array<const void*, Node::leaves> seen{};
    std::size_t n = 0;
    node_.each_leaf([&](auto& m) {
      const void* a = &m;
      for (std::size_t i = 0; i < n; ++i)
        if (seen[i] == a) return;
      seen[n++] = a;
      f(m);
    });
  }

  Node node_;
};

namespace detail {
template <class T> struct is_composed : std::false_type {};
template <class N> struct is_composed<Composed<N>> : std::true_type {};

template <class T>
concept MetricOperand = Metric<std::remove_cvref_t<T>> || is_composed<std::remove_cvref_t<T>>::value;
template <class T>
concept Operand = MetricOperand<T> || std::is_arithmetic_v<std::remove_cvref_t<T>>;

/// The expression node for an operand.
template <class T>
auto node_of(T&& x) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_arithmetic_v<U>) return ConstNode{static_cast<double>(x)};
  else if constexpr (is_composed<U>::value) return x.node();  // an expression splices in
  else if constexpr (std::is_lvalue_reference_v<T>) return LeafNode<U, false>{&x};
  else return LeafNode<U, true>{std::move(x)};
}

template <class F, class... T>
auto compose(F f, T&&... xs) {
  using Node = FnNode<F, decltype(node_of(std::forward<T>(xs)))...>;
  return Composed<Node>(Node{std::move(f), {node_of(std::forward<T>(xs))...}});
}
}  // namespace detail

/// Ignite's MetricsLambda: a metric whose value is f(operand values...).
template <class F, detail::MetricOperand... Ms>
auto lambda(F f, Ms&&... ms) {
  return detail::compose(std::move(f), std::forward<Ms>(ms)...);
}

#define KILN_METRIC_OPERATOR(op, fn)                                                     \
  template <detail::Operand A, detail::Operand B>                                        \
    requires(detail::MetricOperand<A> || detail::MetricOperand<B>)                       \
  auto operator op(A&& a, B&& b) {                                                       \
    return detail::compose(fn{}, std::forward<A>(a), std::forward<B>(b));                \
  }
KILN_METRIC_OPERATOR(+, std::plus<>)
KILN_METRIC_OPERATOR(-, std::minus<>)
KILN_METRIC_OPERATOR(*, std::multiplies<>)
KILN_METRIC_OPERATOR(/, std::divides<>)
#undef KILN_METRIC_OPERATOR

}  // namespace kiln::metrics
