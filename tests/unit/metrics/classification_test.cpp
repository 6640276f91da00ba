// SPDX-License-Identifier: Apache-2.0
// tests/unit/metrics/metrics_test.cpp — kiln::metrics against scikit-learn's values (sklearn_fixtures.hpp),
// edge cases, forward/sync/state_dict, arithmetic, collections and logging from a fit.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks/lambda_callback.hpp>
#include <kiln/metrics.hpp>
#include <kiln/trainer.hpp>

#include "sklearn_fixtures.hpp"

namespace {

using namespace kiln::metrics;
namespace fx = sklearn_fixtures;
using Catch::Matchers::Contains;

torch::Tensor D(const std::vector<double>& v) { return torch::tensor(v, torch::kDouble); }
torch::Tensor L(const std::vector<long>& v) { return torch::tensor(std::vector<int64_t>(v.begin(), v.end()), torch::kLong); }

/// The tensor equals scikit-learn's value `key` element by element, to 1e-9.
void matches(const torch::Tensor& got, const std::string& key) {
  INFO(key);
  const auto& want = fx::expected.at(key);
  auto g = got.to(torch::kDouble).flatten().contiguous();
  REQUIRE(g.numel() == static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) CHECK(g[i].item<double>() == Approx(want[i]).margin(1e-9).epsilon(1e-9));
}

/// Feeds (preds, target) to `m` in batches of 37 rows, so that state accumulation is tested too.
template <class M>
torch::Tensor batched(M m, const torch::Tensor& p, const torch::Tensor& t) {
  for (int64_t i = 0; i < p.size(0); i += 37) m.update(p.slice(0, i, i + 37), t.slice(0, i, i + 37));
  return m.compute();
}

const ClassificationOptions binary{.task = Task::binary};
ClassificationOptions mc(Average a = Average::micro) { return {.task = Task::multiclass, .num_classes = 5, .average = a}; }
ClassificationOptions ml(Average a = Average::micro) { return {.task = Task::multilabel, .num_labels = 4, .average = a}; }

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

TEST_CASE("regression metrics equal scikit-learn's, one output and three", "[metrics]") {
  auto p = D(fx::reg_preds), t = D(fx::reg_target);
  matches(batched(MeanSquaredError(), p, t), "reg.mse");
  matches(batched(RootMeanSquaredError(), p, t), "reg.rmse");
  matches(batched(MeanAbsoluteError(), p, t), "reg.mae");
  matches(batched(R2Score(), p, t), "reg.r2");
  matches(batched(ExplainedVariance(), p, t), "reg.ev");
  auto p3 = D(fx::reg3_preds).reshape({-1, 3}), t3 = D(fx::reg3_target).reshape({-1, 3});
  matches(batched(MeanSquaredError(true, 3), p3, t3), "reg3.mse");
  matches(batched(RootMeanSquaredError(3), p3, t3), "reg3.rmse");
  matches(batched(MeanAbsoluteError(3), p3, t3), "reg3.mae");
  matches(batched(R2Score(3), p3, t3), "reg3.r2");
  matches(batched(ExplainedVariance(3), p3, t3), "reg3.ev");
  auto c = torch::full({10}, 2.0, torch::kDouble), ramp = torch::linspace(1, 3, 10, torch::kDouble);
  matches(functional::r2_score(ramp, c), "reg_const.r2");
  matches(functional::r2_score(c, c), "reg_const.r2_perfect");
  matches(functional::explained_variance(ramp, c), "reg_const.ev");
}

TEST_CASE("a constant target whose one-pass variance rounds to a residue still scores 0, not -1e14",
          "[metrics][regression]") {
  // 200 samples of 0.7 in five uneven batches: Σy² − (Σy)²/n is 2.8e-14, not 0 (found by the
  // comparison with torchmetrics).
  const auto target = torch::full({200}, 0.7, torch::kDouble), preds = torch::linspace(0, 1, 200, torch::kDouble);
  R2Score r2;
  ExplainedVariance ev;
  std::int64_t at = 0;
  for (std::int64_t size : {37, 50, 23, 64, 26}) {
    r2.update(preds.narrow(0, at, size), target.narrow(0, at, size));
    ev.update(preds.narrow(0, at, size), target.narrow(0, at, size));
    at += size;
  }
  CHECK(r2.compute().item<double>() == 0.0);
  CHECK(ev.compute().item<double>() == 0.0);
  R2Score perfect;
  perfect.update(target, target);
  CHECK(perfect.compute().item<double>() == 1.0);
}

TEST_CASE("empty states and undefined values are errors that name the metric", "[metrics]") {
  CHECK_THROWS_WITH(Accuracy(mc()).compute(), Contains("Accuracy.compute() needs at least one sample"));
  CHECK_THROWS_WITH(AUROC().compute(), Contains("AUROC.compute() needs at least one sample"));
  CHECK_THROWS_WITH(MeanSquaredError().compute(), Contains("MeanSquaredError.compute() needs at least one sample"));
  CHECK_THROWS_WITH(MeanMetric().compute(), Contains("MeanMetric.compute()"));
  CHECK_THROWS_WITH(MaxMetric().compute(), Contains("MaxMetric.compute()"));
  CHECK(SumMetric().compute().item<double>() == 0.0);
  // one class only in the target: scikit-learn raises, so does kiln, naming the class
  CHECK_THROWS_WITH(functional::auroc(D({0.1, 0.9}), L({1, 1})), Contains("no negative sample"));
  auto p = D(fx::mc_probs).reshape({-1, 5}).slice(0, 0, 20);
  auto t = torch::zeros({20}, torch::kLong);
  CHECK_THROWS_WITH(functional::auroc(p, t, mc(Average::macro)), Contains("(class 0)") && Contains("no negative"));
  CHECK_THROWS_WITH(functional::average_precision(D({0.1, 0.9}), L({0, 0})), Contains("no positive sample"));
  // bad input
  CHECK_THROWS_WITH(functional::accuracy(p, L(std::vector<long>(20, 7)), mc()), Contains("target must be in [0, 4], got a value 7"));
  CHECK_THROWS_WITH(functional::accuracy(p.slice(1, 0, 3), t, mc()), Contains("multiclass scores must be [20, 5]"));
  CHECK_THROWS_WITH(Accuracy({.task = Task::multiclass}), Contains("num_classes >= 2"));
  CHECK_THROWS_WITH(functional::mean_squared_error(D({1, 2}), D({1, 2, 3})), Contains("same shape") || Contains("one shape"));
  CHECK_THROWS_WITH(AUROC(mc()), Contains("not micro"));
}

TEST_CASE("forward gives the batch's value and accumulates; reset, state_dict and the device follow", "[metrics]") {
  Accuracy acc(mc());
  auto p = D(fx::mc_probs).reshape({-1, 5}), t = L(fx::mc_target);
  auto b1 = acc(p.slice(0, 0, 100), t.slice(0, 0, 100));
  CHECK(b1.item<double>() == Approx(functional::accuracy(p.slice(0, 0, 100), t.slice(0, 0, 100), mc()).item<double>()));
  auto b2 = acc(p.slice(0, 100), t.slice(0, 100));
  CHECK(b2.item<double>() == Approx(functional::accuracy(p.slice(0, 100), t.slice(0, 100), mc()).item<double>()));
  matches(acc.compute(), "mc.accuracy");
  CHECK(acc.forward_cache().item<double>() == b2.item<double>());
  // state_dict into a fresh metric gives the same value, and further updates accumulate on it
  auto state = acc.state_dict();
  Accuracy again(mc());
  again.load_state_dict(state);
  matches(again.compute(), "mc.accuracy");
  AUROC au(binary);
  au.update(D(fx::binary_scores).slice(0, 0, 50), L(fx::binary_target).slice(0, 0, 50));
  AUROC au2(binary);
  au2.load_state_dict(au.state_dict());
  au2.update(D(fx::binary_scores).slice(0, 50), L(fx::binary_target).slice(0, 50));
  matches(au2.compute(), "binary.auroc");
  CHECK_THROWS_WITH(Accuracy(mc()).load_state_dict({{"tp", torch::zeros({3}, torch::kLong)}}), Contains("\"tp\" has shape [3]"));
  acc.reset();
  CHECK_THROWS(acc.compute());
  // without a process group the collectives are the identity
  CHECK(kiln::dist::world_size() == 1);
  CHECK(kiln::dist::rank() == 0);
  CHECK(kiln::dist::all_reduce(torch::ones({2})).sum().item<double>() == 2.0);
  CHECK(kiln::dist::all_gather(torch::ones({3})).size() == 1);
  again.sync();
  matches(again.compute(), "mc.accuracy");
}

TEST_CASE("aggregation metrics: mean, sum, min, max, running average, loss", "[metrics]") {
  MeanMetric mean;
  mean.update(torch::tensor({1.0, 2.0, 3.0}));
  mean.update(10.0, 3.0);
  CHECK(mean.compute().item<double>() == Approx((1 + 2 + 3 + 30) / 6.0));
  SumMetric sum;
  sum.update(torch::tensor({1.0, 2.0}));
  sum.update(4.0);
  CHECK(sum.compute().item<double>() == 7.0);
  MinMetric mn;
  MaxMetric mx;
  for (double v : {3.0, -1.0, 7.0}) {
    mn.update(v);
    mx.update(v);
  }
  CHECK(mn.compute().item<double>() == -1.0);
  CHECK(mx.compute().item<double>() == 7.0);
  RunningAverage ra(0.5);
  ra.update(4.0);
  ra.update(8.0);
  CHECK(ra.compute().item<double>() == 6.0);
  CHECK(ra(2.0).item<double>() == 4.0);
  Loss loss([](const torch::Tensor& p, const torch::Tensor& t) { return torch::mse_loss(p, t); });
  loss.update(torch::zeros({3}), torch::ones({3}));       // 1 over 3 samples
  loss.update(torch::zeros({1}), torch::full({1}, 3.0));  // 9 over 1 sample
  CHECK(loss.compute().item<double>() == Approx((3 * 1 + 9) / 4.0));
}

TEST_CASE("metric arithmetic feeds each operand once and equals the formula", "[metrics]") {
  auto p = D(fx::mc_probs).reshape({-1, 5}), t = L(fx::mc_target);
  Precision prec(mc(Average::none));
  Recall rec(mc(Average::none));
  auto f1 = 2 * prec * rec / (prec + rec);  // Ignite's example: per-class F1, then averaged below
  auto f1_macro = lambda([](const at::Tensor& v) { return at::nan_to_num(v).mean(); }, f1);
  for (int64_t i = 0; i < p.size(0); i += 50) f1_macro.update(p.slice(0, i, i + 50), t.slice(0, i, i + 50));
  // each operand saw the data once, although prec and rec appear twice each
  matches(prec.compute(), "mc.precision_none");
  matches(rec.compute(), "mc.recall_none");
  matches(f1_macro.compute(), "mc.f1_macro");
  // temporaries are owned by the expression; scalars on either side
  auto err = 1.0 - Accuracy(mc());
  err.update(p, t);
  CHECK(err.compute().item<double>() == Approx(1.0 - fx::expected.at("mc.accuracy")[0]));
  auto st = err.state_dict();
  CHECK(st.count("0.tp") == 1);
  f1_macro.reset();
  CHECK_THROWS(prec.compute());
  static_assert(Metric<decltype(f1)>, "a composed metric is a metric");
}

TEST_CASE("a collection updates its metrics with one call and names them with its prefix", "[metrics]") {
  auto p = D(fx::mc_probs).reshape({-1, 5}), t = L(fx::mc_target);
  MetricCollection val{"val/", named("acc", Accuracy(mc())), named("f1", F1Score(mc(Average::macro))),
                       named("cm", ConfusionMatrix(mc()))};
  val.update(p.slice(0, 0, 150), t.slice(0, 0, 150));
  val.update(p.slice(0, 150), t.slice(0, 150));
  auto out = val.compute();
  REQUIRE(out.size() == 3);
  matches(out.at("val/acc"), "mc.accuracy");
  matches(out.at("val/f1"), "mc.f1_macro");
  matches(out.at("val/cm"), "mc.confusion");
  CHECK(val.state_dict().count("cm.counts") == 1);
}

namespace {
/// A 3-class linear classifier whose validation logs Accuracy and F1 objects and a collection.
struct Classifier : torch::nn::Module {
  using Batch = std::pair<torch::Tensor, torch::Tensor>;
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(4, 3))};
  ClassificationOptions o{.task = Task::multiclass, .num_classes = 3};
  Accuracy val_acc{o};
  MetricCollection<F1Score> val_set{"val/", named("f1", F1Score({.task = Task::multiclass, .num_classes = 3, .average = Average::macro}))};
  Accuracy train_acc{o};
  std::vector<torch::Tensor> seen_logits, seen_targets;

  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto logits = fc(b.first);
    train_acc(logits.detach(), b.second);  // forward: this batch's accuracy, logged on step
    ctx.log("train/acc", train_acc);
    return torch::cross_entropy_loss(logits, b.second);
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    auto logits = fc(b.first);
    val_acc.update(logits, b.second);
    val_set.update(logits, b.second);
    ctx.log("val/acc", val_acc);
    val_set.log(ctx);
    seen_logits.push_back(logits.detach());
    seen_targets.push_back(b.second);
  }
  kiln::OptimizerConfig configure_optimizers() {
    return {.optimizer = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1))};
  }
};
}  // namespace

TEST_CASE("a metric logged from validation is computed over the epoch, then reset", "[metrics][trainer]") {
  torch::manual_seed(3);
  std::vector<Classifier::Batch> data;
  for (int i = 0; i < 5; ++i) {
    auto x = torch::randn({10 + i, 4});  // uneven batches: a per-batch mean would differ
    data.emplace_back(x, x.slice(1, 0, 3).argmax(1));
  }
  auto dir = std::filesystem::temp_directory_path() / "kiln_metrics_fit";
  std::filesystem::remove_all(dir);
  Classifier m;
  kiln::Trainer<Classifier, kiln::Loggers<>> trainer({.max_epochs = 2, .num_sanity_val_steps = 0, .default_root_dir = dir,
                                     .enable_progress_bar = false});
  trainer.fit(m, data, data);
  auto& cm = trainer.callback_metrics();
  // the last epoch's validation saw the last 5 batches: the epoch metric is over exactly those
  auto logits = torch::cat(std::vector<torch::Tensor>(m.seen_logits.end() - 5, m.seen_logits.end()));
  auto target = torch::cat(std::vector<torch::Tensor>(m.seen_targets.end() - 5, m.seen_targets.end()));
  ClassificationOptions o{.task = Task::multiclass, .num_classes = 3};
  CHECK(cm.at("val/acc") == Approx(functional::accuracy(logits, target, o).item<double>()).epsilon(1e-12));
  o.average = Average::macro;
  CHECK(cm.at("val/f1") == Approx(functional::f1_score(logits, target, o).item<double>()).epsilon(1e-12));
  // reset at epoch end
  CHECK_THROWS(m.val_acc.compute());
  // train/acc logged on step: the forward value of the batch
  CHECK(cm.count("train/acc") == 1);
  std::filesystem::remove_all(dir);
}

namespace {
/// Logs a train-epoch Accuracy object (on_epoch only) and an AUROC of the first logit.
struct EpochMetrics : torch::nn::Module {
  using Batch = std::pair<torch::Tensor, torch::Tensor>;
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(4, 3))};
  Accuracy acc{{.task = Task::multiclass, .num_classes = 3}};
  AUROC auroc{{.task = Task::binary}};
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto logits = fc(b.first);
    acc.update(logits.detach(), b.second);
    auroc.update(logits.detach().select(1, 0), (b.second == 0).to(torch::kLong));
    ctx.log("train/acc", acc, {.on_step = false, .on_epoch = true});
    ctx.log("train/auroc", auroc, {.on_step = false, .on_epoch = true});
    return torch::cross_entropy_loss(logits, b.second);
  }
  kiln::OptimizerConfig configure_optimizers() {
    return {.optimizer = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.5))};
  }
};
}  // namespace

TEST_CASE("a checkpoint mid-epoch keeps logged metrics' states: the resumed epoch's value is the whole epoch's", "[metrics][checkpoint]") {
  torch::manual_seed(5);
  std::vector<EpochMetrics::Batch> data;
  for (int i = 0; i < 8; ++i) {
    auto x = torch::randn({16, 4});
    data.emplace_back(x, (x.slice(1, 0, 3) + 0.8 * torch::randn({16, 3})).argmax(1));
  }
  const auto dir = std::filesystem::temp_directory_path() / "kiln_metrics_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto ckpt = dir / "step5.ckpt";
  kiln::TrainerConfig cfg{.max_epochs = 1, .default_root_dir = dir, .enable_progress_bar = false};
  double whole_acc, whole_auroc;
  {
    torch::manual_seed(1);
    EpochMetrics m;
    auto save = kiln::lambda_callback([&](const kiln::event::train_batch_end&, auto& t) {
      if (t.state().global_step == 5) t.save_checkpoint(ckpt);
    });
    kiln::Trainer<EpochMetrics, kiln::Loggers<>, kiln::Callbacks<decltype(save)>> t(cfg, save);
    t.fit(m, data);
    whole_acc = t.callback_metrics().at("train/acc");
    whole_auroc = t.callback_metrics().at("train/auroc");
  }
  torch::manual_seed(99);  // the resumed run's weights come from the checkpoint
  EpochMetrics m;
  kiln::Trainer<EpochMetrics, kiln::Loggers<>> t(cfg);
  t.fit(m, data, {.ckpt_path = ckpt});
  CHECK(t.callback_metrics().at("train/acc") == whole_acc);
  CHECK(t.callback_metrics().at("train/auroc") == whole_auroc);
  CHECK(m.acc.state_dict().at("samples").item<int64_t>() == 0);  // reset after the epoch
  std::filesystem::remove_all(dir);
}
