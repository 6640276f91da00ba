// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/early_stopping.hpp — EarlyStopping: stops fit when a monitored value stops improving.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/stage.hpp>

namespace kiln {

/// Stops fit when `monitor` has not improved by more than `min_delta` for `patience` checks
/// (Lightning's EarlyStopping, same options and messages). It checks after each validation,
/// or at the end of each training epoch (check_on_train_epoch_end; by default when validation
/// runs once per epoch, so it sees that epoch's validation values, and always without
/// validation data). The reason is printed when fit stops and kept in stop_reason().
class EarlyStopping {
 public:
  struct Options {
    std::string monitor;      ///< a logged name, e.g. "val/loss"
    double min_delta = 0.0;   ///< an improvement must exceed this (absolute)
    std::int64_t patience = 3;  ///< checks without improvement before stopping
    std::string mode = "min";   ///< "min" or "max"
    bool strict = true;         ///< a monitor that was never logged is an error (else the check is skipped)
    bool check_finite = true;   ///< stop when the monitor is NaN or infinite
    std::optional<double> stopping_threshold;    ///< stop as soon as the monitor is better than this
    std::optional<double> divergence_threshold;  ///< stop as soon as the monitor is worse than this
    std::optional<bool> check_on_train_epoch_end;
    bool verbose = false;  ///< also print each improvement
  };
  explicit EarlyStopping(Options o) : opt_(std::move(o)) {
    if (opt_.monitor.empty()) throw Error("kiln: EarlyStopping needs a monitor (the logged name to watch)");
    if (opt_.mode != "min" && opt_.mode != "max")
      throw Error(fmt::format("kiln: EarlyStopping mode must be \"min\" or \"max\" (got \"{}\")", opt_.mode));
    if (opt_.patience < 0) throw Error(fmt::format("kiln: EarlyStopping patience must be >= 0 (got {})", opt_.patience));
    if (opt_.min_delta < 0) throw Error(fmt::format("kiln: EarlyStopping min_delta must be >= 0 (got {})", opt_.min_delta));
    best_ = min_mode() ? inf() : -inf();
  }

  double best_score() const { return best_; }
  std::int64_t wait_count() const { return wait_; }
  /// The epoch it stopped in (-1: it has not stopped the run).
  std::int64_t stopped_epoch() const { return stopped_epoch_; }
  const std::string& stop_reason() const { return reason_; }

  template <class T>
  void on(const event::fit_start&, T& t) {
    on_epoch_end_ = opt_.check_on_train_epoch_end.value_or(t.config().val_check_interval.is_all() &&
                                                           t.config().check_val_every_n_epoch == 1);
  }
  template <class T>
  void on(const event::validation_end&, T& t) {
    if (!on_epoch_end_ && t.state().stage == Stage::fit) check(t);  // not the sanity check
  }
  template <class T>
  void on(const event::train_epoch_end&, T& t) {
    if (on_epoch_end_) check(t);
  }

  void state_dict(torch::serialize::OutputArchive& a) const {
    a.write("values", at::tensor({best_, double(wait_), double(stopped_epoch_)}, at::kDouble));
  }
  void load_state_dict(torch::serialize::InputArchive& a) {
    at::Tensor v;
    if (!a.try_read("values", v) || v.numel() != 3)
      throw Error("kiln: the checkpoint's EarlyStopping state is incomplete (key \"values\": best, wait, stopped epoch)");
    v = v.to(at::kDouble).contiguous();
    best_ = v.data_ptr<double>()[0];
    wait_ = static_cast<std::int64_t>(v.data_ptr<double>()[1]);
    stopped_epoch_ = static_cast<std::int64_t>(v.data_ptr<double>()[2]);
  }

 private:
  static double inf() { return std::numeric_limits<double>::infinity(); }
  bool min_mode() const { return opt_.mode == "min"; }
  bool better(double a, double b) const { return min_mode() ? a < b : a > b; }

  template <class T>
  void check(T& t) {
    if (t.config().fast_dev_run || t.state().should_stop) return;
    const auto& m = t.callback_metrics();
    const auto it = m.find(opt_.monitor);
    if (it == m.end()) {
      if (!opt_.strict) return;
      std::string logged;
      for (const auto& [k, v] : m) logged += (logged.empty() ? "" : ", ") + k;
      throw Error(fmt::format("kiln: EarlyStopping monitors \"{}\", which was not logged (logged: {})", opt_.monitor,
                              logged.empty() ? "nothing" : logged));
    }
    const double v = it->second;
    const char* op = min_mode() ? "<" : ">";
    std::string why;
    if (opt_.check_finite && !std::isfinite(v)) {
      why = fmt::format("monitored metric {} = {} is not finite; previous best value was {:.3f}", opt_.monitor, v, best_);
    } else if (opt_.stopping_threshold && better(v, *opt_.stopping_threshold)) {
      why = fmt::format("stopping threshold reached: {} = {} {} {}", opt_.monitor, v, op, *opt_.stopping_threshold);
    } else if (opt_.divergence_threshold && better(*opt_.divergence_threshold, v)) {
      why = fmt::format("divergence threshold reached: {} = {} {} {}", opt_.monitor, v, min_mode() ? ">" : "<",
                        *opt_.divergence_threshold);
    } else if (better(min_mode() ? v + opt_.min_delta : v - opt_.min_delta, best_)) {
      if (opt_.verbose && t.is_global_zero())
        fmt::print(stderr, "kiln: EarlyStopping: {} improved {}to {:.3f}\n", opt_.monitor,
                   std::isfinite(best_) ? fmt::format("by {:.3f} ", std::abs(best_ - v)) : "", v);
      best_ = v;
      wait_ = 0;
      return;
    } else if (++wait_ < opt_.patience) {
      return;
    } else {
      why = fmt::format("monitored metric {} did not improve in the last {} records; best score: {:.3f}", opt_.monitor, wait_, best_);
    }
    stopped_epoch_ = t.state().epoch;
    reason_ = "EarlyStopping: " + why;
    t.state().request_stop(reason_);
  }

  Options opt_;
  double best_;
  std::int64_t wait_ = 0, stopped_epoch_ = -1;
  std::string reason_;
  bool on_epoch_end_ = true;
};

}  // namespace kiln
