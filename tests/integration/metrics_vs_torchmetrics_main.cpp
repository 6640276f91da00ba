// SPDX-License-Identifier: Apache-2.0
// tests/integration/metrics_vs_torchmetrics_main.cpp — feeds seeded batches to every kiln metric and writes the
// batches and kiln's values to one file, which metrics_vs_torchmetrics.py replays through torchmetrics.
//
// File format, one record a line, fields separated by tabs; a tensor is three fields: dtype (f64 or
// i64), shape (comma-separated, empty for a scalar) and its values (space-separated):
//   input  <data> <batch> preds|target <tensor>
//   kiln   <data> <metric> <options> <tensor>
// The options are space-separated key=value pairs; Python builds the torchmetrics metric from them.
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <kiln/metrics.hpp>

using namespace kiln::metrics;

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;
using Batches = std::vector<Batch>;

// Uneven batch sizes, so that every metric accumulates over updates of different lengths.
const std::vector<int64_t> kSizes{37, 50, 23, 64, 26};

/// "dtype <tab> shape <tab> values"; 17 significant digits give Python back the same doubles.
std::string encode(const torch::Tensor& t) {
  auto c = t.detach().cpu().contiguous();
  const bool fp = c.is_floating_point();
  std::string values;
  if (fp) {
    auto d = c.to(torch::kDouble).flatten();
    for (int64_t i = 0; i < d.numel(); ++i) values += fmt::format("{}{:.17g}", i ? " " : "", d.data_ptr<double>()[i]);
  } else {
    auto l = c.to(torch::kLong).flatten();
    for (int64_t i = 0; i < l.numel(); ++i) values += fmt::format("{}{}", i ? " " : "", l.data_ptr<int64_t>()[i]);
  }
  return fmt::format("{}\t{}\t{}", fp ? "f64" : "i64", fmt::join(c.sizes(), ","), values);
}

const char* average_name(Average a) {
  static const char* names[] = {"micro", "macro", "weighted", "none"};
  return names[static_cast<int>(a)];
}

/// The options as key=value pairs, always with the average (torchmetrics' default is macro, kiln's micro).
std::string describe(const ClassificationOptions& o) {
  switch (o.task) {
    case Task::binary: return fmt::format("task=binary threshold={}", o.threshold);
    case Task::multiclass:
      return fmt::format("task=multiclass num_classes={} average={} top_k={}", o.num_classes, average_name(o.average), o.top_k);
    case Task::multilabel:
      return fmt::format("task=multilabel num_labels={} average={} threshold={}{}", o.num_labels, average_name(o.average),
                         o.threshold, o.subset_accuracy ? " subset_accuracy=1" : "");
  }
  return {};
}

/// kiln's StatScores is the base of Accuracy, Precision and the F-scores; this derived metric exposes its
/// counts as torchmetrics' StatScores with average none does: [tp, fp, tn, fn, support] per class.
class Counts : public StatScores<Counts> {
 public:
  static constexpr std::string_view metric_name = "StatScores";
  explicit Counts(ClassificationOptions o) : StatScores(o) {}
  at::Tensor compute_state() const {
    auto c = counts();
    auto v = at::stack({c.tp, c.fp, c.tn, c.fn, c.tp + c.fn}, -1);
    return opt_.task == Task::binary ? v[0] : v;
  }
};

/// Writes the data sets' batches and, for each metric run on one, the value after all its batches.
class Report {
 public:
  explicit Report(const std::string& path) : out_(path) {
    if (!out_) throw kiln::Error(fmt::format("metrics_vs_torchmetrics: cannot write {}", path));
  }

  /// Splits preds and target into kSizes batches and records them under `name`.
  void data(const std::string& name, const torch::Tensor& preds, const torch::Tensor& target) {
    Batches b;
    int64_t at = 0;
    for (auto n : kSizes) {
      b.emplace_back(preds.slice(0, at, at + n), target.slice(0, at, at + n));
      at += n;
    }
    for (size_t i = 0; i < b.size(); ++i) {
      out_ << fmt::format("input\t{}\t{}\tpreds\t{}\n", name, i, encode(b[i].first));
      out_ << fmt::format("input\t{}\t{}\ttarget\t{}\n", name, i, encode(b[i].second));
    }
    data_[name] = std::move(b);
  }

  /// Updates `m` with every batch of `name` (through `feed`), then records compute().
  template <class M, class Feed>
  void run(const std::string& name, const std::string& metric, const std::string& options, M&& m, Feed feed) {
    for (auto& [p, t] : data_.at(name)) feed(m, p, t);
    out_ << fmt::format("kiln\t{}\t{}\t{}\t{}\n", name, metric, options, encode(m.compute()));
    ++cases_;
  }
  template <class M>
  void run(const std::string& name, const std::string& metric, const std::string& options, M&& m) {
    run(name, metric, options, std::forward<M>(m), [](auto& mm, const auto& p, const auto& t) { mm.update(p, t); });
  }

  int cases() const { return cases_; }

 private:
  std::ofstream out_;
  std::map<std::string, Batches> data_;
  int cases_ = 0;
};

constexpr Average kAverages[] = {Average::micro, Average::macro, Average::weighted, Average::none};

/// Accuracy, precision, recall, F-scores, confusion matrices and counts: every option for the task.
void stat_metrics(Report& r, const std::string& data, ClassificationOptions o) {
  std::vector<Average> averages(std::begin(kAverages), std::end(kAverages));
  if (o.task == Task::binary) averages = {o.average};  // one value: nothing to average
  for (auto a : averages) {
    o.average = a;
    const auto d = describe(o);
    r.run(data, "Accuracy", d, Accuracy(o));
    r.run(data, "Precision", d, Precision(o));
    r.run(data, "Recall", d, Recall(o));
    r.run(data, "F1Score", d, F1Score(o));
    r.run(data, "FBetaScore", d + " beta=2", FBetaScore(2.0, o));
    r.run(data, "FBetaScore", d + " beta=0.5", FBetaScore(0.5, o));
  }
  if (o.task == Task::multilabel) {
    auto subset = o;
    subset.subset_accuracy = true;
    r.run(data, "Accuracy", describe(subset), Accuracy(subset));
  }
  o.average = Average::micro;
  const std::pair<Normalize, const char*> norms[] = {
      {Normalize::none, "none"}, {Normalize::true_, "true"}, {Normalize::pred, "pred"}, {Normalize::all, "all"}};
  for (auto [n, name] : norms)
    r.run(data, "ConfusionMatrix", describe(o) + " normalize=" + name, ConfusionMatrix(o, n));
  r.run(data, "StatScores", describe(o), Counts(o));
}

/// AUROC and AveragePrecision with each average kiln takes for the task.
void ranking_metrics(Report& r, const std::string& data, ClassificationOptions o) {
  std::vector<Average> averages{Average::macro};
  if (o.task == Task::multiclass) averages = {Average::macro, Average::weighted, Average::none};
  if (o.task == Task::multilabel) averages = {Average::micro, Average::macro, Average::weighted, Average::none};
  for (auto a : averages) {
    o.average = a;
    // no threshold or top_k: ranking uses the scores themselves
    std::string d = "task=binary";
    if (o.task == Task::multiclass) d = fmt::format("task=multiclass num_classes={} average={}", o.num_classes, average_name(a));
    if (o.task == Task::multilabel) d = fmt::format("task=multilabel num_labels={} average={}", o.num_labels, average_name(a));
    r.run(data, "AUROC", d, AUROC(o));
    r.run(data, "AveragePrecision", d, AveragePrecision(o));
  }
}

void classification(Report& r) {
  const int64_t N = 200, C = 5, L = 4;
  const ClassificationOptions binary{.task = Task::binary};
  auto bt = torch::randint(0, 2, {N}, torch::kLong);
  r.data("binary", torch::rand({N}, torch::kDouble), bt);
  r.data("binary_logits", 2 * torch::randn({N}, torch::kDouble), bt);  // outside [0, 1]: a sigmoid first
  r.data("binary_labels", torch::randint(0, 2, {N}, torch::kLong), bt);
  r.data("binary_tied", torch::round(5 * torch::rand({N}, torch::kDouble)) / 5, bt);  // six distinct scores
  for (auto d : {"binary", "binary_logits", "binary_labels"}) stat_metrics(r, d, binary);
  auto low = binary;
  low.threshold = 0.3;
  stat_metrics(r, "binary", low);
  for (auto d : {"binary", "binary_logits", "binary_tied"}) ranking_metrics(r, d, binary);
  // scores exactly on the threshold: kiln predicts 1 at >=, torchmetrics at > (the script skips these)
  auto on_grid = binary;
  on_grid.threshold = 0.4;
  r.run("binary_tied", "Accuracy", describe(on_grid), Accuracy(on_grid));
  r.run("binary_tied", "F1Score", describe(on_grid), F1Score(on_grid));

  const ClassificationOptions mc{.task = Task::multiclass, .num_classes = C};
  auto mt = torch::randint(0, C, {N}, torch::kLong);
  r.data("mc", torch::softmax(1.5 * torch::randn({N, C}, torch::kDouble), 1), mt);
  r.data("mc_logits", 3 * torch::randn({N, C}, torch::kDouble), mt);
  r.data("mc_labels", torch::randint(0, C, {N}, torch::kLong), mt);
  for (auto d : {"mc", "mc_logits", "mc_labels"}) stat_metrics(r, d, mc);
  for (auto d : {"mc", "mc_logits"}) {
    ranking_metrics(r, d, mc);
    auto top2 = mc;
    top2.top_k = 2;
    for (auto a : kAverages) {
      top2.average = a;
      r.run(d, "Accuracy", describe(top2), Accuracy(top2));
      r.run(d, "Recall", describe(top2), Recall(top2));
      r.run(d, "Precision", describe(top2), Precision(top2));
      r.run(d, "F1Score", describe(top2), F1Score(top2));
    }
  }
  // six classes, the last neither in the target nor predicted: kiln's macro counts it as 0
  auto six = mc;
  six.num_classes = C + 1;
  r.data("mc_absent", torch::randint(0, C, {N}, torch::kLong), mt);
  stat_metrics(r, "mc_absent", six);
  // arithmetic on metrics: torchmetrics composes metrics with the same operators
  r.run("mc", "1-Accuracy", describe(mc), 1.0 - Accuracy(mc));
  auto none = mc;
  none.average = Average::none;
  r.run("mc", "(Precision+Recall)/2", describe(none), (Precision(none) + Recall(none)) / 2.0);

  const ClassificationOptions ml{.task = Task::multilabel, .num_labels = L};
  auto lt = torch::randint(0, 2, {N, L}, torch::kLong);
  r.data("ml", torch::rand({N, L}, torch::kDouble), lt);
  r.data("ml_logits", 2 * torch::randn({N, L}, torch::kDouble), lt);
  for (auto d : {"ml", "ml_logits"}) {
    stat_metrics(r, d, ml);
    ranking_metrics(r, d, ml);
  }
  auto high = ml;
  high.threshold = 0.7;
  stat_metrics(r, "ml", high);
}

void regression(Report& r) {
  const int64_t N = 200;
  auto y = 3 * torch::randn({N}, torch::kDouble) + 1;
  r.data("reg", y + 0.8 * torch::randn({N}, torch::kDouble) + 0.3, y);
  auto y3 = torch::randn({N, 3}, torch::kDouble) * torch::tensor({1.0, 2.0, 5.0}, torch::kDouble);
  r.data("reg3", y3 + torch::randn({N, 3}, torch::kDouble), y3);
  // a constant target: R² and explained variance are 0/0, defined as 0 (1 for a perfect fit). 0.7 because
  // its sums of y and y² do not cancel exactly in one pass (0.3's do), as real data's need not.
  auto c = torch::full({N}, 0.7, torch::kDouble);
  r.data("reg_const", torch::linspace(0, 1, N, torch::kDouble), c);
  r.data("reg_const_perfect", c.clone(), c);
  for (auto [d, k] : {std::pair{"reg", 1}, {"reg3", 3}, {"reg_const", 1}, {"reg_const_perfect", 1}}) {
    const auto o = fmt::format("num_outputs={}", k);
    r.run(d, "MeanSquaredError", o, MeanSquaredError(true, k));
    r.run(d, "RootMeanSquaredError", o, RootMeanSquaredError(k));
    r.run(d, "MeanAbsoluteError", o, MeanAbsoluteError(k));
    r.run(d, "R2Score", o, R2Score(k));
    r.run(d, "ExplainedVariance", o, ExplainedVariance(k));
  }
  r.run("reg", "Loss", "fn=mse_loss", Loss([](const at::Tensor& p, const at::Tensor& t) { return torch::mse_loss(p, t); }));
}

void aggregation(Report& r) {
  const int64_t N = 200;
  r.data("agg", torch::randn({N}, torch::kDouble), torch::rand({N}, torch::kDouble));  // values, weights
  auto values = [](auto& m, const auto& v, const auto&) { m.update(v); };
  r.run("agg", "MeanMetric", "", MeanMetric(), values);
  r.run("agg", "MeanMetric", "weighted=1", MeanMetric(), [](auto& m, const auto& v, const auto& w) { m.update(v, w); });
  r.run("agg", "SumMetric", "", SumMetric(), values);
  r.run("agg", "MinMetric", "", MinMetric(), values);
  r.run("agg", "MaxMetric", "", MaxMetric(), values);
  r.run("agg", "RunningAverage", "alpha=0.9", RunningAverage(0.9), values);
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_FILE\n", argv[0]);
    return 2;
  }
  torch::manual_seed(20261124);
  Report r(argv[1]);
  classification(r);
  regression(r);
  aggregation(r);
  std::printf("metrics_vs_torchmetrics: wrote %d kiln values to %s\n", r.cases(), argv[1]);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "metrics_vs_torchmetrics: %s\n", e.what());
  return 1;
}
