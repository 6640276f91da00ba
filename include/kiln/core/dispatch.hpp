// SPDX-License-Identifier: Apache-2.0
// kiln/core/dispatch.hpp — static event dispatch: a handler without `on(Event, ...)` costs nothing.
#pragma once
#include <tuple>

namespace kiln {

/// True when handler H has an `on(const Event&, Owner&)` overload.
template <class H, class Event, class Owner>
concept Handles = requires(H& h, const Event& e, Owner& o) { h.on(e, o); };

namespace detail {

template <class Event, class Owner, class H>
inline void call_if_handles(H& h, const Event& e, Owner& owner) {
  if constexpr (Handles<H, Event, Owner>) h.on(e, owner);
}

/// Calls every handler in `handlers` that has `on(Event, Owner&)`, in order.
template <class Event, class Owner, class... Hs>
inline void dispatch(std::tuple<Hs...>& handlers, const Event& e, Owner& owner) {
  std::apply([&](auto&... h) { (call_if_handles(h, e, owner), ...); }, handlers);
}

}  // namespace detail
}  // namespace kiln
