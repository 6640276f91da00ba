// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/classification/inputs.hpp — classification tasks and options, and the checks on preds and target.
#pragma once
#include <cstdint>
#include <string_view>

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>

namespace kiln::metrics {

/// binary: preds [N] (scores, probabilities or 0/1), target [N] in {0, 1}.
/// multiclass: preds [N, C] scores or [N] labels, target [N] in [0, C).
/// multilabel: preds and target [N, L]; each of the L labels is a binary problem.
enum class Task { binary, multiclass, multilabel };

/// How per-class values become one: micro (pool the counts), macro (mean over classes),
/// weighted (mean weighted by each class's support), none (one value per class).
enum class Average { micro, macro, weighted, none };

/// Options shared by the classification metrics (torchmetrics' names).
struct ClassificationOptions {
  Task task = Task::multiclass;
  std::int64_t num_classes = 0;  ///< multiclass: C
  std::int64_t num_labels = 0;   ///< multilabel: L
  /// binary and multilabel: a score at or above it predicts 1. Scores outside [0, 1] are taken
  /// as logits and go through a sigmoid first, as torchmetrics does.
  double threshold = 0.5;
  Average average = Average::micro;
  std::int64_t top_k = 1;         ///< multiclass Accuracy and Recall: a hit if the target is in the k best
  bool subset_accuracy = false;   ///< multilabel Accuracy: a sample counts only if all its labels are right
  /// Checks target values (and label preds) are in range; costs a device read per update.
  bool validate_args = true;
};

namespace detail {

/// The number of classes (multiclass), labels (multilabel) or 1 (binary); checks the options.
inline std::int64_t classes_of(const ClassificationOptions& o, std::string_view metric) {
  switch (o.task) {
    case Task::binary: return 1;
    case Task::multiclass:
      if (o.num_classes < 2)
        throw Error(fmt::format("kiln: {} with task multiclass needs num_classes >= 2, got {}", metric, o.num_classes));
      if (o.top_k < 1 || o.top_k > o.num_classes)
        throw Error(fmt::format("kiln: {} top_k must be in 1..{}, got {}", metric, o.num_classes, o.top_k));
      return o.num_classes;
    case Task::multilabel:
      if (o.num_labels < 1)
        throw Error(fmt::format("kiln: {} with task multilabel needs num_labels >= 1, got {}", metric, o.num_labels));
      return o.num_labels;
  }
  return 1;
}

inline void check_range(const at::Tensor& t, std::int64_t lo, std::int64_t hi, std::string_view metric,
                        std::string_view what) {
  if (t.numel() == 0) return;
  const auto mn = t.min().item<std::int64_t>(), mx = t.max().item<std::int64_t>();
  if (mn < lo || mx > hi)
    throw Error(fmt::format("kiln: {} {} must be in [{}, {}], got a value {}", metric, what, lo, hi, mn < lo ? mn : mx));
}

/// Probabilities from scores: a sigmoid unless every value already lies in [0, 1].
inline at::Tensor as_probabilities(const at::Tensor& p) {
  if (p.numel() == 0) return p;
  auto outside = at::logical_or(p < 0, p > 1).any();
  return outside.item<bool>() ? p.sigmoid() : p;
}

/// Binary / multilabel inputs as 0/1 int64 [N, L] (preds, target).
inline std::pair<at::Tensor, at::Tensor> binary_labels(const at::Tensor& preds, const at::Tensor& target,
                                                       const ClassificationOptions& o, std::string_view metric) {
  const std::int64_t L = classes_of(o, metric);
  if (preds.sizes() != target.sizes())
    throw Error(fmt::format("kiln: {} needs preds and target of the same shape, got {} and {}", metric,
                            preds.sizes(), target.sizes()));
  if (o.task == Task::multilabel && (target.dim() != 2 || target.size(1) != L))
    throw Error(fmt::format("kiln: {} multilabel target must be [N, {}], got {}", metric, L, target.sizes()));
  if (at::isFloatingType(target.scalar_type()))
    throw Error(fmt::format("kiln: {} target must hold integer labels, got {}", metric, c10::toString(target.scalar_type())));
  if (o.validate_args) check_range(target, 0, 1, metric, "target");
  at::Tensor p;
  if (at::isFloatingType(preds.scalar_type())) {
    p = (as_probabilities(preds) >= o.threshold).to(at::kLong);
  } else {
    if (o.validate_args) check_range(preds, 0, 1, metric, "preds");
    p = preds.to(at::kLong);
  }
  return {p.reshape({-1, L}), target.to(at::kLong).reshape({-1, L})};
}

/// Multiclass inputs: (preds as [N, k] class indices, best first; target [N]).
inline std::pair<at::Tensor, at::Tensor> multiclass_labels(const at::Tensor& preds, const at::Tensor& target,
                                                           const ClassificationOptions& o, std::string_view metric) {
  const std::int64_t C = classes_of(o, metric);
  if (target.dim() != 1 || at::isFloatingType(target.scalar_type()))
    throw Error(fmt::format("kiln: {} multiclass target must be integer labels [N], got {} of {}", metric,
                            target.sizes(), c10::toString(target.scalar_type())));
  if (o.validate_args) check_range(target, 0, C - 1, metric, "target");
  if (at::isFloatingType(preds.scalar_type())) {
    if (preds.dim() != 2 || preds.size(0) != target.size(0) || preds.size(1) != C)
      throw Error(fmt::format("kiln: {} multiclass scores must be [{}, {}], got {}", metric, target.size(0), C,
                              preds.sizes()));
    return {o.top_k == 1 ? preds.argmax(1, true) : std::get<1>(preds.topk(o.top_k, 1)), target.to(at::kLong)};
  }
  if (preds.sizes() != target.sizes())
    throw Error(fmt::format("kiln: {} multiclass label preds must be [{}], got {}", metric, target.size(0), preds.sizes()));
  if (o.top_k > 1)
    throw Error(fmt::format("kiln: {} top_k = {} needs scores [N, C], not labels", metric, o.top_k));
  if (o.validate_args) check_range(preds, 0, C - 1, metric, "preds");
  return {preds.to(at::kLong).unsqueeze(1), target.to(at::kLong)};
}

/// a / b, and 0 where b is 0 (scikit-learn's zero_division=0).
inline at::Tensor safe_div(const at::Tensor& a, const at::Tensor& b) {
  auto bd = b.to(at::kDouble);
  return at::where(bd == 0, at::zeros_like(bd), a.to(at::kDouble) / at::where(bd == 0, at::ones_like(bd), bd));
}

}  // namespace detail
}  // namespace kiln::metrics
