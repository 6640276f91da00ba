// SPDX-License-Identifier: Apache-2.0
// kiln/core/module_hooks.hpp — the module's optional `on_<event>(StepContext&)` hooks, and the near-miss check.
#pragma once
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/step_context.hpp>

namespace kiln::detail {

/// module_hook<Event>: whether module M has the hook for Event, and how to call it.
/// Primary: the Engine's events, which have no module hook.
template <class Event>
struct module_hook {
  static constexpr bool exists = false;
  template <class M>
  static constexpr bool callable = false;
  template <class M>
  static constexpr bool near_miss = false;
  template <class M>
  static constexpr bool check() { return true; }
  template <class M>
  static void call(M&, StepContext&) {}
};

// One macro for the 35 hooks: each needs detection, the near-miss check (the hook name exists but
// the call does not compile: Lightning and ensmallen ignore it silently) and the call. The
// check works for plain members; overloaded or template hooks are not checked.
#define KILN_MODULE_HOOK(event_name)                                                       \
  template <>                                                                              \
  struct module_hook<event::event_name> {                                                  \
    static constexpr bool exists = true;                                                   \
    template <class M>                                                                     \
    static constexpr bool callable =                                                       \
        requires(M& m, StepContext& c) { m.on_##event_name(c); };                          \
    /* the hook's name is there but the call does not compile */                        \
    template <class M>                                                                     \
    static constexpr bool near_miss = !callable<M> && requires { &M::on_##event_name; };   \
    template <class M>                                                                     \
    static constexpr bool check() {                                                        \
      constexpr bool module_hook_has_documented_signature = !near_miss<M>;                 \
      static_assert(module_hook_has_documented_signature,                                  \
                    KILN_ERR_HOOK_SIGNATURE(on_##event_name));                             \
      return true; /* the static_assert reported it: one mistake, one error */             \
    }                                                                                      \
    template <class M>                                                                     \
    static void call(M& m, StepContext& c) { m.on_##event_name(c); }                       \
  };

// One per event a Trainer emits, spelled out rather than through KILN_TRAINER_EVENTS: a static_assert
// inside two levels of macros doubles the notes under its error.
KILN_MODULE_HOOK(setup)
KILN_MODULE_HOOK(fit_start)
KILN_MODULE_HOOK(sanity_check_start)
KILN_MODULE_HOOK(sanity_check_end)
KILN_MODULE_HOOK(train_start)
KILN_MODULE_HOOK(train_epoch_start)
KILN_MODULE_HOOK(train_batch_start)
KILN_MODULE_HOOK(before_backward)
KILN_MODULE_HOOK(after_backward)
KILN_MODULE_HOOK(before_optimizer_step)
KILN_MODULE_HOOK(before_zero_grad)
KILN_MODULE_HOOK(train_batch_end)
KILN_MODULE_HOOK(train_epoch_end)
KILN_MODULE_HOOK(train_end)
KILN_MODULE_HOOK(fit_end)
KILN_MODULE_HOOK(teardown)
KILN_MODULE_HOOK(validation_start)
KILN_MODULE_HOOK(validation_epoch_start)
KILN_MODULE_HOOK(validation_batch_start)
KILN_MODULE_HOOK(validation_batch_end)
KILN_MODULE_HOOK(validation_epoch_end)
KILN_MODULE_HOOK(validation_end)
KILN_MODULE_HOOK(test_start)
KILN_MODULE_HOOK(test_epoch_start)
KILN_MODULE_HOOK(test_batch_start)
KILN_MODULE_HOOK(test_batch_end)
KILN_MODULE_HOOK(test_epoch_end)
KILN_MODULE_HOOK(test_end)
KILN_MODULE_HOOK(predict_start)
KILN_MODULE_HOOK(predict_epoch_start)
KILN_MODULE_HOOK(predict_batch_start)
KILN_MODULE_HOOK(predict_batch_end)
KILN_MODULE_HOOK(predict_epoch_end)
KILN_MODULE_HOOK(predict_end)
KILN_MODULE_HOOK(exception)
#undef KILN_MODULE_HOOK
// Every event a Trainer emits has its hook above, and the Engine's have none.
static_assert([]<std::size_t... I>(std::index_sequence<I...>) {
  return ((module_hook<std::tuple_element_t<I, event::all>>::exists == (I < event::engine_first)) && ...);
}(std::make_index_sequence<event::count>{}));

/// Checks every hook of M at once, called with `std::make_index_sequence<event::count>{}` in the
/// Trainer's policy checks, so one mistake gives one error before anything else is compiled. A fold
/// here rather than in a lambda: each level of calls is one more "required from" line under the error.
template <class M, std::size_t... I>
constexpr bool module_hooks_ok(std::index_sequence<I...>) {
  return (module_hook<std::tuple_element_t<I, event::all>>::template check<M>() && ...);
}

}  // namespace kiln::detail
