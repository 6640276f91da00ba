// SPDX-License-Identifier: Apache-2.0
// kiln/trainer.hpp — Trainer<Module, Policies...>: fit, validate, test and predict a module with its policies.
#pragma once
#include <concepts>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <kiln/core/concepts/data_module.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/concepts/training_module.hpp>
#include <kiln/core/config.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/loops/evaluation_loop.hpp>
#include <kiln/loops/fit_loop.hpp>
#include <kiln/loops/loop_context.hpp>
#include <kiln/profiler/pass_through.hpp>
#include <kiln/trainer/checkpoint_connector.hpp>
#include <kiln/trainer/data_connector.hpp>
#include <kiln/trainer/handler_checks.hpp>
#include <kiln/trainer/handler_set.hpp>
#include <kiln/trainer/inline_config.hpp>
#include <kiln/trainer/logging_hub.hpp>
#include <kiln/trainer/loop_host_impl.hpp>
#include <kiln/trainer/policy_set.hpp>
#include <kiln/trainer/run_guard.hpp>
#include <kiln/trainer/session.hpp>
#include <kiln/util/preemption.hpp>

namespace kiln {

/// Trains, validates, tests and predicts with a module. Policies come in any order:
/// `Trainer<Net, Precision<FP32>, Callbacks<A, B>, Loggers<CsvLogger>, Strategy<SingleDevice>>`;
/// missing ones default to Strategy<SingleDevice>, Precision<FP32>, Callbacks<> (plus a
/// ProgressBar), Loggers<CsvLogger> and no profiler. kiln/core/events.hpp gives the order of events.
template <class Module, class... Policies>
class Trainer {
  using P = detail::PolicySet<Module, Policies...>;  // every compile-time check of the list

 public:
  using module_type = Module;
  static constexpr bool automatic_optimization = P::automatic_optimization;
  using strategy_tag = typename P::strategy_tag;
  using precision_tag = typename P::precision_tag;
  using callbacks_type = typename P::callbacks_type;
  using loggers_type = typename P::loggers_type;
  using strategy_type = typename P::strategy_type;
  using precision_type = typename P::precision_type;
  using profiler_tag = typename P::profiler_tag;
  using profiler_type = typename P::profiler_type;

  Trainer() : Trainer(TrainerConfig{}) {}

  /// Options first, then configured callbacks, loggers, strategy and precision tags in any
  /// order; listed types not passed here are default-constructed.
  template <std::same_as<TrainerConfig> Config, class... Handlers>
  explicit Trainer(Config config, Handlers&&... handlers)
      : config_(std::move(config)),
        handlers_(std::forward<Handlers>(handlers)...),
        strategy_(detail::make_policy<strategy_type, strategy_tag>(handlers...)),
        precision_(detail::make_policy<precision_type, precision_tag>(handlers...)),
        profiler_(detail::make_policy<profiler_type, profiler_tag>(handlers...)) {
    static_assert(P::template arguments_ok<std::remove_cvref_t<Handlers>...>());
    static_assert(detail::check_handlers<Trainer>(static_cast<callbacks_type*>(nullptr), static_cast<loggers_type*>(nullptr)));
    kiln::validate(config_);
  }
  /// The options written inline, `Trainer t({.max_epochs = 3}, ...)`: a field given a value of
  /// the wrong type is a compile error naming the field.
  template <class... Handlers>
  explicit Trainer(detail::InlineTrainerConfig config, Handlers&&... handlers)
      : Trainer(std::move(config).config(), std::forward<Handlers>(handlers)...) {}
  Trainer(const Trainer&) = delete;  // its parts refer to each other
  Trainer& operator=(const Trainer&) = delete;

  /// Trains `module` on `train` batches (Lightning's trainer.fit(model, train_dataloaders)), or
  /// on a DataModule's train_dataloader(), validating on its val_dataloader() when the module
  /// has a validation_step.
  template <class TrainData>
  void fit(Module& module, TrainData&& train, const FitOptions& options = {}) {
    using D = std::remove_reference_t<TrainData>;
    if constexpr (DataModule<D>) {
      static_assert(detail::check_data_module_members<D>());  // says what is wrong
      static_assert(detail::has_train_dataloader<D>, KILN_ERR_DATAMODULE_NO_LOADER("fit()", "train_dataloader"));
      if constexpr (detail::has_train_dataloader<D>) around(module, train, Stage::fit)([&] {
        detail::with_fit_loaders<Module>(train, is_global_zero(), [&](auto& loader, auto* val) { run_fit(module, loader, val, options); });
      });
    } else {
      run_fit(module, train, static_cast<detail::no_data*>(nullptr), options);
    }
  }

  /// Trains on `train` and validates on `val` as val_check_interval says.
  template <class TrainData, class ValData>
    requires(!std::is_same_v<std::remove_cvref_t<ValData>, FitOptions>)
  void fit(Module& module, TrainData&& train, ValData&& val, const FitOptions& options = {}) {
    if constexpr (detail::validation_data_ok<Module, std::remove_reference_t<ValData>>()) run_fit(module, train, &val, options);
  }

  /// One pass of validation_step over `data` (or a DataModule's val_dataloader()); returns the
  /// logged epoch values.
  template <class Data>
  MetricMap validate(Module& module, Data&& data) { return evaluate<Stage::validate>(module, data); }

  /// One pass of test_step over `data` (or a DataModule's test_dataloader()); returns the
  /// logged epoch values.
  template <class Data>
  MetricMap test(Module& module, Data&& data) { return evaluate<Stage::test>(module, data); }

  /// predict_step over `data` (or a DataModule's predict_dataloader()); returns what it
  /// returned for each batch.
  template <class Data>
  auto predict(Module& module, Data&& data) {
    detail::predictions_t<Module, std::remove_reference_t<Data>> out;
    detail::with_stage_data<Stage::predict>(data, around(module, data, Stage::predict),
                                            [&](auto& source) { out = run_predict(module, source); });
    return out;
  }

  /// Writes everything needed to continue this fit exactly (kiln/checkpoint/trainer_checkpoint.hpp)
  /// to `path`, atomically: during fit (from a callback) or after it. Global rank 0 writes.
  void save_checkpoint(const std::filesystem::path& path) { checkpoints_.save(run_.saved_module(), path); }
  /// Asks fit() to write <checkpoint_dir()>/last.pt at the next boundary between optimizer
  /// steps and stop there (Timer does); the stop reason is `reason` plus the file.
  void stop_with_checkpoint(std::string reason) {
    if (!session_.stop_request) session_.stop_request = std::move(reason);
  }
  /// Where checkpoints go: the listed ModelCheckpoint's folder, else <log_dir()>/checkpoints.
  std::filesystem::path checkpoint_dir() { return checkpoints_.dir(*this); }
  /// Runs training_step once over the running fit's training data (limit_train_batches
  /// applies), without gradients, backward or optimizer steps, logging nothing: for callbacks
  /// that recompute batch-norm statistics (StochasticWeightAveraging). Only during fit().
  void forward_over_train_data() {
    if (!session_.train_forward) throw Error("kiln: forward_over_train_data() runs only during fit()");
    session_.train_forward();
  }

  /// The module being fitted, validated, tested or run (Lightning's trainer.lightning_module);
  /// nullptr outside those calls. Callbacks that save or inspect weights use it.
  Module* module() { return run_.module(); }
  /// Loop progress (epoch, global_step, ...); handlers call state().request_stop() to stop.
  State& state() { return session_.state; }
  const State& state() const { return session_.state; }
  /// Progress of the running validation, sanity check, test or predict pass (its stage,
  /// batch_idx, epoch_length); nullptr outside one. Progress bars read it.
  const State* evaluation_state() const { return session_.evaluation_state; }
  /// Options after fast_dev_run and defaults were applied.
  const TrainerConfig& config() const { return config_; }
  /// Every value logged so far, last value per name (Lightning's callback_metrics). Step values
  /// of the running fit are read (a device sync) only when this is called.
  const MetricMap& callback_metrics() { return hub_.callback_metrics(); }
  /// The values logged with prog_bar=true, as callback_metrics().
  const MetricMap& progress_bar_metrics() { return hub_.progress_bar_metrics(); }
  /// Values computed outside a step (LearningRateMonitor's): recorded in callback_metrics under
  /// their names and handed to the loggers at the current global step.
  void log_metrics(const MetricMap& values) { hub_.log_metrics(values); }
  /// Where this run's files go: the first logger's log_dir(), else default_root_dir.
  std::filesystem::path log_dir() { return hub_.log_dir(); }
  bool is_global_zero() const { return strategy_.is_global_zero(); }
  strategy_type& strategy() { return strategy_; }
  precision_type& precision() { return precision_; }
  profiler_type& profiler() { return profiler_; }
  /// The optimizers configure_optimizers() returned (filled by fit()).
  std::vector<OptimizerConfig>& optimizers() { return session_.optimizers; }
  /// Changes accumulate_grad_batches from the next batch on (GradientAccumulationScheduler).
  void set_accumulate_grad_batches(std::int64_t n) {
    if (n < 1) throw Error(fmt::format("kiln: accumulate_grad_batches must be >= 1 (got {})", n));
    config_.accumulate_grad_batches = n;
  }
  /// The callback of type C (listed in Callbacks<...>, or kiln::ProgressBar).
  template <class C>
  C& callback() {
    static_assert(Handlers_::template is_callback<C>, KILN_ERR_CALLBACK_NOT_LISTED);
    return handlers_.template callback<C>();
  }
  /// The logger of type L (listed in Loggers<...>).
  template <class L>
  L& logger() {
    static_assert(Handlers_::template is_logger<L>, KILN_ERR_LOGGER_NOT_LISTED);
    return handlers_.template logger<L>();
  }

 private:
  using Handlers_ = detail::HandlerSet<callbacks_type, loggers_type>;
  using Hub = detail::LoggingHub<loggers_type, strategy_type>;
  using Checkpoints = detail::CheckpointConnector<callbacks_type, precision_type, strategy_type, Hub>;
  using Ctx = detail::LoopContext<Trainer, Handlers_, Hub, strategy_type, precision_type, Checkpoints, profiler_type>;

  Ctx loops() { return {*this, config_, session_, handlers_, hub_, strategy_, precision_, checkpoints_, profiler_}; }
  /// f() as stage `s` for the profiler, whose report goes to the log folder.
  template <class F>
  void profiled(Stage s, F&& f) {
    profiler_.start(s);
    f();
    if constexpr (profiler_type::enabled) profiler_.stop(s, hub_.log_dir(), strategy_.is_global_zero());
  }

  template <class TrainData, class Val>
  void run_fit(Module& module, TrainData& train, Val* val, const FitOptions& options) {
    static_assert(detail::check_data<TrainData>());  // says what is wrong
    if constexpr (DataSource<TrainData>) {  // nested: batch_arg_t of a non-source would add errors
      if constexpr (detail::training_step_ok<Module, detail::batch_arg_t<std::remove_reference_t<TrainData>>>())
        run_.guarded(loops(), [&] {
          detail::PreemptionHandler preemption(config_.handle_preemption_signals);  // from the first moment
          run_.prepare(module, config_, strategy_, precision_);
          session_.begin_fit(detail::to_optimizer_configs(module.configure_optimizers()));
          run_.fitted(module);
          profiled(Stage::fit, [&] {
            loops().setup_stage(Stage::fit, module);  // first: loggers choose the folder "last" is looked up in
            if (options.ckpt_path) checkpoints_.restore(module, *options.ckpt_path, options.strict, *this);
            run_fit_loop(module, train, val, preemption);
          });
        });
    }
  }

  /// The fit loop over `train`, validating on `val` (no_data: none), with this Trainer's parts
  /// and the module's steps behind the loop's interfaces (kiln/loops/loop_host.hpp).
  template <class TrainData, class Val>
  void run_fit_loop(Module& module, TrainData& train, Val* val, detail::PreemptionHandler& preemption) {
    detail::TrainerLoopHost<Ctx, Module> host(loops(), module);
    auto& parts = host.parts();
    auto train_source = detail::batch_source(parts, detail::rank_range(train, strategy_), [&](auto& b, StepContext& ctx) {
      if constexpr (std::is_void_v<decltype(module.training_step(b, ctx))>) module.training_step(b, ctx);
      else return at::Tensor(module.training_step(b, ctx));
    });
    if constexpr (std::is_same_v<Val, detail::no_data>) {
      detail::FitLoop(host, module, train_source, nullptr, automatic_optimization, preemption).run();
    } else {
      auto val_source = detail::batch_source(parts, detail::rank_range(*val, strategy_),
                                             [&](auto& b, StepContext& ctx) { module.validation_step(b, ctx); });
      detail::FitLoop(host, module, train_source, &val_source, automatic_optimization, preemption).run();
    }
  }

  template <Stage S, class Data>
  MetricMap evaluate(Module& module, Data& data) {
    MetricMap out;
    detail::with_stage_data<S>(data, around(module, data, S), [&](auto& source) { out = run_evaluation<S>(module, source); });
    return out;
  }

  template <Stage S, class Data>
  MetricMap run_evaluation(Module& module, Data& data) {
    static_assert(detail::check_data<Data>());  // says what is wrong
    if constexpr (DataSource<Data>) {
      if constexpr (detail::evaluation_step_ok<S, Module, detail::batch_arg_t<std::remove_reference_t<Data>>>())
        return run_stage<S>(module, data, [&](auto& b, StepContext& ctx) { detail::evaluation_step<S>(module, b, ctx); });
    }
    return {};
  }

  template <class Data>
  auto run_predict(Module& module, Data& data) {
    static_assert(detail::check_data<Data>());  // says what is wrong
    detail::predictions_t<Module, Data> outputs;  // vector<no_data> after a static_assert: keeps the caller error-free
    if constexpr (DataSource<Data>) {
      if constexpr (detail::predict_step_ok<Module, detail::batch_arg_t<Data>>())
        run_stage<Stage::predict>(module, data, [&](auto& b, StepContext& ctx) { outputs.push_back(module.predict_step(b, ctx)); });
    }
    return outputs;
  }

  /// One evaluation pass of stage S (validate, test or predict) as one entry point call.
  template <Stage S, class Data, class Step>
  MetricMap run_stage(Module& module, Data& data, Step step) {
    MetricMap out;
    run_.guarded(loops(), [&] {
      run_.prepare(module, config_, strategy_, precision_);
      profiled(S, [&] {
        loops().setup_stage(S, module);
        const auto [limit, option] = detail::stage_limit(config_, S);
        detail::TrainerLoopHost<Ctx, Module> host(loops(), module);
        auto source = detail::batch_source(host.parts(), detail::rank_range(data, strategy_), step);
        out = detail::EvaluationLoop<S>(host, module).run(source, limit, option, -1);
        if constexpr (S != Stage::predict) hub_.save();
        loops().emit_outside_loop(event::teardown{S}, &module, S);
      });
    });
    return out;
  }

  /// Runs a function f inside the DataModule's hooks for `stage` (detail::around_stage), as one entry point call.
  template <class DM>
  auto around(Module& module, DM& dm, Stage stage) {
    return [&module, &dm, stage, this](auto&& f) {
      run_.guarded(loops(), [&] {
        run_.prepare(module, config_, strategy_, precision_);  // seeds first: loaders built in setup() draw their shuffling seed
        detail::around_stage(dm, stage, strategy_, f);
      });
    };
  }

  TrainerConfig config_;
  detail::Session session_;
  Handlers_ handlers_;
  strategy_type strategy_;
  precision_type precision_;
  profiler_type profiler_;
  Hub hub_{config_, session_, handlers_.loggers(), strategy_};
  Checkpoints checkpoints_{session_, handlers_.callbacks(), precision_, strategy_, hub_};
  detail::RunGuard<Module> run_;
};

}  // namespace kiln
