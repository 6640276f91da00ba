// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/classification/confusion_matrix.hpp — ConfusionMatrix (rows: target, columns: prediction).
#pragma once
#include <kiln/core/error.hpp>
#include <kiln/metrics/classification/inputs.hpp>
#include <kiln/metrics/metric.hpp>

namespace kiln::metrics {

/// How ConfusionMatrix normalizes: counts; rows (by target); columns (by prediction); by the total.
enum class Normalize { none, true_, pred, all };

/// Counts as scikit-learn's confusion_matrix: [C, C] with entry (i, j) = samples of class i
/// predicted as j; binary [2, 2]; multilabel [L, 2, 2] per label ([[tn, fp], [fn, tp]], as
/// multilabel_confusion_matrix). Normalized rows or columns with no samples are 0.
class ConfusionMatrix : public MetricBase<ConfusionMatrix> {
 public:
  static constexpr std::string_view metric_name = "ConfusionMatrix";
  explicit ConfusionMatrix(ClassificationOptions o = {}, Normalize normalize = Normalize::none)
      : opt_(o), n_(detail::classes_of(o, metric_name)), normalize_(normalize) {
    if (o.task == Task::multiclass && o.top_k != 1)
      throw Error("kiln: ConfusionMatrix takes top_k = 1 only");
    const auto k = o.task == Task::multiclass ? n_ : 2;
    counts_ = add_state("counts", o.task == Task::multilabel ? at::zeros({n_, 2, 2}, at::kLong) : at::zeros({k, k}, at::kLong),
                        Sync::sum);
  }

  void update_state(const at::Tensor& preds, const at::Tensor& target) {
    if (opt_.task == Task::multiclass) {
      auto [top, t] = detail::multiclass_labels(preds, target, opt_, metric_name);
      value(counts_) += at::bincount(t * n_ + top.squeeze(1), {}, n_ * n_).reshape({n_, n_});
    } else {
      auto [p, t] = detail::binary_labels(preds, target, opt_, metric_name);
      // cell index per label: 2 * target + pred, offset by 4 * label
      auto cell = 2 * t + p + 4 * at::arange(n_, p.options()).unsqueeze(0);
      auto c = at::bincount(cell.flatten(), {}, 4 * n_).reshape({n_, 2, 2});
      value(counts_) += opt_.task == Task::binary ? c[0] : c;
    }
  }

  at::Tensor compute_state() const {
    const auto& c = value(counts_);
    switch (normalize_) {
      case Normalize::none: return c;
      case Normalize::true_: return detail::safe_div(c, c.sum(-1, true).expand_as(c));
      case Normalize::pred: return detail::safe_div(c, c.sum(-2, true).expand_as(c));
      case Normalize::all: return detail::safe_div(c, c.sum({-2, -1}, true).expand_as(c));
    }
    return c;
  }

 private:
  ClassificationOptions opt_;
  std::int64_t n_;
  Normalize normalize_;
  int counts_;
};

}  // namespace kiln::metrics
