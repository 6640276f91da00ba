// SPDX-License-Identifier: Apache-2.0
// kiln/loops/fit_loop.hpp — the training loop: an Engine whose process function is the module's step.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include <kiln/core/batch_size.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/concepts/training_module.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/log_buffer.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/core/trainer_checkpoint.hpp>
#include <kiln/engine.hpp>
#include <kiln/loops/evaluation_loop.hpp>
#include <kiln/loops/optimization.hpp>
#include <kiln/util/preemption.hpp>

namespace kiln::detail {

/// fit(): sanity check, then an Engine over the training data whose events this class maps
/// to Lightning's (train_epoch_start, train_batch_start, ..., validation when due,
/// train_epoch_end). `Val` is the validation data type, or no_data.
template <class Trainer, class Module, class Val>
class FitLoop {
  static constexpr bool automatic = automatic_optimization<Module>;

 public:
  FitLoop(Trainer& t, Module& m, Val* val)
      : t_(t), m_(m), val_(val), cfg_(t.config_), s_(t.state_), ctx_(t.wiring(t.state_, Stage::fit, logs_)) {}

  template <class Data>
  void run(Data& data) {
    if (automatic && t_.optimizers_.size() != 1)
      throw Error(fmt::format("kiln: automatic optimization needs exactly one optimizer, but "
                              "configure_optimizers() returned {}; set `static constexpr bool "
                              "automatic_optimization = false` and step them in training_step",
                              t_.optimizers_.size()));
    if (automatic) params_ = optimizer_params(*t_.optimizers_[0].optimizer);
    auto&& range = as_range(data);
    // a loader made before kiln's own launcher started the ranks takes its shard now
    if constexpr (requires { range.use_ranks(0, 1); }) range.use_ranks(t_.strategy().rank(), t_.strategy().world_size());
    const auto size = size_of(range);
    const std::int64_t limit = cfg_.limit_train_batches.resolve(size, "limit_train_batches");
    if (size) epoch_length_ = limit;  // exact only for sized data; else the limit is a maximum
    resolve_val_interval();

    m_.train();
    t_.live_logs_ = &logs_;
    struct Unhook {
      Trainer& t;
      ~Unhook() { t.live_logs_ = nullptr; }
    } unhook{t_};
    t_.setup_stage(Stage::fit);
    t_.emit(event::fit_start{}, &m_, &ctx_);
    if constexpr (has_val) {
      if (cfg_.num_sanity_val_steps != 0) {
        s_.stage = Stage::sanity_check;  // callbacks can tell it from real validation
        t_.emit(event::sanity_check_start{});
        EvaluationLoop<Trainer, Module, Stage::validate> sanity(t_, m_, Stage::sanity_check);
        sanity.run(*val_, cfg_.limit_val_batches, "limit_val_batches", cfg_.num_sanity_val_steps, val_step());
        t_.emit(event::sanity_check_end{});
        s_.stage = Stage::fit;
      }
    }
    t_.emit(event::train_start{}, &m_, &ctx_);
    std::int64_t skip = 0;
    if (t_.resume_) {  // fit(..., {.ckpt_path}) restored the rest; this part needs the loop
      resume_ = std::exchange(t_.resume_, std::nullopt);
      logs_.restore_metric_states(std::move(resume_->metric_states));
      skip = resume_->skip;
      if (automatic && resume_->epoch_schedulers_pending)
        for (auto& o : t_.optimizers_) step_scheduler(o, Interval::epoch, s_.epoch, metrics());
      t_.progress_.epoch_schedulers_pending = false;
      if constexpr (requires { range.set_epoch(s_.epoch); }) range.set_epoch(s_.epoch);  // the same shuffle
      if (skip == 0) resume_->restore_rng();  // else after train_epoch_start, where the run stood
    }
    // Lightning skips training for limit_train_batches=0, max_steps=0, or max_steps already
    // reached (a resumed run).
    if (limit != 0 && !s_.should_stop && !(cfg_.max_steps >= 0 && s_.global_step >= cfg_.max_steps)) {
      PreemptionHandler preemption(cfg_.handle_preemption_signals);
      preemption_ = &preemption;
      Engine<FitLoop&, FitLoop&> engine(*this, *this);
      engine.attach_state(s_);
      engine.run(data, {.max_epochs = cfg_.max_epochs,
                        .epoch_length = limit < 0 ? std::nullopt : std::optional<std::int64_t>(limit),
                        .skip_batches = skip});
      preemption_ = nullptr;
    }
    t_.emit(event::train_end{}, &m_, &ctx_);
    // A requested stop (EarlyStopping, Timer, max_steps, ...) is always said; the normal end
    // only beside a progress bar.
    const bool requested = !s_.stop_reason.empty();
    if (!requested && cfg_.max_epochs >= 0 && s_.epoch >= cfg_.max_epochs)
      s_.stop_reason = fmt::format("max_epochs={} reached", cfg_.max_epochs);
    if ((requested || cfg_.enable_progress_bar) && t_.is_global_zero() && !s_.stop_reason.empty())
      fmt::print(stderr, "kiln: fit stopped: {}\n", s_.stop_reason);
    t_.emit(event::fit_end{}, &m_, &ctx_);
    t_.save_loggers();
    t_.emit(event::teardown{Stage::fit});
  }

  /// The process function: forward, backward and (when the accumulation is complete) a step.
  template <class Eng, class Batch>
  at::Tensor operator()(Eng&, Batch& raw) {
    return t_.with_batch(raw, [&](auto& batch) -> at::Tensor {
      ctx_.set_batch_size(detail::batch_size_of(batch));
      if constexpr (automatic) {
        at::Tensor loss;
        {
          [[maybe_unused]] auto guard = t_.precision().autocast();
          loss = m_.training_step(batch, ctx_);
        }
        if (!loss.defined())
          throw Error(fmt::format("kiln: training_step returned an undefined tensor at epoch {}, batch {}",
                                  s_.epoch, s_.batch_idx));
        const at::Tensor scaled = cfg_.accumulate_grad_batches > 1 ? loss / double(cfg_.accumulate_grad_batches) : loss;
        t_.emit(event::before_backward{scaled}, &m_, &ctx_);
        // DDP: gradients are averaged over the ranks only in a backward an optimizer step follows
        t_.backward(scaled, accumulated_ + 1 == cfg_.accumulate_grad_batches || is_last_batch());
        t_.emit(event::after_backward{}, &m_, &ctx_);
        if (++accumulated_ == cfg_.accumulate_grad_batches || is_last_batch()) optimizer_step();
        return loss.detach();  // what callbacks keep must not hold the autograd graph
      } else {
        at::Tensor out;
        {
          [[maybe_unused]] auto guard = t_.precision().autocast();
          if constexpr (std::is_void_v<decltype(m_.training_step(batch, ctx_))>) m_.training_step(batch, ctx_);
          else out = m_.training_step(batch, ctx_);
        }
        t_.precision().update();  // once per iteration, after every optimizer the step stepped
        return out.defined() ? out.detach() : out;
      }
    });
  }

  template <class Eng>
  void on(const event::epoch_started&, Eng&) {
    t_.epoch_end_reached_ = false;
    t_.progress_ = {s_.epoch, 0, false};
    t_.emit(event::train_epoch_start{}, &m_, &ctx_);
    if (resume_ && resume_->skip > 0) resume_->restore_rng();  // mid-epoch resume
    resume_.reset();
  }
  template <class Eng>
  void on(const event::iteration_started&, Eng&) {
    step_before_batch_ = s_.global_step;
    t_.emit(event::train_batch_start{s_.batch_idx}, &m_, &ctx_);
  }
  template <class Eng>
  void on(const event::iteration_completed&, Eng&) {
    t_.progress_ = {s_.epoch, s_.batch_idx + 1, false};  // a checkpoint from here on resumes after this batch
    t_.emit(event::train_batch_end{s_.batch_idx, s_.output}, &m_, &ctx_);
    // Loggers get step values every log_every_n_steps; callback_metrics read them lazily.
    if (s_.global_step != step_before_batch_ && s_.global_step % cfg_.log_every_n_steps == 0)
      t_.publish(logs_.step_values(), logs_);
    if (val_every_ > 0 && epoch_validates() && (s_.batch_idx + 1) % val_every_ == 0) validate();
    agree_on_stops();
    check_max_steps();
    if (accumulated_ == 0) stop_with_checkpoint_if_asked();  // between optimizer steps only
  }
  template <class Eng>
  void on(const event::epoch_completed&, Eng&) {
    // A stop in the middle of an epoch (max_steps, a callback, a signal) pauses it: its end-of-
    // epoch optimizer and scheduler steps wait until a resumed run finishes the epoch, and a
    // checkpoint written from here on resumes at the batch after the last one trained.
    const bool cut_short = s_.should_stop && !(epoch_length_ && s_.batch_idx >= *epoch_length_);
    if (!cut_short) t_.progress_ = {s_.epoch + 1, 0, automatic};  // until the epoch schedulers below have stepped
    if (automatic && accumulated_ > 0 && !cut_short) {
      optimizer_step();
      check_max_steps();
    }
    if (val_every_ < 0 && epoch_validates()) validate();
    // Epoch reductions are visible to train_epoch_end handlers (as in Lightning); values the
    // handlers log are included in what the loggers then receive.
    t_.refresh_metrics(logs_.epoch_values(), logs_);
    t_.epoch_end_reached_ = true;
    t_.emit(event::train_epoch_end{}, &m_, &ctx_);
    agree_on_stops();
    auto values = logs_.step_values();
    values.merge(logs_.take_epoch_values());
    t_.publish(values, logs_);
    if (automatic && !cut_short)  // Lightning leaves schedulers to the user in manual optimization
      for (auto& o : t_.optimizers_) step_scheduler(o, Interval::epoch, s_.epoch + 1, metrics());
    t_.progress_.epoch_schedulers_pending = false;
    t_.save_loggers();
  }

 private:
  static constexpr bool has_val = !std::is_same_v<Val, no_data>;

  auto metrics() {
    return [this]() -> const MetricMap& { return t_.callback_metrics(); };
  }

  /// DDP: every rank takes the stop decisions any rank took (EarlyStopping, Timer, a callback's
  /// stop, a preemption signal delivered to one rank), so all stop after the same step.
  void agree_on_stops() {
    if constexpr (requires(at::Tensor x) { t_.strategy().all_reduce_max(x); }) {
      if (t_.strategy().world_size() == 1) return;
      const int sig = preemption_ ? preemption_->pending() : 0;
      auto f = at::tensor({s_.should_stop ? 1.0 : 0.0, t_.stop_request_ ? 1.0 : 0.0, static_cast<double>(sig)}, at::kDouble);
      t_.strategy().all_reduce_max(f);
      const auto* v = f.template data_ptr<double>();
      if (v[0] > 0 && !s_.should_stop) s_.request_stop("another rank stopped the fit");
      if (v[1] > 0 && !t_.stop_request_) t_.stop_request_ = std::string("another rank asked to stop with a checkpoint");
      if (v[2] > 0 && !sig && preemption_) preemption_->adopt(static_cast<int>(v[2]));
    }
  }

  void check_max_steps() {
    if (cfg_.max_steps >= 0 && s_.global_step >= cfg_.max_steps && !s_.should_stop)
      s_.request_stop(fmt::format("max_steps={} reached", cfg_.max_steps));
  }

  /// A preemption signal, or a callback's Trainer::stop_with_checkpoint(): write
  /// <checkpoint dir>/last.pt here, between optimizer steps, so resuming from it continues exactly.
  void stop_with_checkpoint_if_asked() {
    const int sig = preemption_ ? preemption_->pending() : 0;
    if (!sig && !t_.stop_request_) return;
    const auto path = t_.checkpoint_dir() / "last.pt";
    t_.save_checkpoint(path);
    const std::string where = fmt::format("checkpoint {} (resumes at epoch {}, batch {}; global step {})", path.string(), s_.epoch,
                                          s_.batch_idx + 1, s_.global_step);
    if (!sig) {
      s_.request_stop(fmt::format("{}; {}", *std::exchange(t_.stop_request_, std::nullopt), where));
      return;
    }
    preemption_->handled();
    const char* name = sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "a signal";
    if (!cfg_.exit_on_preemption) {
      s_.request_stop(fmt::format("preempted by {}; {}", name, where));
      return;
    }
    t_.save_loggers();
    if (t_.is_global_zero())
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
  bool epoch_validates() const {
    return has_val && (s_.epoch + 1) % cfg_.check_val_every_n_epoch == 0;
  }

  auto val_step() {
    return [this](auto& b, StepContext& ctx) { m_.validation_step(b, ctx); };
  }

  void validate() {
    if constexpr (has_val) {
      EvaluationLoop<Trainer, Module, Stage::validate> loop(t_, m_);
      loop.run(*val_, cfg_.limit_val_batches, "limit_val_batches", -1, val_step());
    }
  }

  void optimizer_step() {
    auto& o = t_.optimizers_[0];
    t_.emit(event::before_optimizer_step{0}, &m_, &ctx_);
    t_.precision().unscale(*o.optimizer);
    clip_gradients(params_, cfg_);
    const bool stepped = t_.precision().optimizer_step(*o.optimizer);
    t_.precision().update();
    t_.emit(event::before_zero_grad{0}, &m_, &ctx_);
    compat::zero_grad_to_none(*o.optimizer);
    accumulated_ = 0;
    ++s_.global_step;
    // A skipped step (loss scaler found inf/NaN) must not advance the schedule.
    if (stepped) step_scheduler(o, Interval::step, s_.global_step, metrics());
  }

  Trainer& t_;
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
  std::int64_t step_before_batch_ = 0;
  std::optional<ResumePoint> resume_;
  PreemptionHandler* preemption_ = nullptr;  ///< set while the engine runs
};

}  // namespace kiln::detail
