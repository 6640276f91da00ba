// SPDX-License-Identifier: Apache-2.0
// kiln/trainer.hpp — Trainer<Module, Policies...>: an Engine driven by a module and its policies.
#pragma once
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <kiln/callbacks/progress_bar.hpp>
#include <kiln/core/concepts/callback.hpp>
#include <kiln/core/concepts/data_module.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/concepts/logger.hpp>
#include <kiln/core/concepts/training_module.hpp>
#include <kiln/core/config.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/dispatch.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/log_buffer.hpp>
#include <kiln/core/module_hooks.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/core/trainer_checkpoint.hpp>
#include <kiln/loggers/csv_logger.hpp>
#include <kiln/loops/evaluation_loop.hpp>
#include <kiln/loops/fit_loop.hpp>
#include <kiln/precision/fp32.hpp>
#include <kiln/strategy/single_device.hpp>
#include <kiln/util/host_allocator.hpp>
#include <kiln/util/seed.hpp>
#include <kiln/util/threads.hpp>
#include <kiln/util/torch_compat.hpp>

namespace kiln {

namespace detail {
template <class CallbackList>
struct with_default_callbacks;
template <class... Cs>
struct with_default_callbacks<std::tuple<Cs...>> {
  // Lightning adds its progress bar unless the user gave one; config.enable_progress_bar turns it off.
  using type = std::conditional_t<(std::is_same_v<Cs, ProgressBar> || ...), std::tuple<Cs...>,
                                  std::tuple<Cs..., ProgressBar>>;
};
}  // namespace detail

/// Trains, validates, tests and predicts with a module. Policies come in any order:
/// `Trainer<Net, Precision<FP32>, Callbacks<A, B>, Loggers<CsvLogger>, Strategy<SingleDevice>>`;
/// missing ones default to Strategy<SingleDevice>, Precision<FP32>, Callbacks<> (plus a
/// ProgressBar) and Loggers<CsvLogger>. See DESIGN.md and kiln/core/events.hpp for the order of events.
template <class Module, class... Policies>
class Trainer {
  // Each requirement separately, most basic first, so the first error is the right sentence.
  static_assert(detail::torch_module<Module>, KILN_ERR_NOT_A_TORCH_MODULE);
  static_assert(detail::has_configure_optimizers<Module>, KILN_ERR_NO_CONFIGURE_OPTIMIZERS);
  static constexpr bool module_configure_optimizers_return_ok = [] {
    if constexpr (detail::has_configure_optimizers<Module>) return detail::configure_optimizers_returns_optimizers<Module>;
    else return true;
  }();
  static_assert(module_configure_optimizers_return_ok, KILN_ERR_CONFIGURE_OPTIMIZERS_RETURN);
  static constexpr bool all_arguments_are_policies = (detail::is_policy<Policies> && ...);
  static_assert(all_arguments_are_policies, KILN_ERR_NOT_A_POLICY);
  static_assert(detail::count_slot<detail::strategy_slot, Policies...> <= 1, KILN_ERR_STRATEGY_TWICE);
  static_assert(detail::count_slot<detail::precision_slot, Policies...> <= 1, KILN_ERR_PRECISION_TWICE);
  static_assert(detail::count_slot<detail::callbacks_slot, Policies...> <= 1, KILN_ERR_CALLBACKS_TWICE);
  static_assert(detail::count_slot<detail::loggers_slot, Policies...> <= 1, KILN_ERR_LOGGERS_TWICE);
  static constexpr bool hooks_checked = detail::module_hooks_ok<Module>();
  static_assert(hooks_checked);  // each hook's own static_assert above already said what is wrong

 public:
  using module_type = Module;
  static constexpr bool automatic_optimization = detail::automatic_optimization<Module>;
  using strategy_tag = typename detail::find_slot_t<detail::strategy_slot, Strategy<SingleDevice>, Policies...>::tag;
  using precision_tag = typename detail::find_slot_t<detail::precision_slot, Precision<FP32>, Policies...>::tag;
  using callbacks_type = typename detail::with_default_callbacks<
      typename detail::find_slot_t<detail::callbacks_slot, Callbacks<>, Policies...>::types>::type;
  using loggers_type = typename detail::find_slot_t<detail::loggers_slot, Loggers<CsvLogger>, Policies...>::types;

 private:
  template <class... Ts>
  static constexpr bool unique_handlers(std::tuple<Ts...>*) { return detail::all_unique<Ts...>; }
  static constexpr bool handler_types_unique =
      unique_handlers(static_cast<decltype(std::tuple_cat(std::declval<callbacks_type>(), std::declval<loggers_type>()))*>(nullptr));
  static_assert(handler_types_unique, KILN_ERR_HANDLER_LISTED_TWICE);

 public:
  Trainer() : Trainer(TrainerConfig{}) {}

  /// Options first, then configured callbacks and loggers in any order; listed types not
  /// passed here are default-constructed.
  template <class... Handlers>
  explicit Trainer(TrainerConfig config, Handlers&&... handlers)
      : config_(std::move(config)),
        callbacks_(make_handlers<callbacks_type>(std::forward<Handlers>(handlers)...)),
        loggers_(make_handlers<loggers_type>(std::forward<Handlers>(handlers)...)),
        strategy_(make_policy<StrategyImpl<strategy_tag>, strategy_tag>(handlers...)),
        precision_(make_policy<PrecisionImpl<precision_tag>, precision_tag>(handlers...)) {
    static_assert(((is_listed<std::remove_cvref_t<Handlers>> || std::is_same_v<std::remove_cvref_t<Handlers>, precision_tag> ||
                    std::is_same_v<std::remove_cvref_t<Handlers>, strategy_tag>) && ...),
                  KILN_ERR_INSTANCE_NOT_LISTED);
    static_assert(detail::all_unique<std::remove_cvref_t<Handlers>...>, KILN_ERR_INSTANCE_TWICE);
    kiln::validate(config_);
  }

  /// Trains `module` on `train` batches (Lightning's trainer.fit(model, train_dataloaders)), or
  /// on a DataModule's train_dataloader(), validating on its val_dataloader() when the module
  /// has a validation_step.
  template <class TrainData>
  void fit(Module& module, TrainData&& train, const FitOptions& options = {}) {
    fit_options_ = options;
    if constexpr (DataModule<std::remove_reference_t<TrainData>>) fit_data_module(module, train);
    else run_fit(module, train, static_cast<detail::no_data*>(nullptr));
  }

  /// Trains on `train` and validates on `val` as val_check_interval says.
  template <class TrainData, class ValData>
    requires(!std::is_same_v<std::remove_cvref_t<ValData>, FitOptions>)
  void fit(Module& module, TrainData&& train, ValData&& val, const FitOptions& options = {}) {
    static_assert(DataSource<ValData>, KILN_ERR_NOT_A_DATA_SOURCE);
    fit_options_ = options;
    if constexpr (DataSource<ValData>) {
      using ValBatch = detail::batch_arg_t<std::remove_reference_t<ValData>>;
      static_assert(HasValidationStep<Module, ValBatch>, KILN_ERR_NO_VALIDATION_STEP);
      if constexpr (HasValidationStep<Module, ValBatch>) run_fit(module, train, &val);
    }
  }

  /// Writes everything needed to continue this fit exactly (kiln/core/trainer_checkpoint.hpp)
  /// to `path`, atomically: during fit (from a callback) or after it. Global rank 0 writes.
  void save_checkpoint(const std::filesystem::path& path) {
    Module* m = module_ ? module_ : fitted_module_;
    if (!m) throw Error(fmt::format("kiln: save_checkpoint({}): nothing to save before fit() has started", path.string()));
    if (is_global_zero()) detail::TrainerCheckpoint::save(*this, *m, path);
    strategy_.barrier();
  }

  /// Asks fit() to write <checkpoint_dir()>/last.pt at the next boundary between optimizer
  /// steps and stop there (Timer does); the stop reason is `reason` plus the file.
  void stop_with_checkpoint(std::string reason) {
    if (!stop_request_) stop_request_ = std::move(reason);
  }
  /// Where checkpoints go: the listed ModelCheckpoint's folder, else <log_dir()>/checkpoints.
  std::filesystem::path checkpoint_dir() {
    std::optional<std::filesystem::path> dir;
    std::apply([&](auto&... c) {
      ([&] { if constexpr (requires { c.dirpath_in(*this); }) if (!dir) dir = c.dirpath_in(*this); }(), ...);
    }, callbacks_);
    return dir.value_or(log_dir() / "checkpoints");
  }

  /// One pass of validation_step over `data` (or a DataModule's val_dataloader()); returns the
  /// logged epoch values.
  template <class Data>
  MetricMap validate(Module& module, Data&& data) {
    if constexpr (DataModule<std::remove_reference_t<Data>>) {
      static_assert(detail::has_val_dataloader<std::remove_reference_t<Data>>,
                    KILN_ERR_DATAMODULE_NO_LOADER("validate()", "val_dataloader"));
      MetricMap out;
      if constexpr (detail::has_val_dataloader<std::remove_reference_t<Data>>)
        with_data_module(module, data, Stage::validate, [&] {
          auto loader = data.val_dataloader();
          out = run_evaluation<Stage::validate>(module, loader);
        });
      return out;
    } else {
      return run_evaluation<Stage::validate>(module, data);
    }
  }

  /// One pass of test_step over `data` (or a DataModule's test_dataloader()); returns the
  /// logged epoch values.
  template <class Data>
  MetricMap test(Module& module, Data&& data) {
    if constexpr (DataModule<std::remove_reference_t<Data>>) {
      static_assert(detail::has_test_dataloader<std::remove_reference_t<Data>>,
                    KILN_ERR_DATAMODULE_NO_LOADER("test()", "test_dataloader"));
      MetricMap out;
      if constexpr (detail::has_test_dataloader<std::remove_reference_t<Data>>)
        with_data_module(module, data, Stage::test, [&] {
          auto loader = data.test_dataloader();
          out = run_evaluation<Stage::test>(module, loader);
        });
      return out;
    } else {
      return run_evaluation<Stage::test>(module, data);
    }
  }

  /// predict_step over `data` (or a DataModule's predict_dataloader()); returns what it
  /// returned for each batch.
  template <class Data>
  auto predict(Module& module, Data&& data) {
    if constexpr (DataModule<std::remove_reference_t<Data>>) {
      static_assert(detail::has_predict_dataloader<std::remove_reference_t<Data>>,
                    KILN_ERR_DATAMODULE_NO_LOADER("predict()", "predict_dataloader"));
      if constexpr (detail::has_predict_dataloader<std::remove_reference_t<Data>>) {
        decltype(predict(module, data.predict_dataloader())) out;
        with_data_module(module, data, Stage::predict, [&] {
          auto loader = data.predict_dataloader();
          out = predict(module, loader);
        });
        return out;
      } else {
        return std::vector<detail::no_data>{};  // after the static_assert: keeps the caller's code error-free
      }
    } else {
      return predict_on(module, data);
    }
  }

  /// The module being fitted, validated, tested or run (Lightning's trainer.lightning_module);
  /// nullptr outside those calls. Callbacks that save or inspect weights use it.
  Module* module() { return module_; }

 private:
  template <class Data>
  auto predict_on(Module& module, Data& data) {
    static_assert(DataSource<Data>, KILN_ERR_NOT_A_DATA_SOURCE);
    using Batch = detail::batch_arg_t<std::remove_reference_t<Data>>;
    static_assert(HasPredictStep<Module, Batch>, KILN_ERR_NO_PREDICT_STEP);
    if constexpr (HasPredictStep<Module, Batch>) {
      using Out = std::remove_cvref_t<decltype(module.predict_step(std::declval<Batch&>(), std::declval<StepContext&>()))>;
      std::vector<Out> outputs;
      guarded([&] {
        prepare(module);
        setup_stage(Stage::predict);
        detail::EvaluationLoop<Trainer, Module, Stage::predict> loop(*this, module);
        loop.run(data, config_.limit_predict_batches, "limit_predict_batches", -1,
                 [&](Batch& b, StepContext& ctx) { outputs.push_back(module.predict_step(b, ctx)); });
        emit(event::teardown{Stage::predict});
      });
      return outputs;
    } else {
      return std::vector<detail::no_data>{};  // after the static_assert: keeps the caller's code error-free
    }
  }

 public:
  /// Loop progress (epoch, global_step, ...); handlers call state().request_stop() to stop.
  State& state() { return state_; }
  const State& state() const { return state_; }
  /// Progress of the running validation, sanity check, test or predict pass (its stage,
  /// batch_idx, epoch_length); nullptr outside one. Progress bars read it.
  const State* evaluation_state() const { return evaluation_state_; }
  /// Options after fast_dev_run and defaults were applied.
  const TrainerConfig& config() const { return config_; }
  /// Every value logged so far, last value per name (Lightning's callback_metrics). Step values
  /// of the running fit are read (a device sync) only when this is called.
  const MetricMap& callback_metrics() {
    if (live_logs_) refresh_metrics(live_logs_->current_step_values(), *live_logs_, !epoch_end_reached_);
    return callback_metrics_;
  }
  /// The values logged with prog_bar=true, as callback_metrics().
  const MetricMap& progress_bar_metrics() {
    if (live_logs_) refresh_metrics(live_logs_->current_step_values(), *live_logs_, !epoch_end_reached_);
    return progress_bar_metrics_;
  }
  bool is_global_zero() const { return strategy_.is_global_zero(); }
  StrategyImpl<strategy_tag>& strategy() { return strategy_; }
  PrecisionImpl<precision_tag>& precision() { return precision_; }
  /// The loops' and StepContext::manual_backward's backward: the precision's; under DDP with
  /// `sync` (an optimizer step follows), bucketed all-reduces overlap it and the averaged
  /// gradients are in place when it returns, else the gradients only accumulate (no_sync).
  void backward(const at::Tensor& loss, bool sync) {
    constexpr bool ddp = requires { strategy_.before_backward(true); strategy_.reduce_gradients(); };
    if constexpr (ddp) strategy_.before_backward(sync);
    precision_.backward(loss);
    if constexpr (ddp) if (sync) strategy_.reduce_gradients();
  }
  /// Calls f(batch) with the batch on the strategy's device and in the precision's dtype.
  template <class Batch, class F>
  decltype(auto) with_batch(Batch& batch, F&& f) {
    return strategy_.with_batch_on_device(batch, [&](auto& b) -> decltype(auto) { return precision_.with_batch(b, f); });
  }
  /// True when loggers receive values (config.logger and not fast_dev_run).
  bool logging_enabled() const { return config_.logger && config_.fast_dev_run == 0; }
  /// The optimizers configure_optimizers() returned (filled by fit()).
  std::vector<OptimizerConfig>& optimizers() { return optimizers_; }

  /// The callback of type C (listed in Callbacks<...>, or kiln::ProgressBar).
  template <class C>
  C& callback() {
    static_assert(is_in<C>(static_cast<callbacks_type*>(nullptr)), KILN_ERR_CALLBACK_NOT_LISTED);
    return std::get<C>(callbacks_);
  }
  /// The logger of type L (listed in Loggers<...>).
  template <class L>
  L& logger() {
    static_assert(is_in<L>(static_cast<loggers_type*>(nullptr)), KILN_ERR_LOGGER_NOT_LISTED);
    return std::get<L>(loggers_);
  }

  /// Sends `e` to the callbacks (declaration order), the loggers, then the module's on_<event> hook.
  template <class Event>
  void emit(const Event& e, Module* module = nullptr, StepContext* ctx = nullptr) {
    detail::dispatch(callbacks_, e, *this);
    detail::dispatch(loggers_, e, *this);
    if constexpr (detail::module_hook<Event>::template callable<Module>) {
      if (module && ctx) detail::module_hook<Event>::call(*module, *ctx);
    }
  }

  /// Hands `values` to every logger (rank 0, logging enabled) and records them in callback_metrics.
  void publish(const MetricMap& values, const LogBuffer& buffer) {
    refresh_metrics(values, buffer);
    send_to_loggers(values);
  }
  /// Values computed outside a step (LearningRateMonitor's): recorded in callback_metrics under
  /// their names and handed to the loggers at the current global step.
  void log_metrics(const MetricMap& values) {
    for (const auto& [k, v] : values) callback_metrics_[k] = v;
    send_to_loggers(values);
  }
  /// Changes accumulate_grad_batches from the next batch on (GradientAccumulationScheduler).
  void set_accumulate_grad_batches(std::int64_t n) {
    if (n < 1) throw Error(fmt::format("kiln: accumulate_grad_batches must be >= 1 (got {})", n));
    config_.accumulate_grad_batches = n;
  }
  /// Records `values` in callback_metrics and progress_bar_metrics only (not the loggers).
  /// The plain name of a value logged on_step and on_epoch follows `<name>_epoch` when that is
  /// in `values`, else `<name>_step` when `alias_steps` (not on lazy reads between steps).
  void refresh_metrics(const MetricMap& values, const LogBuffer& buffer, bool alias_steps = true) {
    buffer.merge_into(callback_metrics_, progress_bar_metrics_, values, alias_steps);
  }
  /// Emits event::setup for `stage`, then hands the module's hparams() (when it has one) to
  /// every logger that has log_hyperparams (after setup: loggers learn their folder there).
  void setup_stage(Stage stage) {
    emit(event::setup{stage});
    share_log_dir();
    if constexpr (requires(const Module& m) { { m.hparams() } -> std::convertible_to<HParams>; }) {
      if (!module_ || !logging_enabled() || !is_global_zero()) return;
      const HParams hp = module_->hparams();
      std::apply([&](auto&... l) {
        ([&] { if constexpr (requires { l.log_hyperparams(hp); }) l.log_hyperparams(hp); }(), ...);
      }, loggers_);
    }
  }
  /// Where this run's files go: the first logger's log_dir() (e.g. lightning_logs/version_N),
  /// else default_root_dir (Lightning's trainer.log_dir).
  std::filesystem::path log_dir() {
    if (shared_log_dir_) return *shared_log_dir_;
    std::optional<std::filesystem::path> dir;
    if (logging_enabled())
      std::apply([&](auto&... l) {
        ([&] { if constexpr (requires { l.log_dir(); }) if (!dir) dir = l.log_dir(); }(), ...);
      }, loggers_);
    return dir.value_or(config_.default_root_dir);
  }
  /// Under DDP every rank takes rank 0's log_dir() (as Lightning broadcasts it): each rank's
  /// loggers chose version_N by listing the folder, and rank 0 may have made its own first, so
  /// checkpoint paths (ModelCheckpoint's last/best, Timer's last.pt) could differ between ranks.
  /// Called by every rank after the setup event.
  void share_log_dir() {
    if constexpr (requires(at::Tensor& x) { strategy_.broadcast_from_zero(x); }) {
      if (strategy_.world_size() == 1) return;
      shared_log_dir_.reset();
      const std::string mine = log_dir().string();
      auto n = at::scalar_tensor(static_cast<std::int64_t>(mine.size()), at::kLong);
      strategy_.broadcast_from_zero(n);
      auto bytes = at::zeros({n.item<std::int64_t>()}, at::kByte);
      if (is_global_zero()) std::copy(mine.begin(), mine.end(), bytes.data_ptr<std::uint8_t>());
      strategy_.broadcast_from_zero(bytes);
      const auto* p = bytes.data_ptr<std::uint8_t>();
      shared_log_dir_ = std::string(p, p + bytes.numel());
    }
  }
  /// Flushes every logger.
  void save_loggers() {
    if (!logging_enabled() || !is_global_zero()) return;
    std::apply([&](auto&... l) { (l.save(), ...); }, loggers_);
  }

  /// The StepContext wiring for steps of `stage`.
  StepContext::Wiring wiring(State& s, Stage stage, LogBuffer& logs) {
    if constexpr (requires(at::Tensor& x) { StrategyImpl<strategy_tag>::reduce_for_logs(x, Reduce::sum); })
      logs.set_rank_reducer(&StrategyImpl<strategy_tag>::reduce_for_logs);  // log(..., {.sync_dist = true})
    return {.state = &s,
            .stage = stage,
            .logs = &logs,
            .optimizers = &optimizers_,
            .precision = &precision_,
            .owner = this,
            .backward = [](void* t, const at::Tensor& l, bool sync) { static_cast<Trainer*>(t)->backward(l, sync); },
            .step = [](void* p, torch::optim::Optimizer& o) { return static_cast<PrecisionImpl<precision_tag>*>(p)->optimizer_step(o); },
            .unscale = [](void* p, torch::optim::Optimizer& o) { static_cast<PrecisionImpl<precision_tag>*>(p)->unscale(o); },
            .rank = strategy_.rank(),
            .world_size = strategy_.world_size()};
  }

 private:
  void send_to_loggers(const MetricMap& values) {
    if (values.empty() || !logging_enabled() || !is_global_zero()) return;
    MetricMap row = values;
    row.emplace("epoch", static_cast<double>(state_.epoch));  // as Lightning's loggers record it
    std::apply([&](auto&... l) { (l.log_metrics(row, state_.global_step), ...); }, loggers_);
  }

  template <class T, class... Ts>
  static constexpr bool is_in(std::tuple<Ts...>*) { return (std::is_same_v<T, Ts> || ...); }
  template <class T>
  static constexpr bool is_listed = is_in<T>(static_cast<callbacks_type*>(nullptr)) ||
                                    is_in<T>(static_cast<loggers_type*>(nullptr));

  template <class H, class A, class... Rest>
  static decltype(auto) pick(A&& a, Rest&&... rest) {
    if constexpr (std::is_same_v<std::remove_cvref_t<A>, H>) return std::forward<A>(a);
    else return pick<H>(std::forward<Rest>(rest)...);
  }
  template <class H, class... Args>
  static H make_one(Args&&... args) {
    if constexpr ((std::is_same_v<std::remove_cvref_t<Args>, H> || ...)) {
      return H(pick<H>(std::forward<Args>(args)...));
    } else {
      static_assert(std::is_default_constructible_v<H>, KILN_ERR_HANDLER_NOT_DEFAULT_CONSTRUCTIBLE);
      if constexpr (std::is_default_constructible_v<H>) return H{};
      else std::terminate();  // unreachable: the static_assert above has already failed
    }
  }
  template <class Tuple, class... Args>
  static Tuple make_handlers(Args&&... args) {
    return [&]<class... Hs>(std::tuple<Hs...>*) {
      return Tuple(make_one<Hs>(std::forward<Args>(args)...)...);
    }(static_cast<Tuple*>(nullptr));
  }

  /// Applies the host allocator tuning, thread counts, seed, deterministic and fast_dev_run, and
  /// places the module; start of every entry point
  /// (once per call: a DataModule's stage runs an entry point inside another).
  void prepare(Module& module) {
    if (module_ == &module) return;
    module_ = &module;
    config_ = effective(config_);
    tune_host_allocator(config_.tune_host_allocator);  // before the first step's buffers exist
    configure_threads(config_.num_threads);
    if (config_.seed) seed_everything(*config_.seed);
    if (config_.deterministic) compat::use_deterministic_algorithms(true);
    strategy_.setup(config_);
    strategy_.setup_module(module);
    precision_.setup(module, strategy_.device());
    if (!precision_.setup_notice().empty() && is_global_zero() && !notice_said_) {
      fmt::print(stderr, "{}\n", precision_.setup_notice());
      notice_said_ = true;
    }
  }

  /// The precision or strategy built from a configured tag among the constructor's arguments
  /// (`kiln::FP16Mixed{...}`, `kiln::DDP{...}`), else default-constructed.
  template <class Impl, class Tag, class... Args>
  static Impl make_policy(const Args&... args) {
    if constexpr ((std::is_same_v<std::remove_cvref_t<Args>, Tag> || ...))
      return Impl(pick<Tag>(args...));
    else
      return Impl();
  }

  /// Runs f as one entry point call; emits event::exception and saves the loggers before an
  /// error propagates. Nested calls (a DataModule's stage) run f as it is.
  template <class F>
  void guarded(F&& f) {
    if (in_call_) return f();
    in_call_ = true;
    struct End {
      Trainer& t;
      ~End() { t.in_call_ = false; t.module_ = nullptr; }
    } end{*this};
    try {
      f();
    } catch (const std::exception& e) {
      emit(event::exception{e});
      try { save_loggers(); } catch (...) {}  // the original error is the one to report
      throw;
    }
  }

  /// Runs f (which asks `dm` for loaders and runs a stage) between the DataModule's hooks:
  /// prepare_data() on local rank 0, setup(stage) before, teardown(stage) after.
  template <class DM, class F>
  void with_data_module(Module& module, DM& dm, Stage stage, F&& f) {
    guarded([&] {
      prepare(module);  // seeds first: loaders built in setup() draw their shuffling seed
      if constexpr (requires { dm.prepare_data(); })
        if (strategy_.local_rank() == 0) dm.prepare_data();
      strategy_.barrier();
      if constexpr (requires { dm.setup(stage); }) dm.setup(stage);
      f();
      if constexpr (requires { dm.teardown(stage); }) dm.teardown(stage);
    });
  }

  template <class DM>
  void fit_data_module(Module& module, DM& dm) {
    static_assert(detail::has_train_dataloader<DM>, KILN_ERR_DATAMODULE_NO_LOADER("fit()", "train_dataloader"));
    if constexpr (detail::has_train_dataloader<DM>) {
      with_data_module(module, dm, Stage::fit, [&] {
        auto train = dm.train_dataloader();
        if constexpr (detail::has_val_dataloader<DM>) {
          using ValBatch = detail::batch_arg_t<decltype(dm.val_dataloader())>;
          if constexpr (HasValidationStep<Module, ValBatch>) {
            auto val = dm.val_dataloader();
            return run_fit(module, train, &val);
          } else if (is_global_zero()) {  // Lightning's behaviour: the DataModule serves many modules
            fmt::print(stderr, "kiln: warning: the DataModule has val_dataloader() but the module has no "
                               "validation_step; fit() skips validation\n");
          }
        }
        run_fit(module, train, static_cast<detail::no_data*>(nullptr));
      });
    }
  }

  template <class TrainData, class Val>
  void run_fit(Module& module, TrainData& train, Val* val) {
    static_assert(DataSource<TrainData>, KILN_ERR_NOT_A_DATA_SOURCE);
    if constexpr (DataSource<TrainData>) {
      using Batch = detail::batch_arg_t<std::remove_reference_t<TrainData>>;
      constexpr bool callable = detail::has_training_step<Module, Batch>;
      constexpr bool named = detail::names_training_step<Module>;
      static_assert(callable || named, KILN_ERR_NO_TRAINING_STEP);
      static_assert(callable || !named, KILN_ERR_TRAINING_STEP_SIGNATURE);
      constexpr bool returns_loss = [] {
        if constexpr (callable) return detail::training_step_returns_loss<Module, Batch>;
        else return true;
      }();
      static_assert(returns_loss, KILN_ERR_TRAINING_STEP_RETURN);
      if constexpr (callable && returns_loss && module_configure_optimizers_return_ok &&
                    detail::has_configure_optimizers<Module>) {
        guarded([&] {
          prepare(module);
          state_.stage = Stage::fit;
          optimizers_ = detail::to_optimizer_configs(module.configure_optimizers());
          fitted_module_ = &module;
          progress_ = {state_.epoch, 0, false};
          stop_request_.reset();
          if (auto ckpt = std::exchange(fit_options_.ckpt_path, std::nullopt))
            resume_ = detail::TrainerCheckpoint::restore(*this, module, resolve_checkpoint(*ckpt), fit_options_.strict);
          detail::FitLoop<Trainer, Module, Val> loop(*this, module, val);
          loop.run(train);
        });
      }
    }
  }

  template <Stage S, class Data>
  MetricMap run_evaluation(Module& module, Data& data) {
    static_assert(DataSource<Data>, KILN_ERR_NOT_A_DATA_SOURCE);
    MetricMap out;
    if constexpr (DataSource<Data>) {
      using Batch = detail::batch_arg_t<std::remove_reference_t<Data>>;
      constexpr bool has_step = S == Stage::test ? HasTestStep<Module, Batch> : HasValidationStep<Module, Batch>;
      if constexpr (S == Stage::test) static_assert(has_step, KILN_ERR_NO_TEST_STEP);
      else static_assert(has_step, KILN_ERR_NO_VALIDATION_STEP);
      if constexpr (has_step) {
        guarded([&] {
          prepare(module);
          setup_stage(S);
          detail::EvaluationLoop<Trainer, Module, S> loop(*this, module);
          const auto& limit = S == Stage::test ? config_.limit_test_batches : config_.limit_val_batches;
          out = loop.run(data, limit, S == Stage::test ? "limit_test_batches" : "limit_val_batches", -1,
                         [&](Batch& b, StepContext& ctx) {
                           if constexpr (S == Stage::test) module.test_step(b, ctx);
                           else module.validation_step(b, ctx);
                         });
          save_loggers();
          emit(event::teardown{S});
        });
      }
    }
    return out;
  }

  /// "last" / "best": the listed ModelCheckpoint's file (ModelCheckpoint::find); anything else is a path.
  std::filesystem::path resolve_checkpoint(const std::filesystem::path& p) {
    if (p != "last" && p != "best") return p;
    std::filesystem::path found;
    std::string looked;
    bool listed = false;
    std::apply([&](auto&... c) {
      ([&] {
        if constexpr (requires(std::string& l) { c.find(p.string(), *this, l); }) {
          listed = true;
          if (found.empty()) found = c.find(p.string(), *this, looked);
        }
      }(), ...);
    }, callbacks_);
    if (!listed)
      throw Error(fmt::format("kiln: ckpt_path=\"{}\" needs a ModelCheckpoint listed in Callbacks<...>; give the file's path instead",
                              p.string()));
    if (found.empty())
      throw Error(fmt::format("kiln: ckpt_path=\"{}\": no {} checkpoint in {}; a new run's default folder is a new log "
                              "version, so give ModelCheckpoint a fixed dirpath to resume across processes, or give the file's path",
                              p.string(), p.string(), looked));
    return found;
  }

  friend struct detail::TrainerCheckpoint;
  template <class T, class M, class V>
  friend class detail::FitLoop;
  template <class T, class M, Stage S>
  friend class detail::EvaluationLoop;

  TrainerConfig config_;
  State state_;
  callbacks_type callbacks_;
  loggers_type loggers_;
  StrategyImpl<strategy_tag> strategy_;
  PrecisionImpl<precision_tag> precision_;
  std::vector<OptimizerConfig> optimizers_;
  MetricMap callback_metrics_;
  MetricMap progress_bar_metrics_;
  const State* evaluation_state_ = nullptr;  ///< set by EvaluationLoop while it runs
  LogBuffer* live_logs_ = nullptr;  ///< the running fit's training logs, read lazily
  Module* module_ = nullptr;        ///< the module of the running call
  bool in_call_ = false;            ///< inside fit/validate/test/predict (see guarded)
  bool epoch_end_reached_ = false;  ///< plain names hold epoch values until the next epoch starts
  Module* fitted_module_ = nullptr;  ///< the last module fit() ran on (save_checkpoint after fit)
  FitOptions fit_options_;           ///< the running fit() call's options
  detail::Progress progress_;        ///< where a checkpoint written now would resume
  std::optional<detail::ResumePoint> resume_;  ///< set by a ckpt_path, applied by the fit loop
  std::optional<std::string> stop_request_;  ///< see stop_with_checkpoint
  bool notice_said_ = false;        ///< the precision's setup notice is said once per Trainer
  std::optional<std::filesystem::path> shared_log_dir_;  ///< rank 0's log_dir() under DDP (share_log_dir)
};

}  // namespace kiln
