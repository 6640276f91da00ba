// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/lr_monitor.hpp — LearningRateMonitor: logs each optimizer's learning rate.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/optim/lr_schedulers.hpp>
#include <kiln/util/type_name.hpp>

namespace kiln {

/// Logs the learning rate of every optimizer (Lightning's LearningRateMonitor) as
/// `lr-<Optimizer>` ("lr-Adam"; "lr-Adam-1" for a second Adam; "lr-Adam/pg1", "/pg2", ... with
/// several param groups), to the loggers and callback_metrics. `logging_interval` step logs
/// before each optimizer step that log_every_n_steps selects, epoch at each epoch start;
/// unset, each optimizer at its scheduler's interval (epoch without one).
class LearningRateMonitor {
 public:
  struct Options {
    std::optional<Interval> logging_interval;
  };
  LearningRateMonitor() = default;
  explicit LearningRateMonitor(Options o) : opt_(o) {}

  template <class T>
  void on(const event::train_batch_start&, T& t) {
    const auto step = t.state().global_step;
    if (step == last_step_ || (step + 1) % t.config().log_every_n_steps != 0) return;
    last_step_ = step;
    log(t, Interval::step);
  }
  template <class T>
  void on(const event::train_epoch_start&, T& t) {
    log(t, Interval::epoch);
  }

  /// "Adam" for torch::optim::Adam: the class name without its namespace.
  static std::string optimizer_name(const torch::optim::Optimizer& o) {
    std::string name = detail::demangle(typeid(o).name());
    if (const auto colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
    return name;
  }

 private:
  template <class T>
  void log(T& t, Interval now) {
    if (t.config().fast_dev_run) return;
    MetricMap values;
    std::map<std::string, int> seen;
    for (auto& o : t.optimizers()) {
      const std::string type = optimizer_name(*o.optimizer);
      const int n = seen[type]++;
      const Interval when = opt_.logging_interval.value_or(o.lr_scheduler ? o.interval : Interval::epoch);
      if (when != now) continue;
      const std::string base = "lr-" + type + (n ? fmt::format("-{}", n) : "");
      auto& groups = o.optimizer->param_groups();
      for (std::size_t g = 0; g < groups.size(); ++g)
        values[groups.size() > 1 ? fmt::format("{}/pg{}", base, g + 1) : base] = groups[g].options().get_lr();
    }
    t.log_metrics(values);
  }

  Options opt_;
  std::int64_t last_step_ = -1;
};

}  // namespace kiln
