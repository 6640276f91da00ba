// SPDX-License-Identifier: Apache-2.0
// tests/unit/metrics/classification_test.cpp — the classification metrics (metrics/classification/) against scikit-learn: binary, multiclass, multilabel.
#include <string>
#include <utility>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/metrics.hpp>

#include "metrics_fixture.hpp"
#include "sklearn_fixtures.hpp"

namespace {

using namespace kiln::metrics;
namespace fx = sklearn_fixtures;

using metrics_fixture::batched;
using metrics_fixture::binary;
using metrics_fixture::D;
using metrics_fixture::L;
using metrics_fixture::matches;
using metrics_fixture::mc;
using metrics_fixture::ml;

}  // namespace

TEST_CASE("binary classification metrics equal scikit-learn's", "[metrics]") {
  auto s = D(fx::binary_scores), t = L(fx::binary_target);
  matches(batched(Accuracy(binary), s, t), "binary.accuracy");
  matches(batched(Precision(binary), s, t), "binary.precision");
  matches(batched(Recall(binary), s, t), "binary.recall");
  matches(batched(F1Score(binary), s, t), "binary.f1");
  matches(batched(FBetaScore(2.0, binary), s, t), "binary.f2");
  matches(batched(ConfusionMatrix(binary), s, t), "binary.confusion");
  matches(batched(AUROC(binary), s, t), "binary.auroc");
  matches(batched(AveragePrecision(binary), s, t), "binary.ap");
  // label preds give the same as scores thresholded at 0.5; logits go through a sigmoid
  matches(functional::accuracy((s >= 0.5).to(torch::kLong), t, binary), "binary.accuracy");
  matches(functional::f1_score(torch::logit(s), t, binary), "binary.f1");
  auto st = D(fx::binary_tied_scores);
  matches(batched(AUROC(binary), st, t), "binary_tied.auroc");
  matches(batched(AveragePrecision(binary), st, t), "binary_tied.ap");
  auto eq = torch::full({s.size(0)}, 0.3, torch::kDouble);
  matches(functional::auroc(eq, t), "binary_equal.auroc");
  matches(functional::average_precision(eq, t), "binary_equal.ap");
}

TEST_CASE("multiclass classification metrics equal scikit-learn's", "[metrics]") {
  auto p = D(fx::mc_probs).reshape({-1, 5}), t = L(fx::mc_target);
  matches(batched(Accuracy(mc()), p, t), "mc.accuracy");
  matches(batched(Accuracy(mc(Average::macro)), p, t), "mc.accuracy_macro");
  auto top2 = mc();
  top2.top_k = 2;
  matches(batched(Accuracy(top2), p, t), "mc.top2");
  for (auto [a, k] : {std::pair{Average::micro, "micro"}, {Average::macro, "macro"}, {Average::weighted, "weighted"},
                      {Average::none, "none"}}) {
    matches(batched(Precision(mc(a)), p, t), std::string("mc.precision_") + k);
    matches(batched(Recall(mc(a)), p, t), std::string("mc.recall_") + k);
    matches(batched(F1Score(mc(a)), p, t), std::string("mc.f1_") + k);
  }
  matches(batched(FBetaScore(0.5, mc(Average::macro)), p, t), "mc.f05_macro");
  matches(batched(ConfusionMatrix(mc()), p, t), "mc.confusion");
  matches(batched(ConfusionMatrix(mc(), Normalize::true_), p, t), "mc.confusion_true");
  matches(batched(ConfusionMatrix(mc(), Normalize::pred), p, t), "mc.confusion_pred");
  matches(batched(ConfusionMatrix(mc(), Normalize::all), p, t), "mc.confusion_all");
  matches(batched(AUROC(mc(Average::macro)), p, t), "mc.auroc_macro");
  matches(batched(AUROC(mc(Average::weighted)), p, t), "mc.auroc_weighted");
  matches(batched(AveragePrecision(mc(Average::macro)), p, t), "mc.ap_macro");
  matches(batched(AveragePrecision(mc(Average::weighted)), p, t), "mc.ap_weighted");
  // label preds in place of scores
  matches(functional::accuracy(p.argmax(1), t, mc()), "mc.accuracy");
}

TEST_CASE("a class never predicted counts as precision 0, as scikit-learn's zero_division=0", "[metrics]") {
  auto p4 = L(fx::mc_never4_preds), t = L(fx::mc_target);
  matches(batched(Precision(mc(Average::macro)), p4, t), "mc_never4.precision_macro");
  matches(batched(F1Score(mc(Average::macro)), p4, t), "mc_never4.f1_macro");
  matches(batched(Precision(mc(Average::none)), p4, t), "mc_never4.precision_none");
}

TEST_CASE("multilabel classification metrics equal scikit-learn's", "[metrics]") {
  auto s = D(fx::ml_scores).reshape({-1, 4}), t = L(fx::ml_target).reshape({-1, 4});
  auto subset = ml();
  subset.subset_accuracy = true;
  matches(batched(Accuracy(subset), s, t), "ml.subset_accuracy");
  matches(batched(Accuracy(ml()), s, t), "ml.label_accuracy");
  for (auto [a, k] : {std::pair{Average::micro, "micro"}, {Average::macro, "macro"}, {Average::weighted, "weighted"}}) {
    matches(batched(Precision(ml(a)), s, t), std::string("ml.precision_") + k);
    matches(batched(Recall(ml(a)), s, t), std::string("ml.recall_") + k);
    matches(batched(F1Score(ml(a)), s, t), std::string("ml.f1_") + k);
  }
  matches(batched(ConfusionMatrix(ml()), s, t), "ml.confusion");
  matches(batched(AUROC(ml(Average::macro)), s, t), "ml.auroc_macro");
  matches(batched(AUROC(ml(Average::micro)), s, t), "ml.auroc_micro");
  matches(batched(AveragePrecision(ml(Average::macro)), s, t), "ml.ap_macro");
  matches(batched(AveragePrecision(ml(Average::micro)), s, t), "ml.ap_micro");
}
