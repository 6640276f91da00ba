// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/classification/precision_recall.hpp — Precision, Recall, FBetaScore and F1Score.
#pragma once
#include <kiln/core/error.hpp>
#include <kiln/metrics/classification/stat_scores.hpp>

namespace kiln::metrics {
namespace detail {
enum class Score { precision, recall, fbeta };

/// scikit-learn's precision_recall_fscore_support with labels = all classes and zero_division=0:
/// per-class values from the counts; micro pools the counts first; macro and weighted average the
/// per-class values (macro over every class, seen or not).
template <class Derived, Score S>
class PrecisionRecallF : public StatScores<Derived> {
 public:
  PrecisionRecallF(ClassificationOptions o, double beta) : StatScores<Derived>(o), beta_(beta) {
    if (!(beta > 0)) throw Error(fmt::format("kiln: {} beta must be positive, got {}", Derived::metric_name, beta));
  }

  at::Tensor compute_state() const {
    auto c = this->counts();
    const bool pool = this->opt_.average == Average::micro && this->opt_.task != Task::binary;
    auto tp = pool ? c.tp.sum() : c.tp, fp = pool ? c.fp.sum() : c.fp, fn = pool ? c.fn.sum() : c.fn;
    auto p = safe_div(tp, tp + fp), r = safe_div(tp, tp + fn);
    at::Tensor v;
    if constexpr (S == Score::precision) v = p;
    else if constexpr (S == Score::recall) v = r;
    else v = safe_div((1 + beta_ * beta_) * p * r, beta_ * beta_ * p + r);
    return pool ? v : this->average(v, c.tp + c.fn);
  }

 private:
  double beta_;
};
}  // namespace detail

/// tp / (tp + fp); 0 where a class was never predicted.
class Precision : public detail::PrecisionRecallF<Precision, detail::Score::precision> {
 public:
  static constexpr std::string_view metric_name = "Precision";
  explicit Precision(ClassificationOptions o = {}) : PrecisionRecallF(o, 1.0) {}
};

/// tp / (tp + fn); 0 where a class never occurs in the target.
class Recall : public detail::PrecisionRecallF<Recall, detail::Score::recall> {
 public:
  static constexpr std::string_view metric_name = "Recall";
  explicit Recall(ClassificationOptions o = {}) : PrecisionRecallF(o, 1.0) {}
};

/// (1 + β²)·P·R / (β²·P + R) per class, then averaged (micro: from the pooled P and R).
class FBetaScore : public detail::PrecisionRecallF<FBetaScore, detail::Score::fbeta> {
 public:
  static constexpr std::string_view metric_name = "FBetaScore";
  explicit FBetaScore(double beta, ClassificationOptions o = {}) : PrecisionRecallF(o, beta) {}
};

/// F-beta with β = 1.
class F1Score : public detail::PrecisionRecallF<F1Score, detail::Score::fbeta> {
 public:
  static constexpr std::string_view metric_name = "F1Score";
  explicit F1Score(ClassificationOptions o = {}) : PrecisionRecallF(o, 1.0) {}
};

}  // namespace kiln::metrics
