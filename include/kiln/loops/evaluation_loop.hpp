// SPDX-License-Identifier: Apache-2.0
// kiln/loops/evaluation_loop.hpp — validation, sanity check, test and predict: one pass, no gradients.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include <torch/nn/module.h>
#include <torch/utils.h>

#include <kiln/core/batch_size.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/config.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/log_buffer.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/engine.hpp>

namespace kiln::detail {

/// The events of each evaluation stage (the sanity check emits validation's).
template <Stage S>
struct stage_events {
  using start = event::validation_start;
  using epoch_start = event::validation_epoch_start;
  using batch_start = event::validation_batch_start;
  using batch_end = event::validation_batch_end;
  using epoch_end = event::validation_epoch_end;
  using end = event::validation_end;
};
template <>
struct stage_events<Stage::test> {
  using start = event::test_start;
  using epoch_start = event::test_epoch_start;
  using batch_start = event::test_batch_start;
  using batch_end = event::test_batch_end;
  using epoch_end = event::test_epoch_end;
  using end = event::test_end;
};
template <>
struct stage_events<Stage::predict> {
  using start = event::predict_start;
  using epoch_start = event::predict_epoch_start;
  using batch_start = event::predict_batch_start;
  using batch_end = event::predict_batch_end;
  using epoch_end = event::predict_epoch_end;
  using end = event::predict_end;
};

/// One epoch of `step` over data in eval mode without gradients, on an Engine; maps the
/// Engine's events to the stage's events and publishes the logged epoch values.
template <class Trainer, class Module, Stage S>
class EvaluationLoop {
  using E = stage_events<S>;

 public:
  /// `stage` is S, or sanity_check for a validation loop run before training: it shares
  /// validation's code and events (one instantiation less per module), and publishes nothing.
  EvaluationLoop(Trainer& t, Module& m, Stage stage = S)
      : t_(t), m_(m), stage_(stage), ctx_(t.wiring(state_, stage, logs_)) {}

  /// Runs at most `limit` (and, when >= 0, `max_batches`) batches; returns the epoch values.
  template <class Data, class Step>
  MetricMap run(Data& data, const BatchLimit& limit, std::string_view option,
                std::int64_t max_batches, Step step) {
    auto&& range = as_range(data);
    // a loader made before kiln's own launcher started the ranks takes its shard now
    if constexpr (requires { range.use_ranks(0, 1); }) range.use_ranks(t_.strategy().rank(), t_.strategy().world_size());
    std::int64_t n = limit.resolve(size_of(range), option);
    if (max_batches >= 0) n = n < 0 ? max_batches : std::min(n, max_batches);
    if (n == 0) return {};
    state_.stage = stage_;
    state_.epoch = t_.state().epoch;
    state_.global_step = t_.state().global_step;
    const bool was_training = m_.is_training();
    m_.eval();
    struct Publish {  // the Trainer shows this pass's progress while it runs
      Trainer& t;
      const State* previous;
      ~Publish() { t.evaluation_state_ = previous; }
    } publish{t_, std::exchange(t_.evaluation_state_, &state_)};
    {
      torch::NoGradGuard no_grad;
      auto process = [&](auto&, auto& batch) {
        t_.with_batch(batch, [&](auto& b) {
          [[maybe_unused]] auto guard = t_.precision().autocast();
          ctx_.set_batch_size(detail::batch_size_of(b));
          step(b, ctx_);
        });
      };
      Engine<decltype(process)&, EvaluationLoop&> engine(process, *this);
      engine.attach_state(state_);
      engine.run(data, {.max_epochs = state_.epoch + 1,
                        .epoch_length = n < 0 ? std::nullopt : std::optional<std::int64_t>(n)});
    }
    m_.train(was_training);
    if (state_.should_stop) t_.state().request_stop(state_.stop_reason);
    return values_;
  }

  template <class Eng>
  void on(const event::started&, Eng&) { t_.emit(typename E::start{}, &m_, &ctx_); }
  template <class Eng>
  void on(const event::epoch_started&, Eng&) { t_.emit(typename E::epoch_start{}, &m_, &ctx_); }
  template <class Eng>
  void on(const event::iteration_started&, Eng&) { t_.emit(typename E::batch_start{state_.batch_idx}, &m_, &ctx_); }
  template <class Eng>
  void on(const event::iteration_completed&, Eng&) { t_.emit(typename E::batch_end{state_.batch_idx}, &m_, &ctx_); }
  template <class Eng>
  void on(const event::epoch_completed&, Eng&) {
    t_.emit(typename E::epoch_end{}, &m_, &ctx_);  // the module may still log here
    values_ = logs_.current_step_values();
    values_.merge(logs_.take_epoch_values());
    if (stage_ == Stage::validate || stage_ == Stage::test) t_.publish(values_, logs_);
  }
  template <class Eng>
  void on(const event::completed&, Eng&) { t_.emit(typename E::end{}, &m_, &ctx_); }

 private:
  Trainer& t_;
  Module& m_;
  Stage stage_;
  State state_;
  LogBuffer logs_;
  StepContext ctx_;
  MetricMap values_;
};

}  // namespace kiln::detail
