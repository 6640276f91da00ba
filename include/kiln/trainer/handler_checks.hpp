// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/handler_checks.hpp — a listed callback or logger that kiln would never call is a compile error.
#pragma once
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <kiln/core/diagnostics.hpp>
#include <kiln/core/dispatch.hpp>
#include <kiln/core/events.hpp>

namespace kiln::detail {

/// Whether f(std::type_identity<E>{}) holds for some event E at positions [First, Last) of event::all.
template <std::size_t First, std::size_t Last, class F>
constexpr bool any_event(F f) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return (f(std::type_identity<std::tuple_element_t<First + I, event::all>>{}) || ...);
  }(std::make_index_sequence<Last - First>{});
}

/// A member on_<event> as Lightning's callbacks have them: by name, or called with (trainer) or
/// (trainer, module).
template <class H, class Owner>
constexpr bool has_lightning_style_method() {
  using M = typename Owner::module_type;
#define KILN_LIGHTNING_METHOD(e)                                                                            \
  requires { &H::on_##e; } || requires(H& h, Owner& o) { h.on_##e(o); } ||                                  \
      requires(H& h, Owner& o, M& m) { h.on_##e(o, m); } ||
  return KILN_TRAINER_EVENTS(KILN_LIGHTNING_METHOD) false;
#undef KILN_LIGHTNING_METHOD
}

/// Every way a handler H of a Trainer (Owner) can look right and never be called, each its own
/// sentence: kiln rejects them rather than guess which one the user meant. `callback`: H is in
/// Callbacks<...>, where a type that handles nothing is a mistake too (a logger is also fed
/// through log_metrics). Returns true: a failed static_assert has already said what is wrong.
template <class H, class Owner, bool callback>
constexpr bool check_handler() {
  constexpr std::size_t n = event::count, engine = event::engine_first;
  constexpr bool lightning = has_lightning_style_method<H, Owner>();
  static_assert(!lightning, KILN_ERR_HANDLER_LIGHTNING_STYLE);
  constexpr bool non_const = any_event<0, n>([]<class E>(std::type_identity<E>) {
    return !Handles<H, E, Owner> && requires(H& h, E& e, Owner& o) { h.on(e, o); };
  });
  static_assert(lightning || !non_const, KILN_ERR_HANDLER_NON_CONST_EVENT);
  constexpr bool no_trainer = any_event<0, n>([]<class E>(std::type_identity<E>) {
    return !Handles<H, E, Owner> && requires(H& h, const E& e) { h.on(e); };
  });
  static_assert(lightning || non_const || !no_trainer, KILN_ERR_HANDLER_NO_TRAINER);
  constexpr auto handles = []<class E>(std::type_identity<E>) { return Handles<H, E, Owner>; };
  constexpr bool trainer_events = any_event<0, engine>(handles);
  constexpr bool engine_events = any_event<engine, n>(handles);
  constexpr bool reported = lightning || non_const || no_trainer;  // one mistake, one error
  static_assert(reported || trainer_events || !engine_events, KILN_ERR_HANDLER_ENGINE_EVENTS_ONLY);
  static_assert(reported || !callback || trainer_events || engine_events, KILN_ERR_CALLBACK_HANDLES_NOTHING);
  if constexpr (requires { H::template check_trainer<Owner>(); }) {
    constexpr bool checked = H::template check_trainer<Owner>();  // its static_asserts say what it needs
    (void)checked;
  }
  return true;
}

template <class Owner, class... Cs, class... Ls>
constexpr bool check_handlers(std::tuple<Cs...>*, std::tuple<Ls...>*) {
  return (check_handler<Cs, Owner, true>() && ...) && (check_handler<Ls, Owner, false>() && ...);
}

}  // namespace kiln::detail
