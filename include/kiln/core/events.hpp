// SPDX-License-Identifier: Apache-2.0
// kiln/core/events.hpp — every event kiln emits, as tag types (a misspelled event does not compile).
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <kiln/core/diagnostics.hpp>
#include <kiln/core/stage.hpp>

namespace at { class Tensor; }

/// Events are empty (or small payload) structs; a handler is an overload
/// `void on(kiln::event::X, auto& trainer)`. Handlers are called in declaration order:
/// callbacks, then loggers, then the module's `on_X(kiln::StepContext&)` hook.
///
/// Order of one fit() with validation (Lightning 2.x):
///   setup, fit_start,
///   sanity_check_start, [validation_start, validation_epoch_start,
///     (validation_batch_start, validation_batch_end)*, validation_epoch_end, validation_end],
///   sanity_check_end,
///   train_start,
///   per epoch: train_epoch_start,
///     per batch: train_batch_start, before_backward, after_backward,
///                [before_optimizer_step, before_zero_grad]  (when the optimizer steps),
///                train_batch_end, [validation ...]  (when val_check_interval is due)
///     [validation ...]  (at epoch end when due), train_epoch_end,
///   train_end, fit_end, teardown.
/// validate()/test()/predict() emit setup, <stage>_start, <stage>_epoch_start, batches,
/// <stage>_epoch_end, <stage>_end, teardown. `exception` is emitted before an error propagates.
namespace kiln::event {

// clang-format off
// Fit
struct setup                  { Stage stage; static constexpr std::string_view name = "setup"; };
struct fit_start              { static constexpr std::string_view name = "fit_start"; };
struct sanity_check_start     { static constexpr std::string_view name = "sanity_check_start"; };
struct sanity_check_end       { static constexpr std::string_view name = "sanity_check_end"; };
struct train_start            { static constexpr std::string_view name = "train_start"; };
struct train_epoch_start      { static constexpr std::string_view name = "train_epoch_start"; };
struct train_batch_start      { std::int64_t batch_idx; static constexpr std::string_view name = "train_batch_start"; };
struct before_backward        { const at::Tensor& loss; static constexpr std::string_view name = "before_backward"; };
struct after_backward         { static constexpr std::string_view name = "after_backward"; };
struct before_optimizer_step  { std::size_t optimizer_idx; static constexpr std::string_view name = "before_optimizer_step"; };
struct before_zero_grad       { std::size_t optimizer_idx; static constexpr std::string_view name = "before_zero_grad"; };
struct train_batch_end        { std::int64_t batch_idx; const at::Tensor& loss; static constexpr std::string_view name = "train_batch_end"; };
struct train_epoch_end        { static constexpr std::string_view name = "train_epoch_end"; };
struct train_end              { static constexpr std::string_view name = "train_end"; };
struct fit_end                { static constexpr std::string_view name = "fit_end"; };
struct teardown               { Stage stage; static constexpr std::string_view name = "teardown"; };
// Validation (inside fit and in validate())
struct validation_start       { static constexpr std::string_view name = "validation_start"; };
struct validation_epoch_start { static constexpr std::string_view name = "validation_epoch_start"; };
struct validation_batch_start { std::int64_t batch_idx; static constexpr std::string_view name = "validation_batch_start"; };
struct validation_batch_end   { std::int64_t batch_idx; static constexpr std::string_view name = "validation_batch_end"; };
struct validation_epoch_end   { static constexpr std::string_view name = "validation_epoch_end"; };
struct validation_end         { static constexpr std::string_view name = "validation_end"; };
// Test
struct test_start             { static constexpr std::string_view name = "test_start"; };
struct test_epoch_start       { static constexpr std::string_view name = "test_epoch_start"; };
struct test_batch_start       { std::int64_t batch_idx; static constexpr std::string_view name = "test_batch_start"; };
struct test_batch_end         { std::int64_t batch_idx; static constexpr std::string_view name = "test_batch_end"; };
struct test_epoch_end         { static constexpr std::string_view name = "test_epoch_end"; };
struct test_end               { static constexpr std::string_view name = "test_end"; };
// Predict
struct predict_start          { static constexpr std::string_view name = "predict_start"; };
struct predict_epoch_start    { static constexpr std::string_view name = "predict_epoch_start"; };
struct predict_batch_start    { std::int64_t batch_idx; static constexpr std::string_view name = "predict_batch_start"; };
struct predict_batch_end      { std::int64_t batch_idx; static constexpr std::string_view name = "predict_batch_end"; };
struct predict_epoch_end      { static constexpr std::string_view name = "predict_epoch_end"; };
struct predict_end            { static constexpr std::string_view name = "predict_end"; };
// Errors
struct exception              { const std::exception& error; static constexpr std::string_view name = "exception"; };

// Engine (Ignite's names), emitted by kiln::Engine used alone; the Trainer maps them to the
// Lightning events above and does not forward them.
struct started                { static constexpr std::string_view name = "started"; };
struct epoch_started          { static constexpr std::string_view name = "epoch_started"; };
struct iteration_started      { static constexpr std::string_view name = "iteration_started"; };
struct iteration_completed    { static constexpr std::string_view name = "iteration_completed"; };
struct epoch_completed        { static constexpr std::string_view name = "epoch_completed"; };
struct completed              { static constexpr std::string_view name = "completed"; };
struct terminated             { static constexpr std::string_view name = "terminated"; };
// clang-format on

/// Every event type, in the order above; filters index their counters by position here.
using all = std::tuple<setup, fit_start, sanity_check_start, sanity_check_end, train_start,
                       train_epoch_start, train_batch_start, before_backward, after_backward,
                       before_optimizer_step, before_zero_grad, train_batch_end, train_epoch_end,
                       train_end, fit_end, teardown, validation_start, validation_epoch_start,
                       validation_batch_start, validation_batch_end, validation_epoch_end,
                       validation_end, test_start, test_epoch_start, test_batch_start,
                       test_batch_end, test_epoch_end, test_end, predict_start,
                       predict_epoch_start, predict_batch_start, predict_batch_end,
                       predict_epoch_end, predict_end, exception, started, epoch_started,
                       iteration_started, iteration_completed, epoch_completed, completed,
                       terminated>;

inline constexpr std::size_t count = std::tuple_size_v<all>;

/// The first position of the Engine's own events in `all`: those before it are the Trainer's.
inline constexpr std::size_t engine_first = count - 7;
static_assert(std::is_same_v<std::tuple_element_t<engine_first, all>, started>);

/// X(name) for every event a Trainer emits, for what must be spelled out per event (member names).
#define KILN_TRAINER_EVENTS(X)                                                                    \
  X(setup) X(fit_start) X(sanity_check_start) X(sanity_check_end) X(train_start)                \
  X(train_epoch_start) X(train_batch_start) X(before_backward) X(after_backward)                \
  X(before_optimizer_step) X(before_zero_grad) X(train_batch_end) X(train_epoch_end)            \
  X(train_end) X(fit_end) X(teardown) X(validation_start) X(validation_epoch_start)             \
  X(validation_batch_start) X(validation_batch_end) X(validation_epoch_end) X(validation_end)   \
  X(test_start) X(test_epoch_start) X(test_batch_start) X(test_batch_end) X(test_epoch_end)     \
  X(test_end) X(predict_start) X(predict_epoch_start) X(predict_batch_start)                    \
  X(predict_batch_end) X(predict_epoch_end) X(predict_end) X(exception)

namespace detail {
#define KILN_EVENT_TYPE_COMMA(name) name,
template <std::size_t... I>
std::tuple<std::tuple_element_t<I, all>..., void> trainer_events(std::index_sequence<I...>);
// The list is written out twice (here and in `all`); this keeps the two the same.
static_assert(std::is_same_v<decltype(trainer_events(std::make_index_sequence<engine_first>{})),
                             std::tuple<KILN_TRAINER_EVENTS(KILN_EVENT_TYPE_COMMA) void>>,
              "KILN_TRAINER_EVENTS must list the events of kiln::event::all before `started`, in order");
#undef KILN_EVENT_TYPE_COMMA
}  // namespace detail

/// Position of event E in kiln::event::all; a compile error for any other type (a user's own
/// event sent through Engine::emit has no position, so filters cannot count it).
template <class E>
inline constexpr std::size_t index_of = [] {
  constexpr std::size_t found = []<std::size_t... I>(std::index_sequence<I...>) {
    std::size_t at = count;
    ((std::is_same_v<E, std::tuple_element_t<I, all>> ? (at = I, true) : false) || ...);
    return at;
  }(std::make_index_sequence<count>{});
  static_assert(found < count, KILN_ERR_EVENT_NOT_COUNTED);
  return found;
}();

}  // namespace kiln::event
