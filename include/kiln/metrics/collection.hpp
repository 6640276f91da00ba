// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/collection.hpp — MetricCollection: several metrics fed by one update and logged under one prefix.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include <ATen/ATen.h>

#include <kiln/core/step_context.hpp>
#include <kiln/metrics/metric.hpp>

namespace kiln::metrics {

/// A metric and the name it is logged under.
template <class M>
struct Named {
  std::string name;
  M metric;
};
template <class M>
Named<std::remove_cvref_t<M>> named(std::string name, M&& m) {
  return {std::move(name), std::forward<M>(m)};
}

/// Metrics updated together: `MetricCollection val{"val/", named("acc", Accuracy{o}), named("f1", F1Score{o})}`;
/// `val.update(preds, target)` feeds each, `val.log(ctx)` logs "val/acc" and "val/f1" (computed,
/// synced and reset at epoch end), `val.compute()` gives them by name.
template <class... Ms>
class MetricCollection {
 public:
  explicit MetricCollection(std::string prefix, Named<Ms>... ms) : prefix_(std::move(prefix)), ms_(std::move(ms)...) {}

  template <class... A>
  void update(const A&... args) { each([&](auto& n) { n.metric.update(args...); }); }
  std::map<std::string, at::Tensor> compute() {
    std::map<std::string, at::Tensor> out;
    each([&](auto& n) { out.emplace(prefix_ + n.name, n.metric.compute()); });
    return out;
  }
  void reset() { each([](auto& n) { n.metric.reset(); }); }
  void sync() { each([](auto& n) { n.metric.sync(); }); }
  /// States named "<name>.<state>".
  std::map<std::string, at::Tensor> state_dict() {
    std::map<std::string, at::Tensor> out;
    each([&](auto& n) {
      for (auto& [k, v] : n.metric.state_dict()) out.emplace(n.name + "." + k, v);
    });
    return out;
  }
  void load_state_dict(const std::map<std::string, at::Tensor>& in) {
    each([&](auto& n) { n.metric.load_state_dict(detail::under(in, n.name + ".")); });
  }
  /// Folds saved states into the current ones (a resumed epoch).
  void merge_state_dict(const std::map<std::string, at::Tensor>& in) {
    each([&](auto& n) { n.metric.merge_state_dict(detail::under(in, n.name + ".")); });
  }

  /// Logs every metric object as "<prefix><name>" (StepContext::log with a metric).
  void log(StepContext& ctx, const LogOptions& opt = {}) {
    each([&](auto& n) { ctx.log(prefix_ + n.name, n.metric, opt); });
  }

  /// The I-th metric.
  template <std::size_t I>
  auto& get() { return std::get<I>(ms_).metric; }
  const std::string& prefix() const { return prefix_; }

 private:
  template <class F>
  void each(F&& f) { std::apply([&](auto&... n) { (f(n), ...); }, ms_); }

  std::string prefix_;
  std::tuple<Named<Ms>...> ms_;
};

template <class... Ms>
MetricCollection(std::string_view, Named<Ms>...) -> MetricCollection<Ms...>;
template <class... Ms>
MetricCollection(const char*, Named<Ms>...) -> MetricCollection<Ms...>;

}  // namespace kiln::metrics
