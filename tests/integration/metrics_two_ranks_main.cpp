// SPDX-License-Identifier: Apache-2.0
// tests/integration/metrics_two_ranks_main.cpp — run as two ranks (RANK, WORLD_SIZE=2, MASTER_PORT):
// each feeds its uneven share of the data, compute() syncs over Gloo, and every metric must equal
// the same metric computed by one process over all the data.
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <kiln/metrics.hpp>
#include <kiln/strategy/process_group.hpp>

#include "../unit/metrics/sklearn_fixtures.hpp"

using namespace kiln::metrics;
namespace fx = sklearn_fixtures;

int main() try {
  torch::set_num_threads(1);
  kiln::dist::init_process_group({.timeout = std::chrono::seconds(60)});
  const int rank = kiln::dist::rank(), world = kiln::dist::world_size();
  if (world != 2) throw kiln::Error("metrics_two_ranks: run with WORLD_SIZE=2");
  auto probs = torch::tensor(fx::mc_probs, torch::kDouble).reshape({-1, 5});
  auto target = torch::tensor(std::vector<int64_t>(fx::mc_target.begin(), fx::mc_target.end()));
  auto y = torch::tensor(fx::reg_target, torch::kDouble), yhat = torch::tensor(fx::reg_preds, torch::kDouble);
  // uneven shares: rank 0 has the first 173 samples, rank 1 the rest
  const int64_t cut = 173, n = probs.size(0), rn = y.size(0) * 2 / 3;
  auto mine = [&](const torch::Tensor& t, int64_t c) { return rank == 0 ? t.slice(0, 0, c) : t.slice(0, c); };

  ClassificationOptions o{.task = Task::multiclass, .num_classes = 5};
  ClassificationOptions macro = o;
  macro.average = Average::macro;
  Accuracy acc(o);
  F1Score f1(macro);
  ConfusionMatrix cm(o);
  AUROC auroc(macro);
  AveragePrecision ap(macro);
  MeanSquaredError mse;
  R2Score r2;
  MeanMetric mean;
  MaxMetric mx;
  Precision p(macro);
  Recall r(macro);
  auto f1_of_macro = 2 * p * r / (p + r);
  for (int64_t i = 0; i < mine(probs, cut).size(0); i += 40) {  // several updates per rank
    auto pb = mine(probs, cut).slice(0, i, i + 40), tb = mine(target, cut).slice(0, i, i + 40);
    acc.update(pb, tb);
    f1.update(pb, tb);
    cm.update(pb, tb);
    auroc.update(pb, tb);
    ap.update(pb, tb);
    f1_of_macro.update(pb, tb);
  }
  mse.update(mine(yhat, rn), mine(y, rn));
  r2.update(mine(yhat, rn), mine(y, rn));
  mean.update(mine(y, rn));
  mx.update(mine(y, rn));

  // one process over all the data (functional forms: local, no sync)
  auto pf = functional::precision(probs, target, macro), rf = functional::recall(probs, target, macro);
  struct Row { const char* name; torch::Tensor two, one; };
  std::vector<Row> rows{
      {"Accuracy", acc.compute(), functional::accuracy(probs, target, o)},
      {"F1Score macro", f1.compute(), functional::f1_score(probs, target, macro)},
      {"ConfusionMatrix", cm.compute(), functional::confusion_matrix(probs, target, o)},
      {"AUROC ovr macro", auroc.compute(), functional::auroc(probs, target, macro)},
      {"AveragePrecision macro", ap.compute(), functional::average_precision(probs, target, macro)},
      {"2PR/(P+R)", f1_of_macro.compute(), 2 * pf * rf / (pf + rf)},
      {"MeanSquaredError", mse.compute(), functional::mean_squared_error(yhat, y)},
      {"R2Score", r2.compute(), functional::r2_score(yhat, y)},
      {"MeanMetric", mean.compute(), y.mean()},
      {"MaxMetric", mx.compute(), y.max()},
  };
  int bad = 0;
  for (auto& row : rows) {
    const bool same = torch::allclose(row.two.to(torch::kDouble), row.one.to(torch::kDouble), 1e-12, 1e-12);
    if (!same) ++bad;
    std::printf("rank %d: %-24s two ranks %s one process %s\n", rank, row.name,
                std::to_string(row.two.to(torch::kDouble).sum().item<double>()).c_str(),
                std::to_string(row.one.to(torch::kDouble).sum().item<double>()).c_str());
  }
  // the local state is kept: after compute(), rank 0 still holds only its share
  if (acc.state_dict().at("samples").item<int64_t>() != (rank == 0 ? cut : n - cut)) ++bad, std::puts("local state changed");
  // collectives: uneven all_gather, broadcast, all_reduce, barrier
  auto g = kiln::dist::all_gather(torch::full({rank + 1, 2}, double(rank)));
  if (g.size() != 2 || g[0].size(0) != 1 || g[1].size(0) != 2 || g[1].sum().item<double>() != 4) ++bad, std::puts("all_gather wrong");
  auto b = kiln::dist::broadcast(torch::full({3}, double(rank + 7)), 1);
  if (b.sum().item<double>() != 24) ++bad, std::puts("broadcast wrong");
  if (kiln::dist::all_reduce(double(rank + 1), kiln::dist::ReduceOp::max) != 2) ++bad, std::puts("all_reduce max wrong");
  kiln::dist::barrier();
  if (bad) {
    std::printf("rank %d: %d mismatches\n", rank, bad);
    return 1;
  }
  std::printf("rank %d: %zu metrics over two ranks equal one process\n", rank, rows.size());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
