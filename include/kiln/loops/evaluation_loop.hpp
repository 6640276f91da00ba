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
#include <kiln/core/stage.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/loops/batches.hpp>
#include <kiln/trainer/log_buffer.hpp>
#include <kiln/trainer/session.hpp>

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

/// One pass of `step` over data in eval mode without gradients: the stage's start, epoch start,
/// batch start/end per batch, epoch end (then its logged values are published), end.
template <class Ctx, class Module, Stage S>
class EvaluationLoop {
  using E = stage_events<S>;

 public:
  /// `stage` is S, or sanity_check for a validation loop run before training: it shares
  /// validation's code and events (one instantiation less per module), and publishes nothing.
  EvaluationLoop(Ctx c, Module& m, Stage stage = S) : c_(c), m_(m), stage_(stage), ctx_(c_.wiring(state_, stage, logs_)) {}
  EvaluationLoop(const EvaluationLoop&) = delete;  // the step context points into this object

  /// Runs at most `limit` (and, when >= 0, `max_batches`) batches; returns the epoch values.
  template <class Data, class Step>
  MetricMap run(Data& data, const BatchLimit& limit, std::string_view option, std::int64_t max_batches, Step step) {
    auto& range = rank_range(data, c_.strategy);
    std::int64_t n = limit.resolve(size_of(range), option);
    if (max_batches >= 0) n = n < 0 ? max_batches : std::min(n, max_batches);
    if (n == 0) return {};
    const State& fit = c_.session.state;
    state_.stage = stage_;
    state_.epoch = fit.epoch;
    state_.global_step = fit.global_step;
    const bool was_training = m_.is_training();
    m_.eval();
    struct Publish {  // the Trainer shows this pass's progress while it runs
      Session& s;
      const State* previous;
      ~Publish() { s.evaluation_state = previous; }
    } publish{c_.session, std::exchange(c_.session.evaluation_state, &state_)};
    MetricMap values;
    {
      torch::NoGradGuard no_grad;
      begin_run(state_, range, state_.epoch + 1, n);
      emit(typename E::start{});
      begin_epoch(state_);
      emit(typename E::epoch_start{});
      for_each_batch(range, state_, n, 0, [&](auto& raw) {
        emit(typename E::batch_start{state_.batch_idx});
        c_.with_batch(raw, [&](auto& b) {
          [[maybe_unused]] const auto scope = step_scope();
          [[maybe_unused]] auto guard = c_.precision.autocast();
          ctx_.set_batch_size(batch_size_of(b));
          step(b, ctx_);
        });
        ++state_.iteration;
        emit(typename E::batch_end{state_.batch_idx});
      });
      emit(typename E::epoch_end{});  // the module may still log here
      values = logs_.current_step_values();
      values.merge(logs_.take_epoch_values());
      if (stage_ == Stage::validate || stage_ == Stage::test) c_.hub.publish(values, logs_);
      end_epoch(state_, n);
      emit(typename E::end{});
    }
    m_.train(was_training);
    if (state_.should_stop) c_.session.state.request_stop(state_.stop_reason);
    return values;
  }

 private:
  template <class Event>
  void emit(const Event& e) { c_.emit(e, &m_, &ctx_); }

  /// The profiler's name for this stage's step.
  auto step_scope() {
    if constexpr (S == Stage::test) return c_.template profile<"test_step">();
    else if constexpr (S == Stage::predict) return c_.template profile<"predict_step">();
    else return c_.template profile<"validation_step">();
  }

  Ctx c_;
  Module& m_;
  Stage stage_;
  State state_;
  LogBuffer logs_;
  StepContext ctx_;
};

}  // namespace kiln::detail
