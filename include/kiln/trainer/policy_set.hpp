// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/policy_set.hpp — a Trainer's policy list resolved into types, with every compile-time check on it.
#pragma once
#include <tuple>
#include <type_traits>
#include <utility>

#include <kiln/callbacks/progress_bar.hpp>
#include <kiln/core/concepts/logger.hpp>
#include <kiln/core/concepts/precision.hpp>
#include <kiln/core/concepts/strategy.hpp>
#include <kiln/core/concepts/training_module.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/module_hooks.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/loggers/csv_logger.hpp>
#include <kiln/precision/fp32.hpp>
#include <kiln/profiler/pass_through.hpp>
#include <kiln/strategy/single_device.hpp>

namespace kiln::detail {

template <class CallbackList>
struct with_default_callbacks;
template <class... Cs>
struct with_default_callbacks<std::tuple<Cs...>> {
  // Lightning adds its progress bar unless the user gave one; config.enable_progress_bar turns it off.
  using type = std::conditional_t<(std::is_same_v<Cs, ProgressBar> || ...), std::tuple<Cs...>,
                                  std::tuple<Cs..., ProgressBar>>;
};

template <class... Ls>
constexpr bool check_loggers(std::tuple<Ls...>*) { return (check_logger<Ls>() && ...); }

/// `Trainer<Module, Policies...>` resolved: the policy types with their defaults
/// (Strategy<SingleDevice>, Precision<FP32>, Callbacks<> plus a ProgressBar, Loggers<CsvLogger>,
/// Profiler<PassThrough>).
/// Each requirement is checked separately, most basic first, so the first error is the right sentence.
template <class Module, class... Policies>
struct PolicySet {
  static constexpr bool private_base = std::is_base_of_v<torch::nn::Module, Module> && !torch_module<Module>;
  static_assert(!private_base, KILN_ERR_TORCH_MODULE_BASE_NOT_PUBLIC);
  static_assert(torch_module<Module> || private_base, KILN_ERR_NOT_A_TORCH_MODULE);
  static_assert(!declares_automatic_optimization<Module> || constant_automatic_optimization<Module>,
                KILN_ERR_AUTOMATIC_OPTIMIZATION_NOT_CONSTANT);
  // A bool, not the concept: GCC explains a failed concept in a static_assert over several notes.
  static constexpr bool configure_optimizers_declared = has_configure_optimizers<Module>;
  static_assert(configure_optimizers_declared, KILN_ERR_NO_CONFIGURE_OPTIMIZERS);
  static constexpr bool configure_optimizers_ok = [] {
    if constexpr (has_configure_optimizers<Module>) return configure_optimizers_returns_optimizers<Module>;
    else return true;
  }();
  static_assert(configure_optimizers_ok, KILN_ERR_CONFIGURE_OPTIMIZERS_RETURN);
  static constexpr bool all_arguments_are_policies = (is_policy<Policies> && ...);
  static_assert(all_arguments_are_policies, KILN_ERR_NOT_A_POLICY);
  static_assert(count_slot<strategy_slot, Policies...> <= 1, KILN_ERR_STRATEGY_TWICE);
  static_assert(count_slot<precision_slot, Policies...> <= 1, KILN_ERR_PRECISION_TWICE);
  static_assert(count_slot<callbacks_slot, Policies...> <= 1, KILN_ERR_CALLBACKS_TWICE);
  static_assert(count_slot<loggers_slot, Policies...> <= 1, KILN_ERR_LOGGERS_TWICE);
  static_assert(count_slot<profiler_slot, Policies...> <= 1, KILN_ERR_PROFILER_TWICE);
  // Each hook's own static_assert says what is wrong.
  static_assert(module_hooks_ok<Module>(std::make_index_sequence<event::count>{}));

  using strategy_tag = typename find_slot_t<strategy_slot, Strategy<SingleDevice>, Policies...>::tag;
  using precision_tag = typename find_slot_t<precision_slot, Precision<FP32>, Policies...>::tag;
  static_assert(is_strategy_tag<strategy_tag>, KILN_ERR_UNKNOWN_STRATEGY);
  static_assert(is_precision_tag<precision_tag>, KILN_ERR_UNKNOWN_PRECISION);
  using profiler_tag = typename find_slot_t<profiler_slot, Profiler<PassThrough>, Policies...>::tag;
  static_assert(is_profiler_tag<profiler_tag>, KILN_ERR_UNKNOWN_PROFILER);
  using profiler_type =
      std::conditional_t<is_profiler_tag<profiler_tag>, ProfilerImpl<profiler_tag>, ProfilerImpl<PassThrough>>;
  // After an unknown tag, the defaults stand in, so that one mistake gives one error.
  using strategy_type =
      std::conditional_t<is_strategy_tag<strategy_tag>, StrategyImpl<strategy_tag>, StrategyImpl<SingleDevice>>;
  using precision_type =
      std::conditional_t<is_precision_tag<precision_tag>, PrecisionImpl<precision_tag>, PrecisionImpl<FP32>>;
  using callbacks_type =
      typename with_default_callbacks<typename find_slot_t<callbacks_slot, Callbacks<>, Policies...>::types>::type;
  using loggers_type = typename find_slot_t<loggers_slot, Loggers<CsvLogger>, Policies...>::types;

  // Each check_* has its own static_asserts, which say what is wrong; these make the checks run.
  static_assert(check_strategy<strategy_type>());
  static_assert(check_precision<precision_type>());
  static_assert(check_loggers(static_cast<loggers_type*>(nullptr)));

  template <class... Ts>
  static constexpr bool unique(std::tuple<Ts...>*) { return all_unique<Ts...>; }
  static constexpr bool handler_types_unique = unique(
      static_cast<decltype(std::tuple_cat(std::declval<callbacks_type>(), std::declval<loggers_type>()))*>(nullptr));
  static_assert(handler_types_unique, KILN_ERR_HANDLER_LISTED_TWICE);

  static constexpr bool automatic_optimization = detail::automatic_optimization<Module>;

  /// The constructor's arguments after the config: each a listed callback or logger, or the
  /// strategy's or precision's tag, each at most once.
  template <class... Args>
  static constexpr bool arguments_ok() {
    static_assert((argument_ok<Args>() && ...));  // each argument_ok said what is wrong
    static_assert(all_unique<Args...>, KILN_ERR_INSTANCE_TWICE);
    return true;  // the static_asserts above said what is wrong
  }
  /// One argument; the "required from" line names its type.
  template <class Arg>
  static constexpr bool argument_ok() {
    constexpr bool ok = listed<Arg>(static_cast<callbacks_type*>(nullptr)) || listed<Arg>(static_cast<loggers_type*>(nullptr)) ||
                        std::is_same_v<Arg, precision_tag> || std::is_same_v<Arg, strategy_tag> ||
                        std::is_same_v<Arg, profiler_tag>;
    static_assert(ok || !is_strategy_tag<Arg>, KILN_ERR_STRATEGY_OPTIONS_NOT_LISTED);
    static_assert(ok || !is_precision_tag<Arg>, KILN_ERR_PRECISION_OPTIONS_NOT_LISTED);
    static_assert(ok || is_strategy_tag<Arg> || is_precision_tag<Arg>, KILN_ERR_INSTANCE_NOT_LISTED);
    return true;  // a static_assert above reported it: one mistake, one error
  }
  template <class T, class... Ts>
  static constexpr bool listed(std::tuple<Ts...>*) { return (std::is_same_v<T, Ts> || ...); }
};

}  // namespace kiln::detail
