// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/functional.hpp — one-call forms of the metrics, for one batch or a whole tensor (not synced).
#pragma once
#include <kiln/metrics/aggregation.hpp>
#include <kiln/metrics/classification/accuracy.hpp>
#include <kiln/metrics/classification/confusion_matrix.hpp>
#include <kiln/metrics/classification/precision_recall.hpp>
#include <kiln/metrics/classification/ranking.hpp>
#include <kiln/metrics/regression.hpp>

namespace kiln::metrics::functional {
namespace detail {
/// The metric of these inputs alone, on this process.
template <class M, class... A>
at::Tensor once(M m, const A&... args) {
  m.update(args...);
  return m.compute_state();
}
}  // namespace detail

using P = const at::Tensor&;
inline at::Tensor accuracy(P preds, P target, ClassificationOptions o = {}) { return detail::once(Accuracy(o), preds, target); }
inline at::Tensor precision(P preds, P target, ClassificationOptions o = {}) { return detail::once(Precision(o), preds, target); }
inline at::Tensor recall(P preds, P target, ClassificationOptions o = {}) { return detail::once(Recall(o), preds, target); }
inline at::Tensor f1_score(P preds, P target, ClassificationOptions o = {}) { return detail::once(F1Score(o), preds, target); }
inline at::Tensor fbeta_score(P preds, P target, double beta, ClassificationOptions o = {}) {
  return detail::once(FBetaScore(beta, o), preds, target);
}
inline at::Tensor confusion_matrix(P preds, P target, ClassificationOptions o = {}, Normalize n = Normalize::none) {
  return detail::once(ConfusionMatrix(o, n), preds, target);
}
inline at::Tensor auroc(P preds, P target, ClassificationOptions o = {.task = Task::binary}) {
  return detail::once(AUROC(o), preds, target);
}
inline at::Tensor average_precision(P preds, P target, ClassificationOptions o = {.task = Task::binary}) {
  return detail::once(AveragePrecision(o), preds, target);
}
inline at::Tensor mean_squared_error(P preds, P target, bool squared = true) {
  return detail::once(MeanSquaredError(squared, preds.dim() == 2 ? preds.size(1) : 1), preds, target);
}
inline at::Tensor mean_absolute_error(P preds, P target) {
  return detail::once(MeanAbsoluteError(preds.dim() == 2 ? preds.size(1) : 1), preds, target);
}
inline at::Tensor r2_score(P preds, P target) { return detail::once(R2Score(preds.dim() == 2 ? preds.size(1) : 1), preds, target); }
inline at::Tensor explained_variance(P preds, P target) {
  return detail::once(ExplainedVariance(preds.dim() == 2 ? preds.size(1) : 1), preds, target);
}

}  // namespace kiln::metrics::functional
