// SPDX-License-Identifier: Apache-2.0
// kiln/core/diagnostics.hpp — every sentence kiln prints for a compile-time mistake, in one place.
#pragma once

#include <cstddef>

namespace kiln::detail {
/// The index of the first false in `met`, or N if none: a list of requirements checked as
/// `static_assert(first_unmet({...}) != i, sentence_i)` reports only the first one unmet, so one
/// mistake gives one error (and GCC explains a plain comparison in one note, a concept in many).
template <std::size_t N>
constexpr std::size_t first_unmet(const bool (&met)[N]) {
  for (std::size_t i = 0; i < N; ++i)
    if (!met[i]) return i;
  return N;
}
}  // namespace kiln::detail

// C++20 static_assert needs a string literal, so the messages are macros. Compile-fail tests in
// tests/compile_fail/ quote these texts: rewording one breaks its test on purpose.
// Shape: "kiln: <what is wrong>. <how to fix>."

#define KILN_ERR_NOT_A_TORCH_MODULE                                                              \
  "kiln: the module must derive from torch::nn::Module. Declare it as `struct Net : "           \
  "torch::nn::Module { ... }`."
#define KILN_ERR_NO_TRAINING_STEP                                                                \
  "kiln: the module has no training_step. Add `torch::Tensor training_step(const Batch& batch, " \
  "kiln::StepContext& ctx)` that returns the loss."
#define KILN_ERR_TRAINING_STEP_SIGNATURE KILN_ERR_STEP_SIGNATURE("training_step", \
  "torch::Tensor training_step(const Batch& batch, kiln::StepContext& ctx)")
#define KILN_ERR_VALIDATION_STEP_SIGNATURE KILN_ERR_STEP_SIGNATURE("validation_step", \
  "void validation_step(const Batch& batch, kiln::StepContext& ctx)")
/// A step the module has but kiln cannot call: said as such, not as a missing step.
#define KILN_ERR_STEP_SIGNATURE(step, declaration)                                               \
  "kiln: the module's " step " cannot be called with (batch, kiln::StepContext&) for this data: " \
  "it is private, or its parameters differ (a non-const Batch& does not take const data, the "   \
  "context is required). Declare it public as `" declaration "`."
#define KILN_ERR_PREDICT_STEP_VOID                                                               \
  "kiln: the module's predict_step returns void, but predict() returns what predict_step "        \
  "returned for each batch. Return the batch's predictions, e.g. a torch::Tensor."
#define KILN_ERR_TORCH_MODULE_BASE_NOT_PUBLIC                                                    \
  "kiln: the module derives from torch::nn::Module privately (a `class` does unless told), so "   \
  "kiln cannot use it as one. Derive publicly: `class Net : public torch::nn::Module`."
#define KILN_ERR_AUTOMATIC_OPTIMIZATION_NOT_CONSTANT                                             \
  "kiln: the module's automatic_optimization is not a compile-time constant, and it chooses the " \
  "training loop at compile time. Declare it as `static constexpr bool automatic_optimization = " \
  "false;`."
#define KILN_ERR_TRAINING_STEP_RETURN                                                            \
  "kiln: training_step must return the loss as a torch::Tensor. Return the loss tensor (or "    \
  "void, with automatic_optimization = false)."
#define KILN_ERR_NO_CONFIGURE_OPTIMIZERS                                                         \
  "kiln: the module has no configure_optimizers(). Add one that returns "                       \
  "std::unique_ptr<torch::optim::...>, kiln::OptimizerConfig or std::vector<kiln::OptimizerConfig>."
#define KILN_ERR_CONFIGURE_OPTIMIZERS_RETURN                                                     \
  "kiln: configure_optimizers() returns a type kiln does not understand. Return "               \
  "std::unique_ptr<torch::optim::...>, kiln::OptimizerConfig or std::vector<kiln::OptimizerConfig>."
#define KILN_ERR_NOT_A_POLICY                                                                    \
  "kiln: a Trainer argument after the module is not a policy. Use Strategy<...>, Precision<...>, " \
  "Callbacks<...> or Loggers<...>."
#define KILN_ERR_STRATEGY_TWICE                                                                  \
  "kiln: Strategy<...> is given twice. Give each policy slot at most once."
#define KILN_ERR_PRECISION_TWICE                                                                 \
  "kiln: Precision<...> is given twice. Give each policy slot at most once."
#define KILN_ERR_CALLBACKS_TWICE                                                                 \
  "kiln: Callbacks<...> is given twice. List all callbacks in one Callbacks<...>."
#define KILN_ERR_LOGGERS_TWICE                                                                   \
  "kiln: Loggers<...> is given twice. List all loggers in one Loggers<...>."
#define KILN_ERR_PROFILER_TWICE                                                                  \
  "kiln: Profiler<...> is given twice. Give each policy slot at most once."
#define KILN_ERR_UNKNOWN_PROFILER                                                                \
  "kiln: Profiler<T> names no profiler kiln knows. Use kiln::Simple or kiln::Torch from "          \
  "kiln/profiler/."
#define KILN_ERR_HANDLER_LISTED_TWICE                                                            \
  "kiln: the same callback or logger type is listed twice. Wrap one of them (e.g. kiln::every) " \
  "or list each type once."
#define KILN_ERR_UNKNOWN_STRATEGY                                                                \
  "kiln: Strategy<T> names no strategy kiln knows. Use kiln::SingleDevice or another tag from "  \
  "kiln/strategy/."
#define KILN_ERR_UNKNOWN_PRECISION                                                               \
  "kiln: Precision<T> names no precision kiln knows. Use kiln::FP32 or another tag from "        \
  "kiln/precision/."
#define KILN_ERR_INSTANCE_NOT_LISTED                                                             \
  "kiln: an object passed to the Trainer constructor is neither a TrainerConfig, the tag of its "  \
  "Precision<...>, nor a type listed in Callbacks<...> or Loggers<...>. Add its type to the "     \
  "policy list."
#define KILN_ERR_STRATEGY_OPTIONS_NOT_LISTED                                                     \
  "kiln: a strategy's options (such as kiln::DDP{...}) were passed to the Trainer constructor, "  \
  "but the Trainer's Strategy<...> is another strategy. Give the Trainer that strategy: "         \
  "kiln::Trainer<Net, kiln::Strategy<kiln::DDP>>."
#define KILN_ERR_PRECISION_OPTIONS_NOT_LISTED                                                    \
  "kiln: a precision's options (such as kiln::FP16Mixed{...}) were passed to the Trainer "        \
  "constructor, but the Trainer's Precision<...> is another precision. Give the Trainer that "    \
  "precision: kiln::Trainer<Net, kiln::Precision<kiln::FP16Mixed>>."
#define KILN_ERR_INSTANCE_TWICE                                                                  \
  "kiln: two objects of the same callback or logger type were passed to the Trainer "           \
  "constructor. Pass each configured callback or logger once."
#define KILN_ERR_CALLBACK_NOT_LISTED                                                             \
  "kiln: trainer.callback<T>() names a type that is not in Callbacks<...>. Add it to the list."
#define KILN_ERR_LOGGER_NOT_LISTED                                                               \
  "kiln: trainer.logger<T>() names a type that is not in Loggers<...>. Add it to the list."
#define KILN_ERR_STRATEGY_MEMBER(member)                                                         \
  "kiln: the strategy (StrategyImpl<Tag> of Strategy<Tag>) has no " member ". Add it; "          \
  "kiln/core/concepts/strategy.hpp lists what a strategy offers."
#define KILN_ERR_PRECISION_MEMBER(member)                                                        \
  "kiln: the precision (PrecisionImpl<Tag> of Precision<Tag>) has no " member ". Add it, or "    \
  "derive from kiln::detail::PrecisionDefaults."
#define KILN_ERR_LOGGER_MEMBER(member)                                                           \
  "kiln: a type listed in Loggers<...> has no " member ", so it is not a logger. List "          \
  "callbacks in Callbacks<...>, or add the member."
#define KILN_ERR_EVENT_NOT_COUNTED                                                               \
  "kiln: kiln::every() and kiln::once() count kiln's own events only, and this event is not one "  \
  "of kiln::event::all. Count your own event inside the handler instead."
#define KILN_ERR_NOT_A_DATA_SOURCE                                                               \
  "kiln: the data is not a data source. Pass a range of batches (with begin/end), a pointer to " \
  "one such as a torch::data loader, or a DataModule."
#define KILN_ERR_DATAMODULE_NO_LOADER(call, method)                                              \
  "kiln: " call " was given a DataModule without " method "(). Add `auto " method "()` returning " \
  "the batches of that stage."
#define KILN_ERR_DATAMODULE_LOADER_UNUSABLE(method)                                              \
  "kiln: the DataModule's " method "() cannot be called as dm." method "() or does not return "   \
  "batches (it is private, takes parameters, or returns void or one batch). Declare it public as " \
  "`auto " method "()` returning a range of batches or a pointer to a torch::data loader."
#define KILN_ERR_DATAMODULE_MISSPELLED(found, expected)                                          \
  "kiln: the data has " found "(), but kiln asks a DataModule for its loaders by Lightning's "    \
  "names. Rename it to " expected "()."
#define KILN_ERR_NO_VALIDATION_STEP                                                              \
  "kiln: validation data was given but the module has no validation_step. Add `void "           \
  "validation_step(const Batch& batch, kiln::StepContext& ctx)` or fit without validation data."
#define KILN_ERR_NO_TEST_STEP                                                                    \
  "kiln: test() was called but the module has no test_step. Add `void test_step(const Batch& "  \
  "batch, kiln::StepContext& ctx)`."
#define KILN_ERR_NO_PREDICT_STEP                                                                 \
  "kiln: predict() was called but the module has no predict_step. Add `Output "                 \
  "predict_step(const Batch& batch, kiln::StepContext& ctx)`."
#define KILN_ERR_PROCESS_SIGNATURE                                                               \
  "kiln: the Engine's process function cannot be called as process(engine, batch). Take "       \
  "(auto& engine, const Batch& batch)."
/// The module hook `hook` exists but cannot be called as documented: the near miss that
/// Lightning and ensmallen skip silently.
#define KILN_ERR_HOOK_SIGNATURE(hook)                                                            \
  "kiln: the module's " #hook " has the wrong parameters, so kiln would never call it. Declare " \
  "it as `void " #hook "(kiln::StepContext& ctx)`."
#define KILN_ERR_HANDLER_NOT_DEFAULT_CONSTRUCTIBLE                                               \
  "kiln: a listed callback or logger has no default constructor and was not passed to the "      \
  "Trainer constructor. Pass a configured instance, e.g. Trainer(config, kiln::every(10, cb))."
// A callback or logger whose handler kiln would never call: each near miss its own sentence. The
// "In instantiation of" line above the error names the type.
#define KILN_ERR_HANDLER_LIGHTNING_STYLE                                                         \
  "kiln: a callback or logger has a Lightning-style on_<event> method, which kiln never calls. " \
  "Handle the event as `void on(const kiln::event::train_epoch_end&, auto& trainer)`."
#define KILN_ERR_HANDLER_NON_CONST_EVENT                                                         \
  "kiln: a callback's or logger's on(...) takes an event by non-const reference, so kiln, which " \
  "passes events as const, would never call it. Take it as `const kiln::event::X&`."
#define KILN_ERR_HANDLER_NO_TRAINER                                                              \
  "kiln: a callback's or logger's on(event) has no trainer parameter, so kiln would never call " \
  "it. Declare it as `void on(const kiln::event::X&, auto& trainer)`."
#define KILN_ERR_HANDLER_ENGINE_EVENTS_ONLY                                                      \
  "kiln: a callback or logger handles only Engine events (started, epoch_completed, ...), which " \
  "a Trainer never emits. Handle the Trainer's, e.g. `void on(const kiln::event::train_epoch_end&, " \
  "auto& trainer)`."
#define KILN_ERR_CALLBACK_HANDLES_NOTHING                                                        \
  "kiln: a type listed in Callbacks<...> handles no event, so kiln would never call it. Give it " \
  "`void on(const kiln::event::X&, auto& trainer)` for the events it needs."
// kiln::cli::LightningCLI's requirements on what it builds and chooses.
#define KILN_ERR_CLI_CANNOT_BUILD(what, type)                                                    \
  "kiln: LightningCLI builds the " what " from the struct its hparams() returns (`" type "(hparams)`) " \
  "or by default construction, and this " what " allows neither. Add a constructor from its "  \
  "hyper-parameter struct (or a default constructor)."
#define KILN_ERR_CLI_POLICY_NAME                                                                 \
  "kiln: a precision or strategy listed in Precisions<...> or Strategies<...> has no name for "  \
  "the command line. Give its tag `static constexpr std::string_view cli_name = \"...\";`."
