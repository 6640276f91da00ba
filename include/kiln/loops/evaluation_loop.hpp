// SPDX-License-Identifier: Apache-2.0
// kiln/loops/evaluation_loop.hpp — validation, sanity check, test and predict: one pass, no gradients.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include <torch/nn/module.h>
#include <torch/utils.h>

#include <kiln/core/config.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/linkage.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/loops/batches.hpp>
#include <kiln/loops/loop_host.hpp>
#include <kiln/profiler/profiler.hpp>
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

/// One pass of the data's step in eval mode without gradients: the stage's start, epoch start,
/// batch start/end per batch, epoch end (then its logged values are published), end. A template
/// over the stage only (its events), compiled with kiln for each (separate compilation).
template <Stage S>
class EvaluationLoop : BatchBody {
  using E = stage_events<S>;

 public:
  /// `stage` is S, or sanity_check for a validation loop run before training: it shares
  /// validation's code and events, and publishes nothing.
  EvaluationLoop(LoopHost& host, torch::nn::Module& m, Stage stage = S)
      : h_(host), m_(m), stage_(stage), ctx_(h_.wiring(state_, stage, logs_)) {}
  EvaluationLoop(const EvaluationLoop&) = delete;  // the step context points into this object
  KILN_DECL ~EvaluationLoop();

  /// Runs at most `limit` (and, when >= 0, `max_batches`) batches; returns the epoch values.
  KILN_DECL MetricMap run(BatchSource& data, const BatchLimit& limit, std::string_view option, std::int64_t max_batches);

 private:
  KILN_DECL void batch() override;
  template <class Event>
  void emit(const Event& e) { h_.emit(e, &ctx_); }

  LoopHost& h_;
  torch::nn::Module& m_;
  Stage stage_;
  State state_;
  LogBuffer logs_;
  StepContext ctx_;
  BatchSource* data_ = nullptr;
  std::size_t action_ = BatchSource::untimed;  ///< the profiler's name for this stage's step
};

#if KILN_DEFINITIONS
template <Stage S>
KILN_DECL EvaluationLoop<S>::~EvaluationLoop() = default;

template <Stage S>
KILN_DECL MetricMap EvaluationLoop<S>::run(BatchSource& data, const BatchLimit& limit, std::string_view option,
                                           std::int64_t max_batches) {
  const auto size = data.size();
  std::int64_t n = limit.resolve(size, option);
  if (max_batches >= 0) n = n < 0 ? max_batches : std::min(n, max_batches);
  if (n == 0) return {};
  data_ = &data;
  action_ = S == Stage::test      ? h_.action<"test_step">()
            : S == Stage::predict ? h_.action<"predict_step">()
                                  : h_.action<"validation_step">();
  const State& fit = h_.session.state;
  state_.stage = stage_;
  state_.epoch = fit.epoch;
  state_.global_step = fit.global_step;
  const bool was_training = m_.is_training();
  m_.eval();
  struct Publish {  // the Trainer shows this pass's progress while it runs
    Session& s;
    const State* previous;
    ~Publish() { s.evaluation_state = previous; }
  } publish{h_.session, std::exchange(h_.session.evaluation_state, &state_)};
  MetricMap values;
  {
    torch::NoGradGuard no_grad;
    begin_run(state_, size, state_.epoch + 1, n);
    emit(typename E::start{});
    begin_epoch(state_);
    emit(typename E::epoch_start{});
    data.each(state_, n, 0, *this);  // batch() below, per batch
    emit(typename E::epoch_end{});  // the module may still log here
    values = logs_.current_step_values();
    values.merge(logs_.take_epoch_values());
    if (stage_ == Stage::validate || stage_ == Stage::test) h_.publish(values, logs_);
    end_epoch(state_, n);
    emit(typename E::end{});
  }
  m_.train(was_training);
  if (state_.should_stop) h_.session.state.request_stop(state_.stop_reason);
  return values;
}

template <Stage S>
KILN_DECL void EvaluationLoop<S>::batch() {
  emit(typename E::batch_start{state_.batch_idx});
  data_->step(ctx_, action_);
  ++state_.iteration;
  emit(typename E::batch_end{state_.batch_idx});
}
#endif  // KILN_DEFINITIONS

// Separate compilation: the three loops are compiled once, in <kiln/src.hpp>.
#if defined(KILN_SEPARATE_COMPILATION)
#if defined(KILN_SOURCE)
template class EvaluationLoop<Stage::validate>;
template class EvaluationLoop<Stage::test>;
template class EvaluationLoop<Stage::predict>;
#else
extern template class EvaluationLoop<Stage::validate>;
extern template class EvaluationLoop<Stage::test>;
extern template class EvaluationLoop<Stage::predict>;
#endif
#endif

}  // namespace kiln::detail
