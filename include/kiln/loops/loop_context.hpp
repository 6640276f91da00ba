// SPDX-License-Identifier: Apache-2.0
// kiln/loops/loop_context.hpp — what a Trainer's loops get from it: its parts by job, and the session they change.
#pragma once
#include <string_view>
#include <utility>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <kiln/core/config.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/trainer/log_buffer.hpp>
#include <kiln/trainer/session.hpp>

namespace kiln::detail {

/// The Trainer's parts, by reference, for the loops of one fit/validate/test/predict call.
/// `owner` is the Trainer, which handlers receive; `session` is the only state the loops change.
template <class Owner, class Handlers, class Hub, class Strategy, class Precision, class Checkpoints, class Profiler>
struct LoopContext {
  Owner& owner;
  const TrainerConfig& config;
  Session& session;
  Handlers& handlers;
  Hub& hub;
  Strategy& strategy;
  Precision& precision;
  Checkpoints& checkpoints;
  Profiler& profiler;
  static constexpr bool profiling = Profiler::enabled;
  /// True when a callback, a logger or Module's on_<event> hook takes Event.
  template <class Event, class Module>
  static constexpr bool handled = Handlers::template handles<Event, Owner, Module>;

  /// Sends `e` to the callbacks, the loggers, then the module's on_<event> hook (given module and ctx).
  template <class Event, class Module = torch::nn::Module>
  void emit(const Event& e, Module* module = nullptr, StepContext* ctx = nullptr) {
    handlers.emit(e, owner, module, ctx);
  }

  /// The precision's backward; with `sync` (an optimizer step follows) the strategy averages the
  /// gradients over the ranks (bucketed all-reduces overlapping backward), else they only accumulate.
  void backward(const at::Tensor& loss, bool sync) {
    strategy.before_backward(sync);
    precision.backward(loss);
    if (sync) strategy.reduce_gradients();
  }

  /// Calls f(batch) with the batch on the strategy's device and in the precision's dtype.
  template <class Batch, class F>
  decltype(auto) with_batch(Batch& batch, F&& f) {
    return strategy.with_batch_on_device(batch, [&](auto& b) -> decltype(auto) { return precision.with_batch(b, f); });
  }

  /// Sends `e` to the handlers and the module's hook outside a loop's steps (setup, teardown,
  /// exception; the loops' own go through LoopHost::emit_outside_loop): the hook's StepContext
  /// refuses ctx.log, since a value logged there would reach no logger.
  template <class Event, class Module>
  void emit_outside_loop(const Event& e, Module* module, Stage stage) {
    StepContext ctx(outside_wiring(stage));
    handlers.emit(e, owner, module, &ctx);
  }
  /// The StepContext of a hook outside a loop's steps: ctx.log is refused.
  StepContext::Wiring outside_wiring(Stage stage) {
    return wiring_with(session.state, stage, this, &refuse_log, &refuse_log_metric);
  }

  /// Emits event::setup for `stage`, agrees on the log folder, then hands the module's hparams()
  /// (when it has one) to the loggers: after setup, where loggers learn their folder.
  template <class Module>
  void setup_stage(Stage stage, Module& module) {
    emit_outside_loop(event::setup{stage}, &module, stage);
    hub.share_log_dir();
    if constexpr (detail::has_hparams<Module>) hub.log_hyperparams(detail::hparams_of(module));
  }

  /// The StepContext of steps of `stage` that advance `s` and log into `logs`.
  StepContext::Wiring wiring(State& s, Stage stage, LogBuffer& logs) {
    if (strategy.world_size() > 1) logs.set_rank_reducer(&Strategy::reduce_for_logs);  // log(..., {.sync_dist = true})
    return wiring_with(
        s, stage, &logs,
        [](void* b, std::string_view name, const at::Tensor& v, const LogOptions& o, Stage st, std::int64_t w) {
          static_cast<LogBuffer*>(b)->log(name, v, o, st, w);
        },
        [](void* b, std::string_view name, const MetricRef& m, const LogOptions& o, Stage st) {
          static_cast<LogBuffer*>(b)->log_metric(name, m, o, st);
        });
  }

 private:
  using LogFn = void (*)(void*, std::string_view, const at::Tensor&, const LogOptions&, Stage, std::int64_t);
  using LogMetricFn = void (*)(void*, std::string_view, const MetricRef&, const LogOptions&, Stage);

  [[noreturn]] static void refuse(std::string_view name) {
    throw Error(fmt::format("kiln: ctx.log(\"{}\") in a module's on_setup, on_sanity_check_start/end, on_teardown or "
                            "on_exception hook, where no logger would get it. Log from a step or from a hook "
                            "between <stage>_start and <stage>_end.", name));
  }
  static void refuse_log(void*, std::string_view name, const at::Tensor&, const LogOptions&, Stage, std::int64_t) {
    refuse(name);
  }
  static void refuse_log_metric(void*, std::string_view name, const MetricRef&, const LogOptions&, Stage) { refuse(name); }

  StepContext::Wiring wiring_with(State& s, Stage stage, void* logs, LogFn log, LogMetricFn log_metric) {
    return {.state = &s,
            .stage = stage,
            .logs = logs,
            .log = log,
            .log_metric = log_metric,
            .optimizers = &session.optimizers,
            .precision = &precision,
            .owner = this,
            .backward = [](void* c, const at::Tensor& l, bool sync) { static_cast<LoopContext*>(c)->backward(l, sync); },
            .step = [](void* p, torch::optim::Optimizer& o) { return static_cast<Precision*>(p)->optimizer_step(o); },
            .unscale = [](void* p, torch::optim::Optimizer& o) { static_cast<Precision*>(p)->unscale(o); },
            .rank = strategy.rank(),
            .world_size = strategy.world_size()};
  }
};

}  // namespace kiln::detail
