// SPDX-License-Identifier: Apache-2.0
// kiln/core/dispatch.hpp — static event dispatch: a handler without `on(Event, ...)` costs nothing.
#pragma once
#include <cstddef>
#include <tuple>
#include <utility>

namespace kiln {

/// True when handler H has an `on(const Event&, Owner&)` overload.
template <class H, class Event, class Owner>
concept Handles = requires(H& h, const Event& e, Owner& o) { h.on(e, o); };

namespace detail {

template <class Event, class Owner, class H>
inline void call_if_handles(H& h, const Event& e, Owner& owner) {
  if constexpr (Handles<H, Event, Owner>) h.on(e, owner);
}

/// Calls every handler in `handlers` that has `on(Event, Owner&)`, in order. A fold over indices
/// rather than std::apply, whose return type deduction would put a dozen <type_traits> lines under
/// any error from a handler.
template <class Event, class Owner, class... Hs>
inline void dispatch(std::tuple<Hs...>& handlers, const Event& e, Owner& owner) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (call_if_handles(std::get<I>(handlers), e, owner), ...);
  }(std::index_sequence_for<Hs...>{});
}

}  // namespace detail
}  // namespace kiln
