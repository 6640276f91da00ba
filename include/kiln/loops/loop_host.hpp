// SPDX-License-Identifier: Apache-2.0
// kiln/loops/loop_host.hpp — what the fit and evaluation loops need from a Trainer and its data, as two small interfaces.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <type_traits>

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include <kiln/core/config.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/profiler/profiler.hpp>
#include <kiln/trainer/log_buffer.hpp>
#include <kiln/trainer/session.hpp>

namespace kiln::detail {

/// Called for each batch of BatchSource::each, which is BatchSource's current batch meanwhile.
class BatchBody {
 public:
  virtual void batch() = 0;

 protected:
  ~BatchBody() = default;
};

/// One stage's data as this rank sees it, with the module's step for it (training_step,
/// validation_step, ...). The Trainer makes one per data type (trainer/loop_host_impl.hpp).
class BatchSource {
 public:
  /// No profiler action: step() times nothing.
  static constexpr std::size_t untimed = std::numeric_limits<std::size_t>::max();
  /// The number of batches, when the data knows it.
  virtual std::optional<std::int64_t> size() = 0;
  /// A distributed sampler's epoch (the same shuffle when a run resumes); no-op for other data.
  virtual void set_epoch(std::int64_t epoch) = 0;
  /// detail::for_each_batch over the data, calling body.batch() for each batch.
  virtual void each(State& s, std::int64_t limit, std::int64_t skip, BatchBody& body) = 0;
  /// The step on the current batch, moved to the device and cast, under the precision's
  /// autocast, timed as `action`; returns what it returned (an undefined tensor for none).
  virtual at::Tensor step(StepContext& ctx, std::size_t action) = 0;

 protected:
  ~BatchSource() = default;
};

/// A Trainer's parts as its loops use them. Each Trainer type implements it once
/// (trainer/loop_host_impl.hpp), so the loops are ordinary functions, compiled once with kiln
/// (separate compilation) instead of once per Trainer type in every user translation unit. An
/// event costs one indirect call here, through the host's table of events, and none when no
/// handler and no module hook takes it; behind that call its handlers are dispatched statically.
class LoopHost {
 public:
  LoopHost(const LoopHost&) = delete;
  LoopHost& operator=(const LoopHost&) = delete;

  const TrainerConfig& config;
  Session& session;  ///< the only Trainer state the loops change
  /// False when the Trainer has no profiler: the probes below then do nothing.
  const bool profiling;

  /// The events the loops send: the Trainer's, but for setup and exception, which the Trainer
  /// sends itself (trainer/run_guard.hpp, loops/loop_context.hpp).
  template <class Event>
  static constexpr bool loop_event = event::index_of<Event> < event::engine_first &&
                                     !std::is_same_v<Event, event::setup> && !std::is_same_v<Event, event::exception>;

  /// Sends `e` to the callbacks, the loggers, then the module's on_<event> hook (given ctx).
  template <class Event>
  void emit(const Event& e, StepContext* ctx) {
    if (const Deliver d = delivery<Event>()) d(*this, &e, ctx);
  }
  /// As emit(), outside a loop's steps (the sanity check's start and end, teardown): the hook's
  /// StepContext refuses ctx.log, since a value logged there would reach no logger.
  template <class Event>
  void emit_outside_loop(const Event& e, Stage stage) {
    if (const Deliver d = delivery<Event>()) {
      StepContext ctx(outside_wiring(stage));
      d(*this, &e, &ctx);
    }
  }

  /// The StepContext of steps of `stage` that advance `s` and log into `logs`.
  virtual StepContext::Wiring wiring(State& s, Stage stage, LogBuffer& logs) = 0;

  // The logging hub (trainer/logging_hub.hpp).
  virtual void publish(const MetricMap& values, const LogBuffer& logs) = 0;
  virtual void refresh(const MetricMap& values, const LogBuffer& logs) = 0;
  virtual const MetricMap& callback_metrics() = 0;
  virtual void save_logs() = 0;
  virtual void finalize(RunStatus status) = 0;

  // The strategy and the precision.
  virtual int world_size() = 0;
  virtual bool is_global_zero() = 0;
  virtual void all_reduce_max(at::Tensor& t) = 0;
  /// The precision's backward; with `sync` (an optimizer step follows) the strategy averages the
  /// gradients over the ranks, else they only accumulate.
  virtual void backward(const at::Tensor& loss, bool sync) = 0;
  virtual void unscale(torch::optim::Optimizer& o) = 0;
  /// Steps `o` unless the loss scaler found inf/NaN; says whether it stepped.
  virtual bool optimizer_step(torch::optim::Optimizer& o) = 0;
  /// The loss scaler's update, once per iteration.
  virtual void update_scale() = 0;

  // Checkpoints.
  virtual std::filesystem::path checkpoint_dir() = 0;
  virtual void save_checkpoint(const std::filesystem::path& path) = 0;

  // The profiler.
  class Scope {
   public:
    Scope() = default;
    Scope(LoopHost* h, void* s) : h_(h), s_(s) {}
    Scope(const Scope&) = delete;
    ~Scope() {
      if (h_) h_->close_scope(s_);
    }

   private:
    LoopHost* h_ = nullptr;
    void* s_ = nullptr;
  };
  /// Times the enclosing scope as the profiler's action Name ("backward", ...).
  template <ActionName Name>
  [[nodiscard]] Scope profile() {
    return profiling ? Scope(this, open_scope(action_id<Name>())) : Scope();
  }
  /// The number of action Name for BatchSource::step, or BatchSource::untimed without a profiler.
  template <ActionName Name>
  std::size_t action() const {
    return profiling ? action_id<Name>() : BatchSource::untimed;
  }
  virtual void record(std::size_t action, double seconds) = 0;
  virtual void mark_train_batch(std::int64_t global_step, bool begin) = 0;

 protected:
  /// A Trainer event's handlers for `event` and ctx; null where nothing takes the event.
  using Deliver = void (*)(LoopHost&, const void* event, StepContext* ctx);
  /// `deliveries`: one entry per Trainer event (event::index_of), living as long as the host.
  LoopHost(const TrainerConfig& config, Session& session, const Deliver* deliveries, bool profiling)
      : config(config), session(session), profiling(profiling), deliveries_(deliveries) {}
  ~LoopHost() = default;
  virtual StepContext::Wiring outside_wiring(Stage stage) = 0;
  virtual void* open_scope(std::size_t action) = 0;
  virtual void close_scope(void* scope) = 0;

 private:
  template <class Event>
  Deliver delivery() const {
    static_assert(loop_event<Event>, "kiln: the loops send the Trainer's events other than setup and exception");
    return deliveries_[event::index_of<Event>];
  }

  const Deliver* deliveries_;
};

}  // namespace kiln::detail
