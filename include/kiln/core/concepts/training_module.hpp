// SPDX-License-Identifier: Apache-2.0
// kiln/core/concepts/training_module.hpp — what a module must have for Trainer::fit.
#pragma once
#include <concepts>
#include <type_traits>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <kiln/core/diagnostics.hpp>
#include <kiln/core/member_probe.hpp>
#include <kiln/core/optimizer_config.hpp>
#include <kiln/core/step_context.hpp>

namespace kiln {
namespace detail {

template <class M>
concept torch_module = std::derived_from<M, torch::nn::Module>;

/// The module has a public, non-template, non-overloaded member called training_step.
template <class M>
concept names_training_step = requires { &M::training_step; };

// declares_<name><M>: M has a member called <name> that kiln may not be able to call.
KILN_DETAIL_MEMBER_PROBE(training_step)
KILN_DETAIL_MEMBER_PROBE(validation_step)
KILN_DETAIL_MEMBER_PROBE(test_step)
KILN_DETAIL_MEMBER_PROBE(predict_step)
KILN_DETAIL_MEMBER_PROBE(automatic_optimization)

template <class M, class Batch>
concept has_training_step = requires(M& m, Batch& b, StepContext& ctx) { m.training_step(b, ctx); };

template <class M, class Batch>
using training_step_result = decltype(std::declval<M&>().training_step(std::declval<Batch&>(), std::declval<StepContext&>()));

template <class M>
concept has_configure_optimizers = requires(M& m) { m.configure_optimizers(); };

template <class M>
concept configure_optimizers_returns_optimizers =
    optimizers_return<std::remove_cvref_t<decltype(std::declval<M&>().configure_optimizers())>>;

/// `M::automatic_optimization` is a compile-time constant (a static constexpr member).
template <class M>
concept constant_automatic_optimization = requires { &M::automatic_optimization; } &&
    !std::is_member_pointer_v<decltype(&M::automatic_optimization)> &&
    std::is_const_v<std::remove_pointer_t<decltype(&M::automatic_optimization)>>;

/// Manual optimization: the module declares `static constexpr bool automatic_optimization = false`.
template <class M>
inline constexpr bool automatic_optimization = [] {
  if constexpr (constant_automatic_optimization<M>) return bool(M::automatic_optimization);
  else return true;  // a member that is not constant: the Trainer's static_assert says so
}();

template <class M, class Batch>
concept training_step_returns_loss = has_training_step<M, Batch> &&
    (std::same_as<std::remove_cvref_t<training_step_result<M, Batch>>, at::Tensor> ||
     (!automatic_optimization<M> && std::is_void_v<training_step_result<M, Batch>>));

}  // namespace detail

/// A module Trainer::fit can train on batches of type Batch.
///
/// *Requires*: derives from torch::nn::Module; `at::Tensor training_step(Batch&, StepContext&)`
/// returning the loss (void allowed with `automatic_optimization = false`);
/// `configure_optimizers()` returning `std::unique_ptr<Optimizer>`, `OptimizerConfig` or
/// `std::vector<OptimizerConfig>`.
/// *Optional hooks*: `validation_step`, `test_step`, `predict_step` (same parameters), and
/// `void on_<event>(StepContext&)` for each event in kiln/core/events.hpp (see module_hooks.hpp).
/// *Models*: the modules in examples/ and tests/.
template <class M, class Batch>
concept TrainingModule = detail::torch_module<M> && detail::has_training_step<M, Batch> &&
                         detail::training_step_returns_loss<M, Batch> &&
                         detail::has_configure_optimizers<M> &&
                         detail::configure_optimizers_returns_optimizers<M>;

/// Optional step hooks, detected where they are called.
template <class M, class Batch>
concept HasValidationStep = requires(M& m, Batch& b, StepContext& ctx) { m.validation_step(b, ctx); };
template <class M, class Batch>
concept HasTestStep = requires(M& m, Batch& b, StepContext& ctx) { m.test_step(b, ctx); };
template <class M, class Batch>
concept HasPredictStep = requires(M& m, Batch& b, StepContext& ctx) { m.predict_step(b, ctx); };

namespace detail {

/// fit()'s checks of the training step on batches of type Batch, each its own sentence; true
/// when fit() can call it.
template <class M, class Batch>
constexpr bool training_step_ok() {
  constexpr bool callable = has_training_step<M, Batch>;
  constexpr bool declared = names_training_step<M> || declares_training_step<M>;
  static_assert(callable || declared, KILN_ERR_NO_TRAINING_STEP);
  static_assert(callable || !declared, KILN_ERR_TRAINING_STEP_SIGNATURE);
  constexpr bool returns_loss = [] {
    if constexpr (callable) return training_step_returns_loss<M, Batch>;
    else return true;
  }();
  static_assert(returns_loss, KILN_ERR_TRAINING_STEP_RETURN);
  return callable && returns_loss && has_configure_optimizers<M> && configure_optimizers_returns_optimizers<M>;
}

/// The module declares validation_step but kiln cannot call it on Batch (private, other parameters).
template <class M, class Batch>
inline constexpr bool validation_step_near_miss = !HasValidationStep<M, Batch> && declares_validation_step<M>;

/// validate()'s and fit()'s check of validation_step; true when it can be called.
template <class M, class Batch>
constexpr bool validation_step_ok() {
  static_assert(!validation_step_near_miss<M, Batch>,
                KILN_ERR_VALIDATION_STEP_SIGNATURE);
  static_assert(HasValidationStep<M, Batch> || declares_validation_step<M>, KILN_ERR_NO_VALIDATION_STEP);
  return HasValidationStep<M, Batch>;
}

/// validate()'s (S = validate) or test()'s check of its step; true when it can be called.
template <Stage S, class M, class Batch>
constexpr bool evaluation_step_ok() {
  if constexpr (S == Stage::test) {
    constexpr bool callable = HasTestStep<M, Batch>;
    static_assert(callable || !declares_test_step<M>,
                  KILN_ERR_STEP_SIGNATURE("test_step", "void test_step(const Batch& batch, kiln::StepContext& ctx)"));
    static_assert(callable || declares_test_step<M>, KILN_ERR_NO_TEST_STEP);
    return callable;
  } else {
    return validation_step_ok<M, Batch>();
  }
}

/// The step of stage S (validation_step or test_step).
template <Stage S, class M, class Batch>
void evaluation_step(M& m, Batch& b, StepContext& ctx) {
  if constexpr (S == Stage::test) m.test_step(b, ctx);
  else m.validation_step(b, ctx);
}

/// predict_step(batch, ctx) returns something predict() can collect (not void).
template <class M, class Batch>
concept predict_step_returns_value = HasPredictStep<M, Batch> &&
    !std::is_void_v<decltype(std::declval<M&>().predict_step(std::declval<Batch&>(), std::declval<StepContext&>()))>;

template <class M, class Batch>
constexpr bool predict_step_ok() {
  constexpr bool callable = HasPredictStep<M, Batch>;
  static_assert(callable || !declares_predict_step<M>,
                KILN_ERR_STEP_SIGNATURE("predict_step", "Output predict_step(const Batch& batch, kiln::StepContext& ctx)"));
  static_assert(callable || declares_predict_step<M>, KILN_ERR_NO_PREDICT_STEP);
  static_assert(!callable || predict_step_returns_value<M, Batch>, KILN_ERR_PREDICT_STEP_VOID);
  return predict_step_returns_value<M, Batch>;
}

}  // namespace detail

}  // namespace kiln
