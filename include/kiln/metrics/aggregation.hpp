// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/aggregation.hpp — MeanMetric, SumMetric, MinMetric, MaxMetric, RunningAverage, Loss.
#pragma once
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include <ATen/ATen.h>

#include <kiln/core/error.hpp>
#include <kiln/metrics/metric.hpp>

namespace kiln::metrics {
namespace detail {
inline at::Tensor as_values(const at::Tensor& v) { return v.detach().to(at::kDouble).flatten(); }
inline at::Tensor as_values(double v) { return at::full({1}, v, at::kDouble); }
}  // namespace detail

/// The weighted mean of every value fed (each element of a tensor is a value). update(v) or
/// update(v, weight); weights broadcast against v.
class MeanMetric : public MetricBase<MeanMetric> {
 public:
  static constexpr std::string_view metric_name = "MeanMetric";
  MeanMetric() {
    sum_ = add_state("weighted_sum", at::zeros({}, at::kDouble), Sync::sum);
    weight_ = add_state("weight", at::zeros({}, at::kDouble), Sync::sum);
  }
  template <class V>
  void update_state(const V& v) { update_state(v, 1.0); }
  template <class V, class W>
  void update_state(const V& v, const W& w) {
    auto x = detail::as_values(v);
    auto wt = at::broadcast_to(detail::as_values(w), x.sizes());
    value(sum_) += (x * wt).sum();
    value(weight_) += wt.sum();
  }
  at::Tensor compute_state() const {
    if (value(weight_).item<double>() == 0)
      throw Error("kiln: MeanMetric.compute() needs at least one value of non-zero weight since reset()");
    return value(sum_) / value(weight_);
  }

 private:
  int sum_, weight_;
};

/// The sum of every value fed; 0 before any.
class SumMetric : public MetricBase<SumMetric> {
 public:
  static constexpr std::string_view metric_name = "SumMetric";
  SumMetric() { sum_ = add_state("sum", at::zeros({}, at::kDouble), Sync::sum); }
  template <class V>
  void update_state(const V& v) { value(sum_) += detail::as_values(v).sum(); }
  at::Tensor compute_state() const { return value(sum_); }

 private:
  int sum_;
};

namespace detail {
/// The smallest (Max = false) or largest value fed; a kiln::Error before any.
template <class Derived, bool Max>
class Extremum : public MetricBase<Derived> {
 public:
  Extremum() {
    const double start = Max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    v_ = this->add_state(Max ? "max" : "min", at::full({}, start, at::kDouble), Max ? Sync::max : Sync::min);
    n_ = this->add_state("count", at::zeros({}, at::kDouble), Sync::sum);
  }
  template <class V>
  void update_state(const V& v) {
    auto x = as_values(v);
    if (x.numel() == 0) return;
    this->value(v_) = Max ? at::maximum(this->value(v_), x.max()) : at::minimum(this->value(v_), x.min());
    this->value(n_) += x.numel();
  }
  at::Tensor compute_state() const {
    if (this->value(n_).template item<double>() == 0)
      throw Error(fmt::format("kiln: {}.compute() needs at least one value since reset()", Derived::metric_name));
    return this->value(v_);
  }

 private:
  int v_, n_;
};
}  // namespace detail

class MinMetric : public detail::Extremum<MinMetric, false> {
 public:
  static constexpr std::string_view metric_name = "MinMetric";
};
class MaxMetric : public detail::Extremum<MaxMetric, true> {
 public:
  static constexpr std::string_view metric_name = "MaxMetric";
};

/// Ignite's RunningAverage: an exponential moving average, v ← α·v + (1 − α)·x, started at the
/// first value. sync() averages the ranks' running values.
class RunningAverage : public MetricBase<RunningAverage> {
 public:
  static constexpr std::string_view metric_name = "RunningAverage";
  explicit RunningAverage(double alpha = 0.98) : alpha_(alpha) {
    if (!(alpha > 0 && alpha <= 1)) throw Error(fmt::format("kiln: RunningAverage alpha must be in (0, 1], got {}", alpha));
    v_ = add_state("value", at::zeros({}, at::kDouble), Sync::mean);
    started_ = add_state("started", at::zeros({}, at::kDouble), Sync::max);
  }
  template <class V>
  void update_state(const V& v) {
    auto x = detail::as_values(v).mean();
    value(v_) = at::where(value(started_) > 0, alpha_ * value(v_) + (1 - alpha_) * x, x);
    value(started_).fill_(1);
  }
  /// The updated running value (a running value has no per-batch value of its own).
  template <class V>
  at::Tensor operator()(const V& v) {
    update(v);
    return compute_state();
  }
  at::Tensor compute_state() const {
    if (value(started_).item<double>() == 0) throw Error("kiln: RunningAverage.compute() needs at least one value since reset()");
    return value(v_);
  }

 private:
  double alpha_;
  int v_, started_;
};

/// Ignite's Loss: the mean of loss_fn(preds, target) over samples, each batch weighted by its size.
template <class LossFn>
class Loss : public MetricBase<Loss<LossFn>> {
 public:
  static constexpr std::string_view metric_name = "Loss";
  explicit Loss(LossFn fn) : fn_(std::move(fn)) {
    sum_ = this->add_state("weighted_sum", at::zeros({}, at::kDouble), Sync::sum);
    n_ = this->add_state("samples", at::zeros({}, at::kDouble), Sync::sum);
  }
  void update_state(const at::Tensor& preds, const at::Tensor& target) {
    at::Tensor l = fn_(preds, target);
    if (l.numel() != 1) throw Error(fmt::format("kiln: Loss's function must give one value, got {}", l.numel()));
    const auto n = preds.dim() == 0 ? 1 : preds.size(0);
    this->value(sum_) += l.detach().to(at::kDouble).reshape({}) * static_cast<double>(n);
    this->value(n_) += static_cast<double>(n);
  }
  at::Tensor compute_state() const {
    if (this->value(n_).template item<double>() == 0) throw Error("kiln: Loss.compute() needs at least one batch since reset()");
    return this->value(sum_) / this->value(n_);
  }

 private:
  LossFn fn_;
  int sum_, n_;
};

}  // namespace kiln::metrics
