// SPDX-License-Identifier: Apache-2.0
// kiln/loops/fit_loop.hpp — fit(): the sanity check, then epochs of training steps, validation when due.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <kiln/core/config.hpp>
#include <kiln/core/linkage.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/loops/loop_host.hpp>
#include <kiln/trainer/log_buffer.hpp>
#include <kiln/trainer/session.hpp>
#include <kiln/util/preemption.hpp>

#if KILN_DEFINITIONS
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include <torch/utils.h>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/loops/batches.hpp>
#include <kiln/loops/evaluation_loop.hpp>
#include <kiln/loops/optimization.hpp>
#include <kiln/profiler/profiler.hpp>
#include <kiln/util/torch_compat.hpp>
#endif

namespace kiln::detail {

/// One fit() of a module on training data, validating on `val` data (nullptr: none). run() reads
/// top to bottom in the order of the events it emits (kiln/core/events.hpp). It is not a
/// template: everything that depends on the Trainer's, module's or data's types is behind
/// `host`, `train` and `val` (kiln/loops/loop_host.hpp).
class FitLoop : BatchBody {
 public:
  /// `automatic`: the module's automatic_optimization. `preemption`: installed by fit() before
  /// setup, so a signal at any moment of the fit is acted on.
  KILN_DECL FitLoop(LoopHost& host, torch::nn::Module& module, BatchSource& train, BatchSource* val, bool automatic,
                    PreemptionHandler& preemption);
  FitLoop(const FitLoop&) = delete;  // the step context points into this object
  KILN_DECL ~FitLoop();

  KILN_DECL void run();

 private:
  KILN_DECL void forward_pass(std::int64_t limit);
  KILN_DECL void sanity_check();
  KILN_DECL std::int64_t resume();
  KILN_DECL void batch() override;
  KILN_DECL void train_batch_steps();
  KILN_DECL at::Tensor training_step();
  KILN_DECL void optimizer_step();
  KILN_DECL void end_train_epoch();
  KILN_DECL void agree_on_stops();
  KILN_DECL void check_max_steps();
  KILN_DECL void stop_with_checkpoint_if_asked();
  KILN_DECL void resolve_val_interval();
  KILN_DECL void validate();
  template <class Event>
  void emit(const Event& e) { h_.emit(e, &ctx_); }
  bool is_last_batch() const { return epoch_length_ && s_.batch_idx + 1 == *epoch_length_; }
  bool epoch_validates() const { return val_ && (s_.epoch + 1) % cfg_.check_val_every_n_epoch == 0; }
  auto metrics() {
    return [this]() -> const MetricMap& { return h_.callback_metrics(); };
  }

  LoopHost& h_;
  torch::nn::Module& m_;
  BatchSource& train_;
  BatchSource* val_;
  const bool automatic_;
  const TrainerConfig& cfg_;
  State& s_;
  LogBuffer logs_;
  StepContext ctx_;
  std::vector<at::Tensor> params_;
  std::optional<std::int64_t> epoch_length_;
  std::int64_t limit_ = -1;
  std::int64_t val_every_ = -1;
  std::int64_t accumulated_ = 0;
  std::optional<ResumePoint> resumed_;
  PreemptionHandler& preemption_;
  using Clock = std::chrono::steady_clock;
  Clock::time_point fetch_from_{};  // the end of the last batch: the profiler's data fetch starts there
};

#if KILN_DEFINITIONS

KILN_DECL FitLoop::FitLoop(LoopHost& host, torch::nn::Module& module, BatchSource& train, BatchSource* val,
                           bool automatic, PreemptionHandler& preemption)
    : h_(host), m_(module), train_(train), val_(val), automatic_(automatic), cfg_(host.config), s_(host.session.state),
      ctx_(host.wiring(s_, Stage::fit, logs_)), preemption_(preemption) {}

KILN_DECL FitLoop::~FitLoop() = default;

KILN_DECL void FitLoop::run() {
  auto& opts = h_.session.optimizers;
  if (automatic_ && opts.size() != 1)
    throw Error(fmt::format("kiln: automatic optimization needs exactly one optimizer, but "
                            "configure_optimizers() returned {}; set `static constexpr bool "
                            "automatic_optimization = false` and step them in training_step",
                            opts.size()));
  if (automatic_) params_ = optimizer_params(*opts[0].optimizer);
  const auto size = train_.size();
  limit_ = cfg_.limit_train_batches.resolve(size, "limit_train_batches");
  if (size) epoch_length_ = limit_;  // exact only for sized data; else the limit is a maximum
  resolve_val_interval();

  m_.train();
  h_.session.live_logs = &logs_;
  h_.session.train_forward = [this, limit = limit_] { forward_pass(limit); };
  struct Unhook {
    Session& s;
    ~Unhook() {
      s.live_logs = nullptr;
      s.train_forward = nullptr;
    }
  } unhook{h_.session};
  emit(event::fit_start{});
  sanity_check();
  emit(event::train_start{});
  std::int64_t skip = resume();
  // Lightning skips training for limit_train_batches=0, max_steps=0, or max_steps already
  // reached (a resumed run).
  if (limit_ != 0 && !s_.should_stop && !(cfg_.max_steps >= 0 && s_.global_step >= cfg_.max_steps)) {
    begin_run(s_, size, cfg_.max_epochs, limit_);
    while ((s_.max_epochs < 0 || s_.epoch < s_.max_epochs) && !s_.should_stop) {
      // A signal during setup, the sanity check or the last epoch's validation: the checkpoint
      // now resumes at this epoch's start. (A mid-epoch resume is checked after its first batch,
      // once its generators are back where the killed run stood.)
      if (!(resumed_ && resumed_->skip > 0)) {
        agree_on_stops();
        stop_with_checkpoint_if_asked();
        if (s_.should_stop) break;
      }
      begin_epoch(s_);
      h_.session.epoch_end_reached = false;
      h_.session.progress = {s_.epoch, 0, false};
      emit(event::train_epoch_start{});
      if (resumed_ && resumed_->skip > 0) resumed_->restore_rng();  // mid-epoch resume: where the run stood
      resumed_.reset();
      {
        [[maybe_unused]] const auto epoch_scope = h_.profile<"run_training_epoch">();
        fetch_from_ = Clock::now();
        train_.each(s_, limit_, std::exchange(skip, 0), *this);  // batch() below, per batch
        end_train_epoch();
      }
      end_epoch(s_, limit_);
    }
  }
  emit(event::train_end{});
  // A requested stop (EarlyStopping, Timer, max_steps, ...) is always said; the normal end
  // only beside a progress bar.
  const bool requested = !s_.stop_reason.empty();
  if (!requested && cfg_.max_epochs >= 0 && s_.epoch >= cfg_.max_epochs)
    s_.stop_reason = fmt::format("max_epochs={} reached", cfg_.max_epochs);
  if ((requested || cfg_.enable_progress_bar) && h_.is_global_zero() && !s_.stop_reason.empty())
    fmt::print(stderr, "kiln: fit stopped: {}\n", s_.stop_reason);
  emit(event::fit_end{});
  h_.save_logs();
  h_.emit_outside_loop(event::teardown{Stage::fit}, Stage::fit);
}

/// Trainer::forward_over_train_data: training_step over the data with a progress and a log
/// buffer of its own, so the fit's are untouched.
KILN_DECL void FitLoop::forward_pass(std::int64_t limit) {
  if (!automatic_)
    throw Error("kiln: forward_over_train_data() needs automatic optimization: with manual optimization "
                "training_step steps the optimizers itself");
  torch::NoGradGuard no_grad;
  State scratch;
  LogBuffer logs;
  StepContext ctx(h_.wiring(scratch, Stage::fit, logs));
  struct Forward : BatchBody {
    BatchSource& data;
    StepContext& ctx;
    Forward(BatchSource& d, StepContext& c) : data(d), ctx(c) {}
    void batch() override { data.step(ctx, BatchSource::untimed); }
  } forward(train_, ctx);
  begin_epoch(scratch);
  train_.each(scratch, limit, 0, forward);
}

KILN_DECL void FitLoop::sanity_check() {
  if (!val_ || cfg_.num_sanity_val_steps == 0) return;
  s_.stage = Stage::sanity_check;  // callbacks can tell it from real validation
  h_.emit_outside_loop(event::sanity_check_start{}, Stage::sanity_check);
  EvaluationLoop<Stage::validate> sanity(h_, m_, Stage::sanity_check);
  sanity.run(*val_, cfg_.limit_val_batches, "limit_val_batches", cfg_.num_sanity_val_steps);
  h_.emit_outside_loop(event::sanity_check_end{}, Stage::sanity_check);
  s_.stage = Stage::fit;
}

/// What fit(..., {.ckpt_path}) restored needs the loop for the rest: the logged metric
/// objects, a pending epoch scheduler step, the shuffle and the generators. Returns the
/// batches of the first epoch already trained.
KILN_DECL std::int64_t FitLoop::resume() {
  if (!h_.session.resume) return 0;
  resumed_ = std::exchange(h_.session.resume, std::nullopt);
  logs_.restore_metric_states(std::move(resumed_->metric_states));
  if (automatic_ && resumed_->epoch_schedulers_pending)
    for (auto& o : h_.session.optimizers) step_scheduler(o, Interval::epoch, s_.epoch, metrics());
  h_.session.progress.epoch_schedulers_pending = false;
  train_.set_epoch(s_.epoch);  // the same shuffle
  if (resumed_->skip == 0) resumed_->restore_rng();  // else after train_epoch_start, where the run stood
  return resumed_->skip;
}

/// One batch: train_batch_start, the step (forward, backward, and an optimizer step when the
/// accumulation is complete), train_batch_end, logging, validation when due, stop decisions.
KILN_DECL void FitLoop::batch() {
  if (h_.profiling) {  // the time since the last batch: the loader's
    h_.record(action_id<"train_dataloader_next">(), std::chrono::duration<double>(Clock::now() - fetch_from_).count());
    h_.mark_train_batch(s_.global_step, true);
  }
  train_batch_steps();
  if (h_.profiling) {
    h_.mark_train_batch(s_.global_step, false);
    fetch_from_ = Clock::now();
  }
}

KILN_DECL void FitLoop::train_batch_steps() {
  [[maybe_unused]] const auto batch_scope = h_.profile<"run_training_batch">();
  const std::int64_t step_before = s_.global_step;
  emit(event::train_batch_start{s_.batch_idx});
  s_.output = training_step();
  ++s_.iteration;
  h_.session.progress = {s_.epoch, s_.batch_idx + 1, false};  // a checkpoint from here on resumes after this batch
  emit(event::train_batch_end{s_.batch_idx, s_.output});
  // Loggers get step values every log_every_n_steps; callback_metrics read them lazily.
  if (s_.global_step != step_before && s_.global_step % cfg_.log_every_n_steps == 0)
    h_.publish(logs_.step_values(), logs_);
  if (val_every_ > 0 && epoch_validates() && (s_.batch_idx + 1) % val_every_ == 0) validate();
  agree_on_stops();
  check_max_steps();
  if (accumulated_ == 0) stop_with_checkpoint_if_asked();  // between optimizer steps only
}

KILN_DECL at::Tensor FitLoop::training_step() {
  const std::size_t action = h_.action<"training_step">();
  if (!automatic_) {
    at::Tensor out = train_.step(ctx_, action);
    h_.update_scale();  // once per iteration, after every optimizer the step stepped
    return out.defined() ? out.detach() : out;
  }
  const at::Tensor loss = train_.step(ctx_, action);
  if (!loss.defined())
    throw Error(fmt::format("kiln: training_step returned an undefined tensor at epoch {}, batch {}", s_.epoch,
                            s_.batch_idx));
  const at::Tensor scaled = cfg_.accumulate_grad_batches > 1 ? loss / double(cfg_.accumulate_grad_batches) : loss;
  emit(event::before_backward{scaled});
  // DDP: gradients are averaged over the ranks only in a backward an optimizer step follows
  {
    [[maybe_unused]] const auto scope = h_.profile<"backward">();
    h_.backward(scaled, accumulated_ + 1 == cfg_.accumulate_grad_batches || is_last_batch());
  }
  emit(event::after_backward{});
  if (++accumulated_ == cfg_.accumulate_grad_batches || is_last_batch()) optimizer_step();
  return loss.detach();  // what callbacks keep must not hold the autograd graph
}

KILN_DECL void FitLoop::optimizer_step() {
  [[maybe_unused]] const auto scope = h_.profile<"optimizer_step">();
  auto& o = h_.session.optimizers[0];
  emit(event::before_optimizer_step{0});
  h_.unscale(*o.optimizer);
  clip_gradients(params_, cfg_);
  const bool stepped = h_.optimizer_step(*o.optimizer);
  h_.update_scale();
  emit(event::before_zero_grad{0});
  compat::zero_grad_to_none(*o.optimizer);
  accumulated_ = 0;
  ++s_.global_step;
  // A skipped step (loss scaler found inf/NaN) must not advance the schedule.
  if (stepped) step_scheduler(o, Interval::step, s_.global_step, metrics());
}

/// The end of a training epoch: a pending optimizer step, validation at epoch end,
/// train_epoch_end, the epoch's logged values, the epoch schedulers.
KILN_DECL void FitLoop::end_train_epoch() {
  // A stop in the middle of an epoch (max_steps, a callback, a signal) pauses it: its end-of-
  // epoch optimizer and scheduler steps wait until a resumed run finishes the epoch, and a
  // checkpoint written from here on resumes at the batch after the last one trained.
  const bool cut_short = s_.should_stop && !(epoch_length_ && s_.batch_idx >= *epoch_length_);
  if (!cut_short) h_.session.progress = {s_.epoch + 1, 0, automatic_};  // until the epoch schedulers below have stepped
  if (automatic_ && accumulated_ > 0 && !cut_short) {
    optimizer_step();
    check_max_steps();
  }
  if (val_every_ < 0 && epoch_validates()) validate();
  // Epoch reductions are visible to train_epoch_end handlers (as in Lightning); values the
  // handlers log are included in what the loggers then receive.
  h_.refresh(logs_.epoch_values(), logs_);
  h_.session.epoch_end_reached = true;
  emit(event::train_epoch_end{});
  agree_on_stops();
  auto values = logs_.step_values();
  values.merge(logs_.take_epoch_values());
  h_.publish(values, logs_);
  if (automatic_ && !cut_short)  // Lightning leaves schedulers to the user in manual optimization
    for (auto& o : h_.session.optimizers) step_scheduler(o, Interval::epoch, s_.epoch + 1, metrics());
  h_.session.progress.epoch_schedulers_pending = false;
  h_.save_logs();
}

/// Every rank takes the stop decisions any rank took (EarlyStopping, Timer, a callback's stop,
/// a preemption signal delivered to one rank), so all stop after the same step.
KILN_DECL void FitLoop::agree_on_stops() {
  if (h_.world_size() == 1) return;
  auto& request = h_.session.stop_request;
  const int sig = preemption_.pending();
  auto f = at::tensor({s_.should_stop ? 1.0 : 0.0, request ? 1.0 : 0.0, static_cast<double>(sig)}, at::kDouble);
  h_.all_reduce_max(f);
  const auto* v = f.data_ptr<double>();
  if (v[0] > 0 && !s_.should_stop) s_.request_stop("another rank stopped the fit");
  if (v[1] > 0 && !request) request = std::string("another rank asked to stop with a checkpoint");
  if (v[2] > 0 && !sig) preemption_.adopt(static_cast<int>(v[2]));
}

KILN_DECL void FitLoop::check_max_steps() {
  if (cfg_.max_steps >= 0 && s_.global_step >= cfg_.max_steps && !s_.should_stop)
    s_.request_stop(fmt::format("max_steps={} reached", cfg_.max_steps));
}

/// A preemption signal, or a callback's Trainer::stop_with_checkpoint(): write
/// <checkpoint dir>/last.pt here, between optimizer steps, so resuming from it continues exactly.
KILN_DECL void FitLoop::stop_with_checkpoint_if_asked() {
  const int sig = preemption_.pending();
  auto& request = h_.session.stop_request;
  if (!sig && !request) return;
  const auto path = h_.checkpoint_dir() / "last.pt";
  h_.save_checkpoint(path);
  const auto& at = h_.session.progress;
  const std::string where = fmt::format("checkpoint {} (resumes at epoch {}, batch {}; global step {})", path.string(),
                                        at.epoch, at.batch, s_.global_step);
  if (!sig) {
    s_.request_stop(fmt::format("{}; {}", *std::exchange(request, std::nullopt), where));
    return;
  }
  preemption_.handled();
  h_.finalize(RunStatus::killed);
  const char* name = sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "a signal";
  if (!cfg_.exit_on_preemption) {
    s_.request_stop(fmt::format("preempted by {}; {}", name, where));
    return;
  }
  h_.save_logs();
  if (h_.is_global_zero())
    fmt::print(stderr, "kiln: preempted by {}: wrote {}; exiting with status {} (resume with ckpt_path)\n", name, where,
               preempted_exit_code);
  std::fflush(nullptr);
  // Not exit(): loader threads may still run while static destructors would; everything
  // worth keeping is on disk.
  std::_Exit(preempted_exit_code);
}

KILN_DECL void FitLoop::resolve_val_interval() {
  const auto& v = cfg_.val_check_interval;
  if (v.is_all()) val_every_ = -1;
  else if (!v.is_fraction) {
    val_every_ = static_cast<std::int64_t>(v.value);
    if (val_ && epoch_length_ && val_every_ > *epoch_length_)
      throw Error(fmt::format("kiln: val_check_interval={} is more than the {} training batches of an "
                              "epoch, so validation would never run; give at most {}",
                              val_every_, *epoch_length_, *epoch_length_));
  }
  else if (!epoch_length_)
    throw Error(fmt::format("kiln: val_check_interval={} is a fraction, but the training data "
                            "does not know its size; give a batch count instead", v.value));
  else val_every_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(v.value * double(*epoch_length_)));
}

KILN_DECL void FitLoop::validate() {
  EvaluationLoop<Stage::validate> loop(h_, m_);
  loop.run(*val_, cfg_.limit_val_batches, "limit_val_batches", -1);
}

#endif  // KILN_DEFINITIONS

}  // namespace kiln::detail
