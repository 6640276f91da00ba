// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/metric.hpp — the Metric concept and MetricBase: tensor states, reset, sync over ranks, forward.
#pragma once
#include <concepts>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/strategy/collectives.hpp>

namespace kiln::metrics {

/// How a state is combined over ranks by sync(): summed, concatenated (per-sample values such as
/// AUROC's scores), element-wise min or max, or averaged.
enum class Sync { sum, cat, min, max, mean };

/// What the Trainer and MetricCollection ask of a metric.
///
/// *Requires*: `compute()` giving a tensor (over all ranks' states), `reset()`, `sync()`
/// (combines the states over ranks in place), `state_dict()` / `load_state_dict(map)`.
/// `update(...)` takes whatever the metric is fed (preds and target, or one value).
template <class M>
concept Metric = requires(M& m, const std::map<std::string, at::Tensor>& s) {
  { m.compute() } -> std::convertible_to<at::Tensor>;
  m.reset();
  m.sync();
  { m.state_dict() } -> std::convertible_to<std::map<std::string, at::Tensor>>;
  m.load_state_dict(s);
};

/// Base of kiln's metrics (CRTP). A derived metric declares its states with add_state() and
/// defines `update_state(args...)` and `compute_state()`; the base gives update/compute/reset,
/// sync over ranks, forward (`m(preds, target)`: the batch's value, as torchmetrics' forward),
/// a compute cache and state_dict. States live on the device of the tensors last fed to update.
template <class Derived>
class MetricBase {
 public:
  /// Adds a batch to the state.
  template <class... A>
  void update(const A&... args) {
    follow_device(args...);
    self().update_state(args...);
    computed_ = at::Tensor();
  }

  /// The metric over everything fed since reset(), on all ranks: the states are synced into a
  /// copy, so update() may go on afterwards. Cached until the next update() or reset().
  at::Tensor compute() {
    if (computed_.defined()) return computed_;
    if (dist::world_size() > 1) {
      auto local = snapshot();
      sync();
      try {
        computed_ = self().compute_state();
      } catch (...) {
        states_ = std::move(local);
        throw;
      }
      states_ = std::move(local);
    } else {
      computed_ = self().compute_state();
    }
    return computed_;
  }

  /// Adds a batch to the state and returns the metric of that batch alone (not synced).
  template <class... A>
  at::Tensor operator()(const A&... args) {
    follow_device(args...);
    auto before = snapshot();
    reset_states();
    self().update_state(args...);
    at::Tensor batch = self().compute_state();
    merge(before);
    computed_ = at::Tensor();
    forward_cache_ = batch;
    return batch;
  }

  /// The value of the last forward call (undefined before one).
  const at::Tensor& forward_cache() const { return forward_cache_; }

  /// Back to the state before any update.
  void reset() {
    reset_states();
    computed_ = at::Tensor();
    forward_cache_ = at::Tensor();
  }

  /// Combines every state over all ranks in place (each rank then holds the same state). Every
  /// rank must call it. The identity on one process.
  void sync() {
    if (dist::world_size() == 1) return;
    for (auto& s : states_) {
      switch (s.how) {
        case Sync::sum: dist::all_reduce(s.value, dist::ReduceOp::sum); break;
        case Sync::min: dist::all_reduce(s.value, dist::ReduceOp::min); break;
        case Sync::max: dist::all_reduce(s.value, dist::ReduceOp::max); break;
        case Sync::mean: dist::all_reduce(s.value, dist::ReduceOp::mean); break;
        case Sync::cat: {
          auto all = dist::all_gather(joined(s));
          s.chunks = {at::cat(all)};
          break;
        }
      }
    }
    computed_ = at::Tensor();
  }

  /// The states by name (cat states joined), for checkpoints.
  std::map<std::string, at::Tensor> state_dict() const {
    std::map<std::string, at::Tensor> out;
    for (auto& s : states_) out.emplace(s.name, s.how == Sync::cat ? joined(s) : s.value.clone());
    return out;
  }

  /// Folds states written by state_dict() into the current ones, as sync() combines ranks (a
  /// resumed epoch: what the checkpoint held plus what was fed since).
  void merge_state_dict(const std::map<std::string, at::Tensor>& in) {
    auto mine = states_;
    load_state_dict(in);
    auto saved = std::exchange(states_, std::move(mine));
    merge(saved);
    computed_ = at::Tensor();
  }

  /// Restores states written by state_dict(). A missing state or a shape that does not fit is a
  /// kiln::Error naming it.
  void load_state_dict(const std::map<std::string, at::Tensor>& in) {
    for (auto& s : states_) {
      auto it = in.find(s.name);
      if (it == in.end())
        throw Error(fmt::format("kiln: {} state_dict lacks the state \"{}\"", Derived::metric_name, s.name));
      const bool fits = s.how == Sync::cat
                            ? it->second.dim() == s.init.dim() && it->second.sizes().slice(1) == s.init.sizes().slice(1)
                            : it->second.sizes() == s.init.sizes();
      if (!fits)
        throw Error(fmt::format("kiln: {} state \"{}\" has shape {}, expected {}", Derived::metric_name, s.name,
                                it->second.sizes(), s.init.sizes()));
      if (s.how == Sync::cat)
        s.chunks = {it->second.to(s.init.options())};
      else
        s.value = it->second.to(s.init.options()).clone();
    }
    computed_ = at::Tensor();
  }

 protected:
  /// Declares a state with its initial value and how ranks combine it; returns its handle. A
  /// cat state starts as `init` (usually empty along dim 0) and grows by append().
  int add_state(std::string name, at::Tensor init, Sync how) {
    states_.push_back({std::move(name), init, init.clone(), {}, how});
    return static_cast<int>(states_.size()) - 1;
  }
  at::Tensor& value(int i) { return states_[i].value; }
  const at::Tensor& value(int i) const { return states_[i].value; }
  void append(int i, const at::Tensor& t) { states_[i].chunks.push_back(t.detach().to(states_[i].init.dtype())); }
  /// A cat state's values so far, joined along dim 0.
  at::Tensor cat(int i) const { return joined(states_[i]); }

 private:
  struct State {
    std::string name;
    at::Tensor init, value;
    std::vector<at::Tensor> chunks;  ///< cat states: one tensor per update, joined when read
    Sync how;
  };

  Derived& self() { return static_cast<Derived&>(*this); }

  static at::Tensor joined(const State& s) {
    if (s.chunks.empty()) return s.init;
    return s.chunks.size() == 1 ? s.chunks.front() : at::cat(s.chunks);
  }

  std::vector<State> snapshot() const {
    auto copy = states_;
    for (auto& s : copy) s.value = s.value.clone();  // update_state may write values in place
    return copy;
  }

  void reset_states() {
    for (auto& s : states_) {
      s.value = s.init.clone();
      s.chunks.clear();
    }
  }

  /// Folds an earlier state into this one (forward: the state before the batch plus the batch).
  void merge(const std::vector<State>& earlier) {
    for (size_t i = 0; i < states_.size(); ++i) {
      auto& s = states_[i];
      const auto& e = earlier[i];
      switch (s.how) {
        case Sync::sum: s.value = s.value + e.value; break;
        case Sync::min: s.value = at::minimum(s.value, e.value); break;
        case Sync::max: s.value = at::maximum(s.value, e.value); break;
        case Sync::mean: s.value = e.value; break;  // a running value: the class's update_state keeps it
        case Sync::cat: {
          auto mine = std::move(s.chunks);
          s.chunks = e.chunks;
          s.chunks.insert(s.chunks.end(), mine.begin(), mine.end());
          break;
        }
      }
    }
  }

  /// States follow the device of the tensors fed to update.
  template <class... A>
  void follow_device(const A&... args) {
    std::optional<at::Device> dev;
    ((dev = dev ? dev : device_of(args)), ...);
    if (!dev) return;
    for (auto& s : states_) {
      if (s.init.device() == *dev) continue;
      s.init = s.init.to(*dev);
      s.value = s.value.to(*dev);
      for (auto& c : s.chunks) c = c.to(*dev);
    }
  }
  template <class T>
  static std::optional<at::Device> device_of(const T& t) {
    if constexpr (std::is_same_v<T, at::Tensor>) return t.device();
    else return std::nullopt;
  }

  std::vector<State> states_;
  at::Tensor computed_, forward_cache_;
};

namespace detail {
/// The states of `in` whose names start with `prefix`, without it (a part of a composite's state_dict).
inline std::map<std::string, at::Tensor> under(const std::map<std::string, at::Tensor>& in, const std::string& prefix) {
  std::map<std::string, at::Tensor> out;
  for (auto& [k, v] : in)
    if (k.starts_with(prefix)) out.emplace(k.substr(prefix.size()), v);
  return out;
}

/// One value for logging: a 0-dim double, else a kiln::Error naming the metric.
inline double scalar_of(const at::Tensor& t, std::string_view what) {
  if (t.numel() != 1)
    throw Error(fmt::format("kiln: {} gives {} values; log a metric with one value (e.g. average other than none)",
                            what, t.numel()));
  return t.item<double>();
}
}  // namespace detail

}  // namespace kiln::metrics
