// SPDX-License-Identifier: Apache-2.0
// tests/unit/trainer/log_buffer_test.cpp — logged values: Lightning's names and reductions, batch-size weights, when they are read.
#include <tuple>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"
#include "../sum_regressor.hpp"

namespace {

using namespace kiln_test;  // Batch, batches, Linear, linear_data, Reg, quiet, Quiet, no_progress_bar
using Catch::Matchers::Contains;

struct EpochEndReader {
  std::vector<double> seen;
  template <class T>
  void on(const kiln::event::train_epoch_end&, T& t) { seen.push_back(t.callback_metrics().at("train_loss_epoch")); }
};

}  // namespace

TEST_CASE("logged values reach callback_metrics with Lightning's names and reductions", "[trainer][logging]") {
  struct Logs : Linear {
    torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
      const double i = double(ctx.batch_idx());
      ctx.log("sum", i, {.on_step = false, .on_epoch = true, .reduce = kiln::Reduce::sum});
      ctx.log("mean", i, {.on_step = false, .on_epoch = true});
      ctx.log("max", i, {.on_step = false, .on_epoch = true, .reduce = kiln::Reduce::max});
      ctx.log("both", i, {.on_step = true, .on_epoch = true});
      ctx.log("step_only", i);
      return Linear::training_step(b, ctx);
    }
  };
  Logs m;
  Quiet<Logs> t(quiet({.max_epochs = 1, .log_every_n_steps = 1}));
  auto data = linear_data(4, 2);
  t.fit(m, data);
  const auto& cm = t.callback_metrics();
  REQUIRE(cm.at("sum") == 6.0);
  REQUIRE(cm.at("mean") == 1.5);
  REQUIRE(cm.at("max") == 3.0);
  REQUIRE(cm.at("both_epoch") == 1.5);
  REQUIRE(cm.at("both_step") == 3.0);
  REQUIRE(cm.at("step_only") == 3.0);
  REQUIRE(cm.at("both") == 1.5);  // Lightning keeps the plain name too: the epoch value after the epoch
}

TEST_CASE("epoch means weigh each value by its batch's size, as Lightning's", "[trainer][logging]") {
  // Batches of 4, 4 and 2 samples: the mean of per-batch means (0.5) is not the mean over the
  // 10 samples (0.4); a short last batch (10000 test images in batches of 256) makes the difference.
  std::vector<Batch> val;
  for (int n : {4, 4, 2}) {
    auto x = torch::zeros({n, 3});
    auto y = torch::zeros({n, 1});
    if (n == 4) y.index_put_({torch::indexing::Slice(0, 2)}, 1.0);  // half of each full batch is 1
    val.emplace_back(x, y);
  }
  struct Means : Linear {
    void validation_step(const Batch& b, kiln::StepContext& ctx) {
      ctx.log("val/mean", b.second.mean());                                   // weighed by 4, 4, 2
      ctx.log("val/unweighted", b.second.mean(), {.batch_size = 1});          // the caller decides
      ctx.log("val/max", b.second.mean(), {.reduce = kiln::Reduce::max});    // weights do not apply
      ctx.log("val/seen", double(ctx.batch_size()), {.reduce = kiln::Reduce::sum});
    }
  };
  Means m;
  Quiet<Means> t(quiet({}));
  const auto out = t.validate(m, val);
  REQUIRE(out.at("val/mean") == Approx(0.4).epsilon(1e-12));
  REQUIRE(out.at("val/unweighted") == Approx(1.0 / 3.0).epsilon(1e-12));
  REQUIRE(out.at("val/max") == 0.5);
  REQUIRE(out.at("val/seen") == 10.0);

  using kiln::detail::batch_size_of;
  REQUIRE(batch_size_of(torch::zeros({7, 3})) == 7);
  REQUIRE(batch_size_of(torch::tensor(3.0)) == 1);  // 0-d: one value
  REQUIRE(batch_size_of(torch::data::Example<>(torch::zeros({5, 2}), torch::zeros({5})))  == 5);
  REQUIRE(batch_size_of(std::make_tuple(torch::zeros({6}), 1)) == 6);
  REQUIRE(batch_size_of(std::vector<torch::Tensor>{torch::zeros({3, 1})}) == 3);
  REQUIRE(batch_size_of(std::vector<torch::Tensor>{}) == 1);
  REQUIRE(batch_size_of(42) == 1);
  kiln::LogBuffer buffer;
  REQUIRE_THROWS_WITH(buffer.log("x", torch::tensor(1.0), {.on_epoch = true, .batch_size = 0}, kiln::Stage::validate),
                      Contains("log(\"x\") batch_size must be at least 1, got 0"));
}

TEST_CASE("epoch values are in callback_metrics when train_epoch_end runs, the plain name too", "[regression]") {
  auto data = batches(4);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>, kiln::Callbacks<EpochEndReader>> t(no_progress_bar({.max_epochs = 2}));
  t.fit(m, data);
  const auto& seen = t.callback<EpochEndReader>().seen;
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[1] == t.callback_metrics().at("train_loss_epoch"));
  REQUIRE(seen[0] != seen[1]);  // epoch 0's own value, not a stale one
  REQUIRE(t.callback_metrics().at("train_loss") == seen[1]);
  REQUIRE(t.progress_bar_metrics().count("train_loss_step") == 1);
  REQUIRE(t.progress_bar_metrics().count("train_loss") == 0);  // not shown three times
}
