// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/logging_hub.hpp — where logged values go: callback metrics, the loggers, the log folder, hparams.
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>

#include <ATen/ATen.h>

#include <kiln/core/config.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/trainer/log_buffer.hpp>
#include <kiln/trainer/session.hpp>

namespace kiln::detail {

/// Lightning's logger connector: keeps callback_metrics and progress_bar_metrics, hands values
/// to the loggers (global rank 0, logging enabled), and knows the run's log folder.
template <class LoggerTuple, class Strategy>
class LoggingHub {
 public:
  LoggingHub(const TrainerConfig& config, Session& session, LoggerTuple& loggers, Strategy& strategy)
      : config_(config), session_(session), loggers_(loggers), strategy_(strategy) {}

  /// True when loggers receive values (config.logger and not fast_dev_run).
  bool enabled() const { return config_.logger && config_.fast_dev_run == 0; }

  /// Every value logged so far, last value per name. Step values of the running fit are read
  /// (a device sync) only when this is called.
  const MetricMap& callback_metrics() {
    refresh_live();
    return callback_metrics_;
  }
  const MetricMap& progress_bar_metrics() {
    refresh_live();
    return progress_bar_metrics_;
  }
  /// Brings callback_metrics up to date with the running fit's step logs (a device sync).
  void refresh_live() {
    if (session_.live_logs)
      refresh(session_.live_logs->current_step_values(), *session_.live_logs, !session_.epoch_end_reached);
  }
  /// The callback metrics as they stand, without reading the live logs (checkpoints replace them).
  MetricMap& stored_metrics() { return callback_metrics_; }

  /// Records `values` in callback_metrics and progress_bar_metrics only (not the loggers).
  /// The plain name of a value logged on_step and on_epoch follows `<name>_epoch` when that is
  /// in `values`, else `<name>_step` when `alias_steps` (not on lazy reads between steps).
  void refresh(const MetricMap& values, const LogBuffer& buffer, bool alias_steps = true) {
    buffer.merge_into(callback_metrics_, progress_bar_metrics_, values, alias_steps);
  }
  /// Hands `values` to every logger and records them in callback_metrics.
  void publish(const MetricMap& values, const LogBuffer& buffer) {
    refresh(values, buffer);
    send(values);
  }
  /// Values computed outside a step (LearningRateMonitor's): recorded under their names and
  /// handed to the loggers at the current global step.
  void log_metrics(const MetricMap& values) {
    for (const auto& [k, v] : values) callback_metrics_[k] = v;
    send(values);
  }
  /// The module's hparams() for every logger that has log_hyperparams.
  void log_hyperparams(const HParams& hp) {
    if (!enabled() || !strategy_.is_global_zero()) return;
    std::apply([&](auto&... l) {
      ([&] { if constexpr (requires { l.log_hyperparams(hp); }) l.log_hyperparams(hp); }(), ...);
    }, loggers_);
  }
  /// A fit/validate/test/predict call begins: its end is reported once.
  void begin_call() { finalized_ = false; }
  /// Tells loggers with finalize() how the call ended; the first report of a call stands (a
  /// preemption's `killed` is not undone by the end of the fit it stopped).
  void finalize(RunStatus status) {
    if (finalized_ || !enabled() || !strategy_.is_global_zero()) return;
    finalized_ = true;
    std::apply([&](auto&... l) {
      ([&] { if constexpr (requires { l.finalize(status); }) l.finalize(status); }(), ...);
    }, loggers_);
  }
  /// Flushes every logger.
  void save() {
    if (!enabled() || !strategy_.is_global_zero()) return;
    std::apply([&](auto&... l) { (l.save(), ...); }, loggers_);
  }

  /// Where this run's files go: the first logger's log_dir() (e.g. lightning_logs/version_N),
  /// else default_root_dir (Lightning's trainer.log_dir).
  std::filesystem::path log_dir() {
    if (shared_log_dir_) return *shared_log_dir_;
    std::optional<std::filesystem::path> dir;
    if (enabled())
      std::apply([&](auto&... l) {
        ([&] { if constexpr (requires { l.log_dir(); }) if (!dir) dir = l.log_dir(); }(), ...);
      }, loggers_);
    return dir.value_or(config_.default_root_dir);
  }
  /// Every rank takes rank 0's log_dir() (as Lightning broadcasts it): each rank's loggers chose
  /// version_N by listing the folder, and rank 0 may have made its own first, so checkpoint
  /// paths (ModelCheckpoint's last/best, Timer's last.pt) could differ between ranks.
  /// Called by every rank after the setup event.
  void share_log_dir() {
    if (strategy_.world_size() == 1) return;
    shared_log_dir_.reset();
    const std::string mine = log_dir().string();
    auto n = at::scalar_tensor(static_cast<std::int64_t>(mine.size()), at::kLong);
    strategy_.broadcast_from_zero(n);
    auto bytes = at::zeros({n.item<std::int64_t>()}, at::kByte);
    if (strategy_.is_global_zero()) std::copy(mine.begin(), mine.end(), bytes.data_ptr<std::uint8_t>());
    strategy_.broadcast_from_zero(bytes);
    const auto* p = bytes.data_ptr<std::uint8_t>();
    shared_log_dir_ = std::string(p, p + bytes.numel());
  }

 private:
  void send(const MetricMap& values) {
    if (values.empty() || !enabled() || !strategy_.is_global_zero()) return;
    MetricMap row = values;
    row.emplace("epoch", static_cast<double>(session_.state.epoch));  // as Lightning's loggers record it
    std::apply([&](auto&... l) { (l.log_metrics(row, session_.state.global_step), ...); }, loggers_);
  }

  const TrainerConfig& config_;
  Session& session_;
  LoggerTuple& loggers_;
  Strategy& strategy_;
  MetricMap callback_metrics_;
  MetricMap progress_bar_metrics_;
  std::optional<std::filesystem::path> shared_log_dir_;
  bool finalized_ = false;
};

}  // namespace kiln::detail
