// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/classification/ranking.hpp — AUROC and AveragePrecision (binary, one-vs-rest, multilabel).
#pragma once
#include <utility>

#include <kiln/core/error.hpp>
#include <kiln/metrics/classification/inputs.hpp>
#include <kiln/metrics/metric.hpp>

namespace kiln::metrics {
namespace detail {

/// Cumulative true and false positives at each distinct score, highest first (the points of
/// scikit-learn's _binary_clf_curve): ties form one point.
inline std::pair<at::Tensor, at::Tensor> clf_curve(const at::Tensor& scores, const at::Tensor& positive) {
  auto order = at::argsort(scores, /*stable=*/true, /*dim=*/0, /*descending=*/true);
  auto s = scores.index_select(0, order);
  auto y = positive.index_select(0, order).to(at::kDouble);
  const auto n = s.size(0);
  auto last_of_run = at::cat({s.slice(0, 1) != s.slice(0, 0, n - 1), at::ones({1}, s.options().dtype(at::kBool))});
  auto idx = last_of_run.nonzero().squeeze(1);
  auto tps = y.cumsum(0).index_select(0, idx);
  auto fps = (idx + 1).to(at::kDouble) - tps;
  return {tps, fps};
}

/// One binary problem's AUROC or AP; a kiln::Error when the target has one class only.
template <bool AUC>
at::Tensor binary_ranking(const at::Tensor& scores, const at::Tensor& positive, std::string_view metric, long column) {
  auto [tps, fps] = clf_curve(scores, positive);
  const double P = tps[-1].item<double>(), Nn = fps[-1].item<double>();
  const auto where = column < 0 ? std::string() : fmt::format(" (class {})", column);
  if (P == 0 || (AUC && Nn == 0))
    throw Error(fmt::format("kiln: {} is undefined{}: the target holds no {} sample", metric, where,
                            P == 0 ? "positive" : "negative"));
  if constexpr (AUC) {  // trapezoids under (fpr, tpr), from (0, 0)
    auto tpr = at::cat({at::zeros({1}, tps.options()), tps / P}), fpr = at::cat({at::zeros({1}, fps.options()), fps / Nn});
    return at::trapz(tpr, fpr);
  } else {  // Σ (R_n − R_{n−1}) P_n
    auto recall = at::cat({at::zeros({1}, tps.options()), tps / P});
    auto precision = tps / (tps + fps);
    return ((recall.slice(0, 1) - recall.slice(0, 0, -1)) * precision).sum();
  }
}

/// AUROC and AveragePrecision: the scores and targets are kept (cat states) and ranked at compute.
template <class Derived, bool AUC>
class Ranking : public MetricBase<Derived> {
 public:
  explicit Ranking(ClassificationOptions o) : opt_(o), n_(classes_of(o, Derived::metric_name)) {
    if (o.task == Task::multiclass && o.average == Average::micro)
      throw Error(fmt::format("kiln: {} one-vs-rest takes average macro, weighted or none, not micro", Derived::metric_name));
    const auto k = o.task == Task::binary ? 0 : n_;
    scores_ = this->add_state("scores", o.task == Task::binary ? at::zeros({0}, at::kDouble) : at::zeros({0, k}, at::kDouble), Sync::cat);
    target_ = this->add_state("target", o.task == Task::multilabel ? at::zeros({0, k}, at::kLong) : at::zeros({0}, at::kLong), Sync::cat);
  }

  void update_state(const at::Tensor& preds, const at::Tensor& target) {
    const auto name = Derived::metric_name;
    if (!at::isFloatingType(preds.scalar_type()))
      throw Error(fmt::format("kiln: {} needs scores (floating point), got {}", name, c10::toString(preds.scalar_type())));
    if (at::isFloatingType(target.scalar_type()))
      throw Error(fmt::format("kiln: {} target must hold integer labels, got {}", name, c10::toString(target.scalar_type())));
    const bool mc = opt_.task == Task::multiclass;
    const bool ok = opt_.task == Task::binary ? preds.dim() == 1 && preds.sizes() == target.sizes()
                  : mc ? preds.dim() == 2 && preds.size(1) == n_ && target.dim() == 1 && target.size(0) == preds.size(0)
                       : preds.dim() == 2 && preds.size(1) == n_ && preds.sizes() == target.sizes();
    if (!ok)
      throw Error(fmt::format("kiln: {} got preds {} and target {}; expected {}", name, preds.sizes(), target.sizes(),
                              opt_.task == Task::binary ? "[N] and [N]"
                              : mc ? fmt::format("[N, {}] and [N]", n_) : fmt::format("[N, {0}] and [N, {0}]", n_)));
    if (opt_.validate_args) check_range(target, 0, mc ? n_ - 1 : 1, name, "target");
    this->append(scores_, preds);
    this->append(target_, target);
  }

  at::Tensor compute_state() const {
    auto s = this->cat(scores_);
    auto t = this->cat(target_);
    if (s.size(0) == 0)
      throw Error(fmt::format("kiln: {}.compute() needs at least one sample; none was given since reset()", Derived::metric_name));
    if (opt_.task == Task::binary) return binary_ranking<AUC>(s, t == 1, Derived::metric_name, -1);
    std::vector<at::Tensor> per;
    for (long c = 0; c < n_; ++c) {
      auto pos = opt_.task == Task::multiclass ? t == c : t.select(1, c) == 1;
      per.push_back(binary_ranking<AUC>(s.select(1, c), pos, Derived::metric_name, c));
    }
    auto v = at::stack(per);
    auto support = opt_.task == Task::multiclass ? at::bincount(t, {}, n_).to(at::kDouble) : t.sum(0).to(at::kDouble);
    switch (opt_.average) {
      case Average::macro: return v.mean();
      case Average::weighted: return (v * support).sum() / support.sum();
      case Average::none: return v;
      case Average::micro: {  // multilabel: pool every (sample, label) pair
        return binary_ranking<AUC>(s.flatten(), t.flatten() == 1, Derived::metric_name, -1);
      }
    }
    return v;
  }

 private:
  ClassificationOptions opt_;
  std::int64_t n_;
  int scores_, target_;
};
}  // namespace detail

/// Area under the ROC curve (scikit-learn's roc_auc_score): binary; multiclass one-vs-rest
/// (macro, weighted by prevalence, or none); multilabel (micro too). Scores need not be
/// probabilities: only their order counts, ties share a point. A class with no positive (or no
/// negative) sample has no ROC curve: compute() names it in a kiln::Error.
class AUROC : public detail::Ranking<AUROC, true> {
 public:
  static constexpr std::string_view metric_name = "AUROC";
  explicit AUROC(ClassificationOptions o = {.task = Task::binary}) : Ranking(o) {}
};

/// Average precision, Σ (R_n − R_{n−1}) P_n over the distinct scores (scikit-learn's
/// average_precision_score); the same tasks and averages as AUROC. A class without positives is
/// a kiln::Error.
class AveragePrecision : public detail::Ranking<AveragePrecision, false> {
 public:
  static constexpr std::string_view metric_name = "AveragePrecision";
  explicit AveragePrecision(ClassificationOptions o = {.task = Task::binary}) : Ranking(o) {}
};

}  // namespace kiln::metrics
