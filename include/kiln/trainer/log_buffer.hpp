// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/log_buffer.hpp — values logged from steps, accumulated on device until read.
#pragma once
#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/linkage.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/core/stage.hpp>

namespace kiln {

/// Holds logged values as tensors so logging never forces a device synchronisation; values are
/// read (`.item()`) only when `step_values()` / `epoch_values()` are called.
class LogBuffer {
 public:
  LogBuffer() = default;
  LogBuffer(const LogBuffer&) = default;
  LogBuffer& operator=(const LogBuffer&) = default;
  LogBuffer(LogBuffer&&) = default;
  LogBuffer& operator=(LogBuffer&&) = default;
  KILN_DECL ~LogBuffer();  // out of line: its maps' code is compiled with kiln, not in every loop's user

  /// Records `value` under `name`; the options of the first call for a name stick. `weight`
  /// (opt.batch_size, else the batch's size) weighs the value in a mean over the epoch.
  KILN_DECL void log(std::string_view name, const at::Tensor& value, const LogOptions& opt, Stage stage, std::int64_t weight = 1);

  /// Logs a metric object (Lightning's self.log with a torchmetrics object): on_step logs the
  /// value of its last forward call (`m(preds, target)`), if any; on_epoch logs compute() at the
  /// epoch's end, after which the metric is reset.
  KILN_DECL void log_metric(std::string_view name, const MetricRef& m, const LogOptions& opt, Stage stage);

  /// Values logged on_step since the last call (named `<name>_step` when also on_epoch): what
  /// loggers receive every log_every_n_steps.
  KILN_DECL MetricMap step_values();

  /// The latest on_step value of every name, read only when asked (callback_metrics).
  KILN_DECL MetricMap current_step_values() const;

  /// The epoch reductions so far (named `<name>_epoch` when also on_step).
  KILN_DECL MetricMap epoch_values() const;

  /// epoch_values(), then forgets the epoch's accumulation.
  KILN_DECL MetricMap take_epoch_values();

  /// For a value logged both on_step and on_epoch, Lightning's callback_metrics also holds the
  /// plain name (the step value during the epoch, the epoch value after it); loggers do not.
  /// Returns that plain name for `key`, or an empty view.
  std::string_view plain_name(std::string_view key) const {
    for (std::string_view suffix : {"_step", "_epoch"}) {
      if (key.size() <= suffix.size() || !key.ends_with(suffix)) continue;
      auto it = entries_.find(key.substr(0, key.size() - suffix.size()));
      if (it != entries_.end() && it->second.on_step && it->second.on_epoch) return it->first;
    }
    return {};
  }

  /// True for the keys of a value logged with prog_bar=true.
  bool shows_in_prog_bar(std::string_view key) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      auto plain = plain_name(key);
      if (plain.empty()) return false;
      it = entries_.find(plain);
    }
    return it->second.prog_bar;
  }

  /// Copies `values` (read from this buffer) into callback_metrics and, for prog_bar values,
  /// into progress_bar_metrics. A value logged on_step and on_epoch also sets its plain name:
  /// the epoch value, and with `alias_steps` the step value before it.
  KILN_DECL void merge_into(MetricMap& callback_metrics, MetricMap& progress_bar_metrics, const MetricMap& values,
                            bool alias_steps) const;

  void clear() { entries_.clear(); }

  /// Combines a tensor over the ranks in place (sum, max or min); set by a distributed strategy.
  using RankReducer = void (*)(at::Tensor&, Reduce);
  void set_rank_reducer(RankReducer r) { reducer_ = r; }

  /// The states of the metric objects logged so far (for a checkpoint).
  KILN_DECL std::map<std::string, StateMap> metric_states() const;
  /// States from a checkpoint, folded into each metric when it is next logged under its name.
  void restore_metric_states(std::map<std::string, StateMap> states) {
    pending_.clear();
    for (auto& [name, st] : states) pending_.emplace(name, std::move(st));
  }

 private:
  struct Entry;
  /// The entry for `name`; the options of the first call for a name stick.
  Entry& entry(std::string_view name, const LogOptions& opt, Stage stage) {
    auto it = entries_.find(name);  // heterogeneous: no string allocated once a name is known
    if (it != entries_.end()) return it->second;
    const bool training = stage == Stage::fit;
    Entry& e = entries_.emplace(std::string(name), Entry{}).first->second;
    e.on_step = opt.on_step.value_or(training);
    e.on_epoch = opt.on_epoch.value_or(!training);
    e.prog_bar = opt.prog_bar;
    e.reduce = opt.reduce;
    e.sync_dist = opt.sync_dist;
    return e;
  }

  struct Entry {
    at::Tensor last, accum;
    std::int64_t weight = 0;  ///< summed weights of this epoch's values (each >= 1; 0: none yet)
    bool on_step = false, on_epoch = false, prog_bar = false, step_pending = false, sync_dist = false;
    Reduce reduce = Reduce::mean;
    MetricRef metric;  ///< set for a metric object
  };
  std::map<std::string, Entry, std::less<>> entries_;
  std::map<std::string, StateMap, std::less<>> pending_;
  RankReducer reducer_ = nullptr;
};

}  // namespace kiln

#if KILN_DEFINITIONS
namespace kiln {

KILN_DECL LogBuffer::~LogBuffer() = default;

KILN_DECL void LogBuffer::log(std::string_view name, const at::Tensor& value, const LogOptions& opt, Stage stage, std::int64_t weight) {
  if (value.numel() != 1)
    throw Error(fmt::format("kiln: log(\"{}\") needs a single value, got a tensor of {} elements",
                            name, value.numel()));
  Entry& e = entry(name, opt, stage);
  at::Tensor v = value.detach().reshape({});
  if (e.on_step) {
    e.last = v;
    e.step_pending = true;
  }
  if (e.on_epoch) {
    const std::int64_t w = opt.batch_size.value_or(weight);
    if (w < 1) throw Error(fmt::format("kiln: log(\"{}\") batch_size must be at least 1, got {}", name, w));
    if (e.reduce == Reduce::mean && w != 1) v = v.to(at::kDouble) * static_cast<double>(w);
    if (e.weight == 0) {
      e.accum = v.to(at::kDouble);
    } else {
      switch (e.reduce) {
        case Reduce::mean:
        case Reduce::sum: e.accum = e.accum + v; break;
        case Reduce::max: e.accum = at::maximum(e.accum, v.to(at::kDouble)); break;
        case Reduce::min: e.accum = at::minimum(e.accum, v.to(at::kDouble)); break;
      }
    }
    e.weight += w;
  }
}

KILN_DECL void LogBuffer::log_metric(std::string_view name, const MetricRef& m, const LogOptions& opt, Stage stage) {
  Entry& e = entry(name, opt, stage);
  e.metric = m;
  if (auto p = pending_.find(name); p != pending_.end()) {
    // a resumed fit: fold in the state the checkpoint held (metric states combine as over ranks)
    if (!m.merge_state_dict)
      throw Error(fmt::format("kiln: the checkpoint holds the state of metric \"{}\", but the metric logged under "
                              "that name has no merge_state_dict", name));
    m.merge_state_dict(m.obj, p->second);
    pending_.erase(p);
  }
  if (e.on_step && m.forward_cache) {
    if (auto v = m.forward_cache(m.obj); v.defined()) {
      e.last = v.detach().to(at::kDouble).reshape({});
      e.step_pending = true;
    }
  }
  if (e.on_epoch) e.weight = 1;
}

KILN_DECL MetricMap LogBuffer::step_values() {
  MetricMap out;
  for (auto& [name, e] : entries_) {
    if (!e.step_pending) continue;
    out.emplace(e.on_epoch ? name + "_step" : name, e.last.item<double>());
    e.step_pending = false;
  }
  return out;
}

KILN_DECL MetricMap LogBuffer::current_step_values() const {
  MetricMap out;
  for (auto& [name, e] : entries_)
    if (e.on_step && e.last.defined()) out.emplace(e.on_epoch ? name + "_step" : name, e.last.item<double>());
  return out;
}

KILN_DECL MetricMap LogBuffer::epoch_values() const {
  MetricMap out;
  for (auto& [name, e] : entries_) {
    if (!e.on_epoch || e.weight == 0) continue;
    double v;
    if (e.metric.obj) {
      const at::Tensor t = e.metric.compute(e.metric.obj);
      if (t.numel() != 1)
        throw Error(fmt::format("kiln: log(\"{}\") needs a metric with one value; it computes {} values "
                                "(average none?)", name, t.numel()));
      v = t.item<double>();
    } else if (e.sync_dist && reducer_) {
      // over all ranks: a mean divides the summed weighted values by the summed weights (batch
      // sizes), so every sample counts once however unevenly the last batches fall
      auto sums = at::stack({e.accum.to(at::kDouble).reshape({}), at::scalar_tensor(static_cast<double>(e.weight), at::kDouble)});
      reducer_(sums, e.reduce == Reduce::mean ? Reduce::sum : e.reduce);
      v = sums[0].item<double>();
      if (e.reduce == Reduce::mean) v /= sums[1].item<double>();
    } else {
      v = e.accum.item<double>();
      if (e.reduce == Reduce::mean) v /= static_cast<double>(e.weight);
    }
    out.emplace(e.on_step ? name + "_epoch" : name, v);
  }
  return out;
}

KILN_DECL MetricMap LogBuffer::take_epoch_values() {
  MetricMap out = epoch_values();
  for (auto& [name, e] : entries_) {
    e.weight = 0;
    if (e.metric.obj) e.metric.reset(e.metric.obj);  // a logged metric starts each epoch afresh
  }
  return out;
}

KILN_DECL std::map<std::string, StateMap> LogBuffer::metric_states() const {
  std::map<std::string, StateMap> out;
  for (auto& [name, e] : entries_)
    if (e.metric.obj && e.metric.state_dict) out.emplace(name, e.metric.state_dict(e.metric.obj));
  return out;
}

KILN_DECL void LogBuffer::merge_into(MetricMap& callback_metrics, MetricMap& progress_bar_metrics, const MetricMap& values,
                                     bool alias_steps) const {
  for (bool epoch_keys : {false, true}) {  // epoch values last: they win the plain name
    for (auto& [k, v] : values) {
      if (std::string_view(k).ends_with("_epoch") != epoch_keys) continue;
      callback_metrics[k] = v;
      if (shows_in_prog_bar(k)) progress_bar_metrics[k] = v;
      auto plain = plain_name(k);
      if (plain.empty() || (!epoch_keys && !alias_steps)) continue;
      callback_metrics[std::string(plain)] = v;  // the bar shows x_step and x_epoch only, as Lightning's
    }
  }
}

}  // namespace kiln
#endif  // KILN_DEFINITIONS
