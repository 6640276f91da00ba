// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/lambda_callback.hpp — a callback from lambdas (Lightning's LambdaCallback), and `overloaded` to combine them.
#pragma once
#include <type_traits>
#include <utility>

namespace kiln {

/// Calls `f(event, trainer)` for every event `f` accepts: `f` is a lambda taking
/// `(const kiln::event::X&, auto& trainer)`, or several combined with kiln::overloaded.
/// List it by type: `auto cb = kiln::lambda_callback(...); Trainer<M, Callbacks<decltype(cb)>> t(cfg, cb);`
template <class F>
class LambdaCallback {
 public:
  explicit LambdaCallback(F f) : f_(std::move(f)) {}
  template <class Event, class T>
    requires std::is_invocable_v<F&, const Event&, T&>
  void on(const Event& e, T& t) {
    f_(e, t);
  }

 private:
  F f_;
};

/// One callable from several lambdas (each handles its own event type).
template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

/// A LambdaCallback calling `f` (or the lambdas `fs`, overloaded) for the events it takes.
template <class... Fs>
auto lambda_callback(Fs... fs) {
  if constexpr (sizeof...(Fs) == 1) return LambdaCallback<Fs...>(std::move(fs)...);
  else return LambdaCallback<overloaded<Fs...>>(overloaded<Fs...>{std::move(fs)...});
}

}  // namespace kiln
