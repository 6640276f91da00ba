// SPDX-License-Identifier: Apache-2.0
// kiln/core/concepts/data_source.hpp — what the loops iterate: a range of batches, or a pointer to one.
#pragma once
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace kiln {
namespace detail {

/// begin()/end() that can be compared and advanced; torch::data loaders have no iterator
/// traits, so std::ranges::input_range is too strict for them.
template <class R>
concept iterable = requires(R& r) {
  std::begin(r) != std::end(r);
  ++std::declval<decltype(std::begin(r))&>();
  *std::begin(r);
};

/// A smart or raw pointer to an iterable, as torch::data::make_data_loader returns.
template <class P>
concept points_to_iterable = requires(P& p) { *p; } && !iterable<P> && iterable<std::remove_reference_t<decltype(*std::declval<P&>())>>;

}  // namespace detail

/// Data the loops can iterate: a range of batches (std/range-v3 containers and views), or a
/// pointer to one (`std::unique_ptr` from `torch::data::make_data_loader`).
///
/// *Requires*: `begin(r) != end(r)`, `++it`, `*it`; or `*p` giving such a range.
/// *Models*: `std::vector<Batch>`, range-v3 views, torch::data loaders.
template <class D>
concept DataSource = detail::iterable<std::remove_reference_t<D>> ||
                     detail::points_to_iterable<std::remove_reference_t<D>>;

namespace detail {

/// Stands for "no validation data" in fit(module, train).
struct no_data {};

/// The range behind a data source.
template <class D>
decltype(auto) as_range(D& d) {
  if constexpr (iterable<D>) return (d);
  else return (*d);
}

/// The type a step receives a batch of D as, by reference (const for const ranges).
template <class D>
using batch_arg_t = std::remove_reference_t<decltype(*std::begin(as_range(std::declval<D&>())))>;

/// Number of batches, when the range knows it.
template <class R>
std::optional<std::int64_t> size_of(R& r) {
  if constexpr (requires { std::size(r); }) return static_cast<std::int64_t>(std::size(r));
  else if constexpr (requires { r.size(); }) {
    auto s = r.size();
    if constexpr (requires { s.has_value(); }) {
      if (s.has_value()) return static_cast<std::int64_t>(*s);
      return std::nullopt;
    } else {
      return static_cast<std::int64_t>(s);
    }
  } else {
    return std::nullopt;
  }
}

}  // namespace detail
}  // namespace kiln
