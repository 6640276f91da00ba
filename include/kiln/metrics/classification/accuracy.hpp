// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/classification/accuracy.hpp — Accuracy: binary, multiclass (top-k), multilabel.
#pragma once
#include <kiln/metrics/classification/stat_scores.hpp>

namespace kiln::metrics {

/// The fraction of correct predictions (torchmetrics' Accuracy, scikit-learn's accuracy_score).
/// - multiclass micro: correct / samples (with top_k: target among the k best, as
///   top_k_accuracy_score); macro: the mean recall over the classes present in the target
///   (balanced_accuracy_score); weighted equals micro; none: recall per class.
/// - multilabel: the fraction of right labels (1 − hamming_loss), or, with subset_accuracy,
///   the fraction of samples with every label right (accuracy_score).
class Accuracy : public StatScores<Accuracy> {
 public:
  static constexpr std::string_view metric_name = "Accuracy";
  explicit Accuracy(ClassificationOptions o = {}) : StatScores(o) {}

  at::Tensor compute_state() const {
    auto c = counts();
    switch (opt_.task) {
      case Task::binary: return ((c.tp + c.tn) / c.samples).reshape({});
      case Task::multilabel: {
        if (opt_.subset_accuracy) return c.exact / c.samples;
        auto per_label = (c.tp + c.tn) / c.samples;
        if (opt_.average == Average::none) return per_label;
        if (opt_.average == Average::weighted) return detail::safe_div((per_label * (c.tp + c.fn)).sum(), (c.tp + c.fn).sum());
        return per_label.mean();  // micro and macro agree: every label sees every sample
      }
      case Task::multiclass: {
        auto support = c.tp + c.fn;
        auto recall = detail::safe_div(c.tp, support);
        switch (opt_.average) {
          case Average::micro:
          case Average::weighted: return c.tp.sum() / c.samples;
          case Average::macro: return recall.masked_select(support > 0).mean();
          case Average::none: return recall;
        }
      }
    }
    return {};
  }
};

}  // namespace kiln::metrics
