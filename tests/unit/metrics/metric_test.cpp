// SPDX-License-Identifier: Apache-2.0
// tests/unit/metrics/metric_test.cpp — what every metric does: errors naming it, forward, reset, state_dict, sync, and logging from a fit.
#include <filesystem>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/metrics.hpp>
#include <kiln/trainer.hpp>

#include "metrics_fixture.hpp"
#include "sklearn_fixtures.hpp"

namespace {

using namespace kiln::metrics;
namespace fx = sklearn_fixtures;
using Catch::Matchers::Contains;

using metrics_fixture::binary;
using metrics_fixture::D;
using metrics_fixture::L;
using metrics_fixture::matches;
using metrics_fixture::mc;

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

TEST_CASE("forward gives the batch's value and accumulates, reset, state_dict and the device follow", "[metrics]") {
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
