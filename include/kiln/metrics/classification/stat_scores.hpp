// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/classification/stat_scores.hpp — per-class true/false positives/negatives, the state of accuracy, precision, recall and F-scores.
#pragma once
#include <cstdint>
#include <string_view>

#include <ATen/ATen.h>

#include <kiln/core/error.hpp>
#include <kiln/metrics/classification/inputs.hpp>
#include <kiln/metrics/metric.hpp>

namespace kiln::metrics {

/// Counts tp, fp, fn, tn per class (per label; one column for binary) over every update; a
/// derived metric turns them into its value in compute_state(). All states are int64 sums, so
/// results are exact and sync is one all_reduce per state.
template <class Derived>
class StatScores : public MetricBase<Derived> {
 public:
  explicit StatScores(ClassificationOptions o) : opt_(o), n_(detail::classes_of(o, Derived::metric_name)) {
    auto z = at::zeros({n_}, at::kLong);
    tp_ = this->add_state("tp", z, Sync::sum);
    fp_ = this->add_state("fp", z, Sync::sum);
    fn_ = this->add_state("fn", z, Sync::sum);
    tn_ = this->add_state("tn", z, Sync::sum);
    exact_ = this->add_state("exact", at::zeros({}, at::kLong), Sync::sum);  // samples with every label right
    total_ = this->add_state("samples", at::zeros({}, at::kLong), Sync::sum);
  }

  void update_state(const at::Tensor& preds, const at::Tensor& target) {
    const auto name = Derived::metric_name;
    if (opt_.task == Task::multiclass) {
      auto [top, t] = detail::multiclass_labels(preds, target, opt_, name);
      const auto N = t.size(0);
      auto hit = (top == t.unsqueeze(1)).any(1);
      auto tp = at::bincount(t.masked_select(hit), {}, n_);
      auto predicted = at::bincount(top.flatten(), {}, n_);  // times each class was among the k predicted
      auto actual = at::bincount(t, {}, n_);
      auto fp = predicted - tp, fn = actual - tp;
      this->value(tp_) += tp;
      this->value(fp_) += fp;
      this->value(fn_) += fn;
      this->value(tn_) += N - tp - fp - fn;
      this->value(exact_) += hit.sum();
      this->value(total_) += N;
    } else {
      auto [p, t] = detail::binary_labels(preds, target, opt_, name);
      auto pb = p.to(at::kBool), tb = t.to(at::kBool);
      this->value(tp_) += at::logical_and(pb, tb).sum(0);
      this->value(fp_) += at::logical_and(pb, tb.logical_not()).sum(0);
      this->value(fn_) += at::logical_and(pb.logical_not(), tb).sum(0);
      this->value(tn_) += at::logical_and(pb.logical_not(), tb.logical_not()).sum(0);
      this->value(exact_) += (p == t).all(1).sum();
      this->value(total_) += t.size(0);
    }
  }

  const ClassificationOptions& options() const { return opt_; }

 protected:
  struct Counts {
    at::Tensor tp, fp, fn, tn, exact, samples;
  };
  /// The counts as doubles; a kiln::Error if nothing was counted.
  Counts counts() const {
    if (this->value(total_).template item<std::int64_t>() == 0)
      throw Error(fmt::format("kiln: {}.compute() needs at least one sample; none was given since reset()",
                              Derived::metric_name));
    auto d = [&](int i) { return this->value(i).to(at::kDouble); };
    return {d(tp_), d(fp_), d(fn_), d(tn_), d(exact_), d(total_)};
  }

  /// Reduces per-class values `v` with the options' average; `support` weighs "weighted";
  /// micro is the caller's (it pools counts, not values).
  at::Tensor average(const at::Tensor& v, const at::Tensor& support) const {
    if (opt_.task == Task::binary) return v.reshape({});
    switch (opt_.average) {
      case Average::macro: return v.mean();
      case Average::weighted: return detail::safe_div((v * support).sum(), support.sum());
      case Average::none: return v;
      case Average::micro: break;
    }
    return v.mean();
  }

  ClassificationOptions opt_;
  std::int64_t n_;

 private:
  int tp_, fp_, fn_, tn_, exact_, total_;
};

}  // namespace kiln::metrics
