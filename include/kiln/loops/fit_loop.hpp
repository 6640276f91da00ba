// SPDX-License-Identifier: Apache-2.0
// kiln/loops/fit_loop.hpp — fit(): the sanity check, then epochs of training steps, validation when due.
#pragma once
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <torch/utils.h>

#include <kiln/core/batch_size.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/concepts/training_module.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/loops/batches.hpp>
#include <kiln/loops/evaluation_loop.hpp>
#include <kiln/loops/optimization.hpp>
#include <kiln/profiler/profiler.hpp>
#include <kiln/trainer/log_buffer.hpp>
#include <kiln/util/preemption.hpp>
#include <kiln/util/torch_compat.hpp>

namespace kiln::detail {

/// One fit() of Module on training data, validating on `Val` data (no_data: none). run() reads
/// top to bottom in the order of the events it emits (kiln/core/events.hpp).
template <class Ctx, class Module, class Val>
class FitLoop {
  static constexpr bool automatic = automatic_optimization<Module>;
  static constexpr bool has_val = !std::is_same_v<Val, no_data>;

 public:
  /// `preemption`: installed by fit() before setup, so a signal at any moment of the fit is acted on.
  FitLoop(Ctx c, Module& m, Val* val, PreemptionHandler& preemption)
      : c_(c), m_(m), val_(val), cfg_(c_.config), s_(c_.session.state), ctx_(c_.wiring(s_, Stage::fit, logs_)),
        preemption_(preemption) {}
  FitLoop(const FitLoop&) = delete;  // the step context points into this object

  template <class Data>
  void run(Data& data) {
    auto& opts = c_.session.optimizers;
    if (automatic && opts.size() != 1)
      throw Error(fmt::format("kiln: automatic optimization needs exactly one optimizer, but "
                              "configure_optimizers() returned {}; set `static constexpr bool "
                              "automatic_optimization = false` and step them in training_step",
                              opts.size()));
    if (automatic) params_ = optimizer_params(*opts[0].optimizer);
    auto& range = rank_range(data, c_.strategy);
    const auto size = size_of(range);
    const std::int64_t limit = cfg_.limit_train_batches.resolve(size, "limit_train_batches");
    if (size) epoch_length_ = limit;  // exact only for sized data; else the limit is a maximum
    resolve_val_interval();

    m_.train();
    c_.session.live_logs = &logs_;
    c_.session.train_forward = [&] { forward_pass(range, limit); };
    struct Unhook {
      Session& s;
      ~Unhook() {
        s.live_logs = nullptr;
        s.train_forward = nullptr;
      }
    } unhook{c_.session};
    emit(event::fit_start{});
    sanity_check();
    emit(event::train_start{});
    std::int64_t skip = resume(range);
    // Lightning skips training for limit_train_batches=0, max_steps=0, or max_steps already
    // reached (a resumed run).
    if (limit != 0 && !s_.should_stop && !(cfg_.max_steps >= 0 && s_.global_step >= cfg_.max_steps)) {
      begin_run(s_, range, cfg_.max_epochs, limit);
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
        c_.session.epoch_end_reached = false;
        c_.session.progress = {s_.epoch, 0, false};
        emit(event::train_epoch_start{});
        if (resumed_ && resumed_->skip > 0) resumed_->restore_rng();  // mid-epoch resume: where the run stood
        resumed_.reset();
        {
          [[maybe_unused]] const auto epoch_scope = c_.template profile<"run_training_epoch">();
          fetch_from_ = Clock::now();
          for_each_batch(range, s_, limit, std::exchange(skip, 0), [&](auto& batch) { train_batch(batch); });
          end_train_epoch();
        }
        end_epoch(s_, limit);
      }
    }
    emit(event::train_end{});
    // A requested stop (EarlyStopping, Timer, max_steps, ...) is always said; the normal end
    // only beside a progress bar.
    const bool requested = !s_.stop_reason.empty();
    if (!requested && cfg_.max_epochs >= 0 && s_.epoch >= cfg_.max_epochs)
      s_.stop_reason = fmt::format("max_epochs={} reached", cfg_.max_epochs);
    if ((requested || cfg_.enable_progress_bar) && c_.strategy.is_global_zero() && !s_.stop_reason.empty())
      fmt::print(stderr, "kiln: fit stopped: {}\n", s_.stop_reason);
    emit(event::fit_end{});
    c_.hub.save();
    c_.emit_outside_loop(event::teardown{Stage::fit}, &m_, Stage::fit);
  }

 private:
  template <class Event>
  void emit(const Event& e) { c_.emit(e, &m_, &ctx_); }

  /// Trainer::forward_over_train_data: training_step over the data with a progress and a log
  /// buffer of its own, so the fit's are untouched.
  template <class Range>
  void forward_pass(Range& range, std::int64_t limit) {
    if constexpr (!automatic) {
      throw Error("kiln: forward_over_train_data() needs automatic optimization: with manual optimization "
                  "training_step steps the optimizers itself");
    } else {
      torch::NoGradGuard no_grad;
      State scratch;
      LogBuffer logs;
      StepContext ctx(c_.wiring(scratch, Stage::fit, logs));
      begin_epoch(scratch);
      for_each_batch(range, scratch, limit, 0, [&](auto& raw) {
        c_.with_batch(raw, [&](auto& batch) {
          ctx.set_batch_size(batch_size_of(batch));
          [[maybe_unused]] auto guard = c_.precision.autocast();
          return m_.training_step(batch, ctx);
        });
      });
    }
  }

  void sanity_check() {
    if constexpr (has_val) {
      if (cfg_.num_sanity_val_steps == 0) return;
      s_.stage = Stage::sanity_check;  // callbacks can tell it from real validation
      c_.emit_outside_loop(event::sanity_check_start{}, &m_, Stage::sanity_check);
      EvaluationLoop<Ctx, Module, Stage::validate> sanity(c_, m_, Stage::sanity_check);
      sanity.run(*val_, cfg_.limit_val_batches, "limit_val_batches", cfg_.num_sanity_val_steps, val_step());
      c_.emit_outside_loop(event::sanity_check_end{}, &m_, Stage::sanity_check);
      s_.stage = Stage::fit;
    }
  }

  /// What fit(..., {.ckpt_path}) restored needs the loop for the rest: the logged metric
  /// objects, a pending epoch scheduler step, the shuffle and the generators. Returns the
  /// batches of the first epoch already trained.
  template <class Range>
  std::int64_t resume(Range& range) {
    if (!c_.session.resume) return 0;
    resumed_ = std::exchange(c_.session.resume, std::nullopt);
    logs_.restore_metric_states(std::move(resumed_->metric_states));
    if (automatic && resumed_->epoch_schedulers_pending)
      for (auto& o : c_.session.optimizers) step_scheduler(o, Interval::epoch, s_.epoch, metrics());
    c_.session.progress.epoch_schedulers_pending = false;
    if constexpr (requires { range.set_epoch(s_.epoch); }) range.set_epoch(s_.epoch);  // the same shuffle
    if (resumed_->skip == 0) resumed_->restore_rng();  // else after train_epoch_start, where the run stood
    return resumed_->skip;
  }

  /// One batch: train_batch_start, the step (forward, backward, and an optimizer step when the
  /// accumulation is complete), train_batch_end, logging, validation when due, stop decisions.
  template <class Batch>
  void train_batch(Batch& raw) {
    if constexpr (Ctx::profiling) {  // the time since the last batch: the loader's
      c_.profiler.record(action_id<"train_dataloader_next">(), std::chrono::duration<double>(Clock::now() - fetch_from_).count());
      c_.profiler.train_batch(s_.global_step, true);
    }
    train_batch_steps(raw);
    if constexpr (Ctx::profiling) {
      c_.profiler.train_batch(s_.global_step, false);
      fetch_from_ = Clock::now();
    }
  }
  template <class Batch>
  void train_batch_steps(Batch& raw) {
    [[maybe_unused]] const auto batch_scope = c_.template profile<"run_training_batch">();
    const std::int64_t step_before = s_.global_step;
    emit(event::train_batch_start{s_.batch_idx});
    s_.output = c_.with_batch(raw, [&](auto& batch) { return training_step(batch); });
    ++s_.iteration;
    c_.session.progress = {s_.epoch, s_.batch_idx + 1, false};  // a checkpoint from here on resumes after this batch
    emit(event::train_batch_end{s_.batch_idx, s_.output});
    // Loggers get step values every log_every_n_steps; callback_metrics read them lazily.
    if (s_.global_step != step_before && s_.global_step % cfg_.log_every_n_steps == 0)
      c_.hub.publish(logs_.step_values(), logs_);
    if (val_every_ > 0 && epoch_validates() && (s_.batch_idx + 1) % val_every_ == 0) validate();
    agree_on_stops();
    check_max_steps();
    if (accumulated_ == 0) stop_with_checkpoint_if_asked();  // between optimizer steps only
  }

  template <class Batch>
  at::Tensor training_step(Batch& batch) {
    ctx_.set_batch_size(batch_size_of(batch));
    if constexpr (automatic) {
      at::Tensor loss;
      {
        [[maybe_unused]] const auto scope = c_.template profile<"training_step">();
        [[maybe_unused]] auto guard = c_.precision.autocast();
        loss = m_.training_step(batch, ctx_);
      }
      if (!loss.defined())
        throw Error(fmt::format("kiln: training_step returned an undefined tensor at epoch {}, batch {}", s_.epoch,
                                s_.batch_idx));
      const at::Tensor scaled = cfg_.accumulate_grad_batches > 1 ? loss / double(cfg_.accumulate_grad_batches) : loss;
      emit(event::before_backward{scaled});
      // DDP: gradients are averaged over the ranks only in a backward an optimizer step follows
      {
        [[maybe_unused]] const auto scope = c_.template profile<"backward">();
        c_.backward(scaled, accumulated_ + 1 == cfg_.accumulate_grad_batches || is_last_batch());
      }
      emit(event::after_backward{});
      if (++accumulated_ == cfg_.accumulate_grad_batches || is_last_batch()) optimizer_step();
      return loss.detach();  // what callbacks keep must not hold the autograd graph
    } else {
      at::Tensor out;
      {
        [[maybe_unused]] const auto scope = c_.template profile<"training_step">();
        [[maybe_unused]] auto guard = c_.precision.autocast();
        if constexpr (std::is_void_v<decltype(m_.training_step(batch, ctx_))>) m_.training_step(batch, ctx_);
        else out = m_.training_step(batch, ctx_);
      }
      c_.precision.update();  // once per iteration, after every optimizer the step stepped
      return out.defined() ? out.detach() : out;
    }
  }

  void optimizer_step() {
    [[maybe_unused]] const auto scope = c_.template profile<"optimizer_step">();
    auto& o = c_.session.optimizers[0];
    emit(event::before_optimizer_step{0});
    c_.precision.unscale(*o.optimizer);
    clip_gradients(params_, cfg_);
    const bool stepped = c_.precision.optimizer_step(*o.optimizer);
    c_.precision.update();
    emit(event::before_zero_grad{0});
    compat::zero_grad_to_none(*o.optimizer);
    accumulated_ = 0;
    ++s_.global_step;
    // A skipped step (loss scaler found inf/NaN) must not advance the schedule.
    if (stepped) step_scheduler(o, Interval::step, s_.global_step, metrics());
  }

  /// The end of a training epoch: a pending optimizer step, validation at epoch end,
  /// train_epoch_end, the epoch's logged values, the epoch schedulers.
  void end_train_epoch() {
    // A stop in the middle of an epoch (max_steps, a callback, a signal) pauses it: its end-of-
    // epoch optimizer and scheduler steps wait until a resumed run finishes the epoch, and a
    // checkpoint written from here on resumes at the batch after the last one trained.
    const bool cut_short = s_.should_stop && !(epoch_length_ && s_.batch_idx >= *epoch_length_);
    if (!cut_short) c_.session.progress = {s_.epoch + 1, 0, automatic};  // until the epoch schedulers below have stepped
    if (automatic && accumulated_ > 0 && !cut_short) {
      optimizer_step();
      check_max_steps();
    }
    if (val_every_ < 0 && epoch_validates()) validate();
    // Epoch reductions are visible to train_epoch_end handlers (as in Lightning); values the
    // handlers log are included in what the loggers then receive.
    c_.hub.refresh(logs_.epoch_values(), logs_);
    c_.session.epoch_end_reached = true;
    emit(event::train_epoch_end{});
    agree_on_stops();
    auto values = logs_.step_values();
    values.merge(logs_.take_epoch_values());
    c_.hub.publish(values, logs_);
    if (automatic && !cut_short)  // Lightning leaves schedulers to the user in manual optimization
      for (auto& o : c_.session.optimizers) step_scheduler(o, Interval::epoch, s_.epoch + 1, metrics());
    c_.session.progress.epoch_schedulers_pending = false;
    c_.hub.save();
  }

  auto metrics() {
    return [this]() -> const MetricMap& { return c_.hub.callback_metrics(); };
  }

  /// Every rank takes the stop decisions any rank took (EarlyStopping, Timer, a callback's stop,
  /// a preemption signal delivered to one rank), so all stop after the same step.
  void agree_on_stops() {
    if (c_.strategy.world_size() == 1) return;
    auto& request = c_.session.stop_request;
    const int sig = preemption_.pending();
    auto f = at::tensor({s_.should_stop ? 1.0 : 0.0, request ? 1.0 : 0.0, static_cast<double>(sig)}, at::kDouble);
    c_.strategy.all_reduce_max(f);
    const auto* v = f.template data_ptr<double>();
    if (v[0] > 0 && !s_.should_stop) s_.request_stop("another rank stopped the fit");
    if (v[1] > 0 && !request) request = std::string("another rank asked to stop with a checkpoint");
    if (v[2] > 0 && !sig) preemption_.adopt(static_cast<int>(v[2]));
  }

  void check_max_steps() {
    if (cfg_.max_steps >= 0 && s_.global_step >= cfg_.max_steps && !s_.should_stop)
      s_.request_stop(fmt::format("max_steps={} reached", cfg_.max_steps));
  }

  /// A preemption signal, or a callback's Trainer::stop_with_checkpoint(): write
  /// <checkpoint dir>/last.pt here, between optimizer steps, so resuming from it continues exactly.
  void stop_with_checkpoint_if_asked() {
    const int sig = preemption_.pending();
    auto& request = c_.session.stop_request;
    if (!sig && !request) return;
    const auto path = c_.checkpoints.dir(c_.owner) / "last.pt";
    c_.owner.save_checkpoint(path);
    const auto& at = c_.session.progress;
    const std::string where = fmt::format("checkpoint {} (resumes at epoch {}, batch {}; global step {})", path.string(),
                                          at.epoch, at.batch, s_.global_step);
    if (!sig) {
      s_.request_stop(fmt::format("{}; {}", *std::exchange(request, std::nullopt), where));
      return;
    }
    preemption_.handled();
    c_.hub.finalize(RunStatus::killed);
    const char* name = sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "a signal";
    if (!cfg_.exit_on_preemption) {
      s_.request_stop(fmt::format("preempted by {}; {}", name, where));
      return;
    }
    c_.hub.save();
    if (c_.strategy.is_global_zero())
      fmt::print(stderr, "kiln: preempted by {}: wrote {}; exiting with status {} (resume with ckpt_path)\n", name, where,
                 preempted_exit_code);
    std::fflush(nullptr);
    // Not exit(): loader threads may still run while static destructors would; everything
    // worth keeping is on disk.
    std::_Exit(preempted_exit_code);
  }

  void resolve_val_interval() {
    const auto& v = cfg_.val_check_interval;
    if (v.is_all()) val_every_ = -1;
    else if (!v.is_fraction) {
      val_every_ = static_cast<std::int64_t>(v.value);
      if (has_val && epoch_length_ && val_every_ > *epoch_length_)
        throw Error(fmt::format("kiln: val_check_interval={} is more than the {} training batches of an "
                                "epoch, so validation would never run; give at most {}",
                                val_every_, *epoch_length_, *epoch_length_));
    }
    else if (!epoch_length_)
      throw Error(fmt::format("kiln: val_check_interval={} is a fraction, but the training data "
                              "does not know its size; give a batch count instead", v.value));
    else val_every_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(v.value * double(*epoch_length_)));
  }

  bool is_last_batch() const { return epoch_length_ && s_.batch_idx + 1 == *epoch_length_; }
  bool epoch_validates() const { return has_val && (s_.epoch + 1) % cfg_.check_val_every_n_epoch == 0; }

  auto val_step() {
    return [this](auto& b, StepContext& ctx) { m_.validation_step(b, ctx); };
  }

  void validate() {
    if constexpr (has_val) {
      EvaluationLoop<Ctx, Module, Stage::validate> loop(c_, m_);
      loop.run(*val_, cfg_.limit_val_batches, "limit_val_batches", -1, val_step());
    }
  }

  Ctx c_;
  Module& m_;
  Val* val_;
  const TrainerConfig& cfg_;
  State& s_;
  LogBuffer logs_;
  StepContext ctx_;
  std::vector<at::Tensor> params_;
  std::optional<std::int64_t> epoch_length_;
  std::int64_t val_every_ = -1;
  std::int64_t accumulated_ = 0;
  std::optional<ResumePoint> resumed_;
  PreemptionHandler& preemption_;
  using Clock = std::chrono::steady_clock;
  Clock::time_point fetch_from_{};  // the end of the last batch: the profiler's data fetch starts there
};

}  // namespace kiln::detail
