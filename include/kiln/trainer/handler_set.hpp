// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/handler_set.hpp — a Trainer's callbacks and loggers: built from its arguments, sent every event.
#pragma once
#include <concepts>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>

#include <kiln/core/diagnostics.hpp>
#include <kiln/core/dispatch.hpp>
#include <kiln/core/module_hooks.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/profiler/profiler.hpp>

namespace kiln::detail {

template <class CallbackList, class LoggerList>
class HandlerSet;

/// The callbacks Cs... and loggers Ls... of a Trainer, in declaration order.
template <class... Cs, class... Ls>
class HandlerSet<std::tuple<Cs...>, std::tuple<Ls...>> {
 public:
  /// True when T is one of the listed callbacks or loggers.
  template <class T>
  static constexpr bool listed = (std::is_same_v<T, Cs> || ...) || (std::is_same_v<T, Ls> || ...);
  template <class T>
  static constexpr bool is_callback = (std::is_same_v<T, Cs> || ...);
  template <class T>
  static constexpr bool is_logger = (std::is_same_v<T, Ls> || ...);

  /// True when a callback, a logger or Module's on_<event> hook takes Event.
  template <class Event, class Owner, class Module>
  static constexpr bool handles = (Handles<Cs, Event, Owner> || ...) || (Handles<Ls, Event, Owner> || ...) ||
                                  module_hook<Event>::template callable<Module>;

  /// Each listed type from the argument of that type, else default-constructed.
  template <class... Args>
  explicit HandlerSet(Args&&... args)
      : callbacks_(make_one<Cs>(std::forward<Args>(args)...)...), loggers_(make_one<Ls>(std::forward<Args>(args)...)...) {}

  /// Sends `e` to the callbacks (declaration order), the loggers, then the module's on_<event> hook.
  template <class Event, class Owner, class Module>
  void emit(const Event& e, Owner& owner, Module* module, StepContext* ctx) {
    if constexpr (profiled<Owner>) {  // each handler and the hook timed
      dispatch_profiled(callbacks_, e, owner, "Callback");
      dispatch_profiled(loggers_, e, owner, "Logger");
      if constexpr (module_hook<Event>::template callable<Module>) {
        if (module && ctx) {
          [[maybe_unused]] const auto scope = owner.profiler().scope(handler_action<Module, Event>("LightningModule"));
          module_hook<Event>::call(*module, *ctx);
        }
      }
    } else {
      dispatch(callbacks_, e, owner);
      dispatch(loggers_, e, owner);
      if constexpr (module_hook<Event>::template callable<Module>) {
        if (module && ctx) module_hook<Event>::call(*module, *ctx);
      }
    }
  }

  template <class C>
  C& callback() { return std::get<C>(callbacks_); }
  template <class L>
  L& logger() { return std::get<L>(loggers_); }
  std::tuple<Cs...>& callbacks() { return callbacks_; }
  std::tuple<Ls...>& loggers() { return loggers_; }

 private:
  template <class Owner>
  static constexpr bool profiled = requires(Owner& o) {
    { std::remove_cvref_t<decltype(o.profiler())>::enabled } -> std::convertible_to<bool>;
  } && std::remove_cvref_t<decltype(std::declval<Owner&>().profiler())>::enabled;

  /// dispatch(), each handler's call timed as "[<kind>]<type>.on_<event>".
  template <class Event, class Owner, class... Hs>
  static void dispatch_profiled(std::tuple<Hs...>& handlers, const Event& e, Owner& owner, const char* kind) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ([&] {
        if constexpr (Handles<Hs, Event, Owner>) {
          [[maybe_unused]] const auto scope = owner.profiler().scope(handler_action<Hs, Event>(kind));
          std::get<I>(handlers).on(e, owner);
        }
      }(), ...);
    }(std::index_sequence_for<Hs...>{});
  }

  template <class H, class A, class... Rest>
  static decltype(auto) pick(A&& a, Rest&&... rest) {
    if constexpr (std::is_same_v<std::remove_cvref_t<A>, H>) return std::forward<A>(a);
    else return pick<H>(std::forward<Rest>(rest)...);
  }
  template <class H, class... Args>
  static H make_one(Args&&... args) {
    if constexpr ((std::is_same_v<std::remove_cvref_t<Args>, H> || ...)) {
      return H(pick<H>(std::forward<Args>(args)...));
    } else {
      static_assert(std::is_default_constructible_v<H>, KILN_ERR_HANDLER_NOT_DEFAULT_CONSTRUCTIBLE);
      if constexpr (std::is_default_constructible_v<H>) return H{};
      else std::terminate();  // unreachable: the static_assert above has already failed
    }
  }

  std::tuple<Cs...> callbacks_;
  std::tuple<Ls...> loggers_;
};

/// A strategy or precision built from its configured tag among args (`kiln::FP16Mixed{...}`,
/// `kiln::DDP{...}`), else default-constructed.
template <class Impl, class Tag, class... Args>
Impl make_policy(const Args&... args) {
  if constexpr ((std::is_same_v<std::remove_cvref_t<Args>, Tag> || ...)) {
    const Tag* tag = nullptr;
    ((void)[&] { if constexpr (std::is_same_v<std::remove_cvref_t<Args>, Tag>) tag = &args; }(), ...);
    return Impl(*tag);
  } else {
    return Impl();
  }
}

}  // namespace kiln::detail
