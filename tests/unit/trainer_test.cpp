// SPDX-License-Identifier: Apache-2.0
// tests/unit/trainer/trainer_test.cpp — the Trainer's loops, event order, logging, schedulers and manual optimization.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "linear_data.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;
using Catch::Matchers::Contains;

using kiln_test::linear_data;

// A linear regressor; `lr` and `log_loss` vary per test.
struct Linear : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  double lr = 0.1;
  explicit Linear(double learning_rate = 0.1) : lr(learning_rate) {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("train/loss", loss, {.on_epoch = true});
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::mse_loss(fc(b.first), b.second));
  }
  void test_step(const Batch& b, kiln::StepContext& ctx) {
    ctx.log("test/loss", torch::mse_loss(fc(b.first), b.second));
  }
  torch::Tensor predict_step(const Batch& b, kiln::StepContext&) { return fc(b.first); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(lr));
  }
};

// Records every event it sees; the module below appends its hook calls to the same list.
struct Recorder {
  std::vector<std::string>* log = nullptr;
  template <class E, class T>
  void on(const E&, T&) { log->emplace_back(E::name); }
};

struct HookedLinear : Linear {
  std::vector<std::string>* log = nullptr;
  void on_train_epoch_start(kiln::StepContext&) { log->emplace_back("module:on_train_epoch_start"); }
  void on_train_epoch_end(kiln::StepContext&) { log->emplace_back("module:on_train_epoch_end"); }
  void on_validation_epoch_end(kiln::StepContext&) { log->emplace_back("module:on_validation_epoch_end"); }
};

template <class Module = Linear, class... Policies>
using Quiet = kiln::Trainer<Module, kiln::Loggers<>, Policies...>;

// Progress bar off, and the sanity check off unless a test asks for one (2 is the default, so
// it stands for "not set"): most tests count validation batches.
kiln::TrainerConfig quiet(kiln::TrainerConfig c = {}) {
  c.enable_progress_bar = false;
  c.num_sanity_val_steps = c.num_sanity_val_steps == 2 ? 0 : c.num_sanity_val_steps;
  return c;
}

// Counts validation runs and batches (sanity check excluded) and training batches.
struct Counter {
  int validations = 0, val_batches = 0, sanity_batches = 0, train_batches = 0;
  bool in_sanity = false;
  template <class T> void on(const kiln::event::sanity_check_start&, T&) { in_sanity = true; }
  template <class T> void on(const kiln::event::sanity_check_end&, T&) { in_sanity = false; }
  template <class T> void on(const kiln::event::validation_start&, T&) { validations += !in_sanity; }
  template <class T> void on(const kiln::event::validation_batch_end&, T&) { (in_sanity ? sanity_batches : val_batches)++; }
  template <class T> void on(const kiln::event::train_batch_end&, T&) { ++train_batches; }
};

struct GradProbe {
  double norm = 0, max_abs = 0;
  template <class T>
  void on(const kiln::event::before_zero_grad&, T& t) {  // after clipping and the step, before zeroing
    double sq = 0;
    for (auto& group : t.optimizers()[0].optimizer->param_groups())
      for (auto& p : group.params()) {
        sq += p.grad().pow(2).sum().template item<double>();
        max_abs = std::max(max_abs, p.grad().abs().max().template item<double>());
      }
    norm = std::max(norm, std::sqrt(sq));
  }
};

struct Gan : torch::nn::Module {
  static constexpr bool automatic_optimization = false;
  torch::Tensor g, d;
  Gan() {
    g = register_parameter("g", torch::tensor({1.0}));
    d = register_parameter("d", torch::tensor({2.0}));
  }
  void training_step(const Batch&, kiln::StepContext& ctx) {
    // Alternate: even batches update g (loss = g, gradient 1), odd batches update d (loss = 3d).
    const bool even = ctx.batch_idx() % 2 == 0;
    ctx.manual_backward(even ? g.sum() : (3 * d).sum());
    ctx.optimizer_step(even ? 0 : 1);
  }
  std::vector<kiln::OptimizerConfig> configure_optimizers() {
    std::vector<kiln::OptimizerConfig> out;
    out.push_back({.optimizer = std::make_unique<torch::optim::SGD>(std::vector{g}, torch::optim::SGDOptions(0.1))});
    out.push_back({.optimizer = std::make_unique<torch::optim::SGD>(std::vector{d}, torch::optim::SGDOptions(0.1))});
    return out;
  }
};

struct SeesError {
  std::string what;
  template <class T>
  void on(const kiln::event::exception& e, T&) { what = e.error.what(); }
};

}  // namespace

TEST_CASE("fit with validation emits the documented events in Lightning's order", "[trainer][events]") {
  std::vector<std::string> log;
  HookedLinear model;
  model.log = &log;
  kiln::Trainer<HookedLinear, kiln::Callbacks<Recorder>, kiln::Loggers<>> trainer(
      {.max_epochs = 2, .num_sanity_val_steps = 1, .enable_progress_bar = false}, Recorder{&log});
  auto train = linear_data(3, 4), val = linear_data(2, 4);
  trainer.fit(model, train, val);

  std::vector<std::string> expected{"setup", "fit_start", "sanity_check_start"};
  auto validation = [&](int batches, bool sanity) {
    for (auto e : {"validation_start", "validation_epoch_start"}) expected.emplace_back(e);
    for (int i = 0; i < batches; ++i)
      for (auto e : {"validation_batch_start", "validation_batch_end"}) expected.emplace_back(e);
    expected.emplace_back("validation_epoch_end");
    expected.emplace_back("module:on_validation_epoch_end");  // callbacks first, then the module
    expected.emplace_back("validation_end");
    (void)sanity;
  };
  validation(1, true);
  for (auto e : {"sanity_check_end", "train_start"}) expected.emplace_back(e);
  for (int epoch = 0; epoch < 2; ++epoch) {
    expected.emplace_back("train_epoch_start");
    expected.emplace_back("module:on_train_epoch_start");
    for (int b = 0; b < 3; ++b)
      for (auto e : {"train_batch_start", "before_backward", "after_backward", "before_optimizer_step",
                     "before_zero_grad", "train_batch_end"})
        expected.emplace_back(e);
    validation(2, false);  // Lightning 2.x: epoch-end validation runs before train_epoch_end
    expected.emplace_back("train_epoch_end");
    expected.emplace_back("module:on_train_epoch_end");
  }
  for (auto e : {"train_end", "fit_end", "teardown"}) expected.emplace_back(e);
  REQUIRE(log == expected);
}

TEST_CASE("accumulate_grad_batches=4 at batch 8 matches batch 32", "[trainer][accumulation]") {
  // Same 96 samples: 3 batches of 32, or 12 batches of 8 accumulated 4 at a time. With a mean
  // loss, the accumulated gradient (each loss divided by 4) equals the big batch's gradient up to
  // float32 rounding in the summation order.
  auto big = linear_data(3, 32, 5);
  std::vector<Batch> small;
  for (auto& [x, y] : big)
    for (int i = 0; i < 4; ++i) small.emplace_back(x.narrow(0, 8 * i, 8), y.narrow(0, 8 * i, 8));
  Linear a, b;
  Quiet<> ta(quiet({.max_epochs = 2}));
  Quiet<> tb(quiet({.max_epochs = 2, .accumulate_grad_batches = 4}));
  ta.fit(a, big);
  tb.fit(b, small);
  REQUIRE(ta.state().global_step == 6);
  REQUIRE(tb.state().global_step == 6);
  REQUIRE(torch::allclose(a.fc->weight, b.fc->weight, /*rtol=*/1e-5, /*atol=*/1e-6));
  REQUIRE(torch::allclose(a.fc->bias, b.fc->bias, 1e-5, 1e-6));
  REQUIRE_FALSE(torch::equal(a.fc->weight, Linear().fc->weight));  // training moved the weights
}

TEST_CASE("an incomplete accumulation steps on the last batch of the epoch", "[trainer][accumulation]") {
  auto data = linear_data(10, 4);
  Linear m;
  Quiet<> t(quiet({.max_epochs = 1, .accumulate_grad_batches = 4}));
  t.fit(m, data);
  REQUIRE(t.state().global_step == 3);  // after batches 4, 8 and 10
}

TEST_CASE("gradient clipping bounds the gradient norm or values", "[trainer][clipping]") {
  auto data = linear_data(5, 16);
  for (auto& [x, y] : data) y.mul_(100);  // large errors, large gradients
  auto run = [&](std::optional<double> clip, kiln::GradClipAlgorithm algo) {
    Linear m(1e-4);
    Quiet<Linear, kiln::Callbacks<GradProbe>> t(quiet({.max_epochs = 1, .gradient_clip_val = clip, .gradient_clip_algorithm = algo}));
    t.fit(m, data);
    return t.callback<GradProbe>();
  };
  auto unclipped = run(std::nullopt, kiln::GradClipAlgorithm::norm);
  REQUIRE(unclipped.norm > 10.0);  // the bound below is not met by accident
  auto by_norm = run(0.5, kiln::GradClipAlgorithm::norm);
  REQUIRE(by_norm.norm <= Approx(0.5).epsilon(1e-4));
  REQUIRE(by_norm.norm > 0.49);
  auto by_value = run(0.25, kiln::GradClipAlgorithm::value);
  REQUIRE(by_value.max_abs <= 0.25);
  REQUIRE(by_value.max_abs == Approx(0.25));
}

TEST_CASE("limits and val_check_interval give the documented counts", "[trainer][limits]") {
  auto train = linear_data(10, 4), val = linear_data(4, 4);
  auto counts = [&](kiln::TrainerConfig c) {
    Linear m;
    Quiet<Linear, kiln::Callbacks<Counter>> t(quiet(c));
    t.fit(m, train, val);
    return std::make_pair(t.callback<Counter>(), t.state());
  };
  SECTION("val_check_interval=0.25 of 10 batches validates every 2 batches: 5 times an epoch") {
    auto [c, s] = counts({.max_epochs = 2, .val_check_interval = 0.25});
    REQUIRE(c.validations == 10);
    REQUIRE(c.val_batches == 40);
  }
  SECTION("val_check_interval=3 validates after batches 3, 6, 9 and not at epoch end") {
    auto [c, s] = counts({.max_epochs = 1, .val_check_interval = 3});
    REQUIRE(c.validations == 3);
  }
  SECTION("limit_train_batches=0.5 and limit_val_batches=2") {
    auto [c, s] = counts({.max_epochs = 3, .limit_train_batches = 0.5, .limit_val_batches = 2});
    REQUIRE(c.train_batches == 15);
    REQUIRE(s.global_step == 15);
    REQUIRE(c.validations == 3);
    REQUIRE(c.val_batches == 6);
  }
  SECTION("limit_val_batches=0 turns validation off") {
    auto [c, s] = counts({.max_epochs = 2, .limit_val_batches = 0});
    REQUIRE(c.validations == 0);
  }
  SECTION("check_val_every_n_epoch=2 validates in epochs 1 and 3 of 4") {
    auto [c, s] = counts({.max_epochs = 4, .check_val_every_n_epoch = 2});
    REQUIRE(c.validations == 2);
  }
  SECTION("num_sanity_val_steps runs that many validation batches before training") {
    auto [c, s] = counts({.max_epochs = 1, .num_sanity_val_steps = 3});
    REQUIRE(c.sanity_batches == 3);
    REQUIRE(c.validations == 1);
  }
  SECTION("max_steps stops mid-epoch and says why") {
    auto [c, s] = counts({.max_epochs = 5, .max_steps = 7});
    REQUIRE(s.global_step == 7);
    REQUIRE(c.train_batches == 7);
    REQUIRE_THAT(s.stop_reason, Contains("max_steps=7"));
  }
  SECTION("fast_dev_run runs one batch of training and validation") {
    auto [c, s] = counts({.max_epochs = 5, .fast_dev_run = true});
    REQUIRE(c.train_batches == 1);
    REQUIRE(c.val_batches == 1);
    REQUIRE(c.sanity_batches == 0);
    REQUIRE(s.epoch == 1);
  }
}

TEST_CASE("validate, test and predict run one pass without gradients", "[trainer][evaluation]") {
  Linear m;
  Quiet<> t(quiet({.limit_test_batches = 3}));
  auto data = linear_data(5, 4);
  auto expected = 0.0;
  for (int i = 0; i < 3; ++i) expected += torch::mse_loss(m.fc(data[i].first), data[i].second).item<double>() / 3;
  auto tested = t.test(m, data);
  REQUIRE(tested.at("test/loss") == Approx(expected).epsilon(1e-6));
  auto validated = t.validate(m, data);
  REQUIRE(validated.count("val/loss") == 1);
  REQUIRE(t.callback_metrics().at("test/loss") == tested.at("test/loss"));
  auto predictions = t.predict(m, data);
  REQUIRE(predictions.size() == 5);
  REQUIRE(predictions[0].sizes() == torch::IntArrayRef{4, 1});
  REQUIRE_FALSE(predictions[0].requires_grad());
  REQUIRE(m.is_training());  // restored after evaluation
}

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

TEST_CASE("CsvLogger writes metrics.csv under default_root_dir/lightning_logs/version_N", "[trainer][logging][csv]") {
  const auto root = std::filesystem::temp_directory_path() / "kiln_csv_test";
  std::filesystem::remove_all(root);
  auto train = linear_data(4, 4), val = linear_data(2, 4);
  for (int run = 0; run < 2; ++run) {
    Linear m;
    kiln::Trainer<Linear> t({.max_epochs = 2, .num_sanity_val_steps = 0, .log_every_n_steps = 2,
                             .default_root_dir = root, .enable_progress_bar = false});
    t.fit(m, train, val);
    REQUIRE(t.logger<kiln::CsvLogger>().log_dir() == root / "lightning_logs" / ("version_" + std::to_string(run)));
  }
  std::ifstream in(root / "lightning_logs" / "version_0" / "metrics.csv");
  REQUIRE(in);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.front() == "step,epoch,train/loss_epoch,train/loss_step,val/loss");
  // Per epoch: steps 2 and 4 (train/loss_step), validation, then the epoch value: 4 rows.
  REQUIRE(lines.size() == 1 + 2 * 4);
  REQUIRE(lines[1].rfind("2,0,,", 0) == 0);
  REQUIRE(lines.back().rfind("8,1,", 0) == 0);
}

TEST_CASE("logging off: Loggers<> and config.logger=false write nothing", "[trainer][logging]") {
  const auto root = std::filesystem::temp_directory_path() / "kiln_nolog_test";
  std::filesystem::remove_all(root);
  Linear m;
  auto data = linear_data(2, 4);
  kiln::Trainer<Linear> t({.max_epochs = 1, .default_root_dir = root, .enable_progress_bar = false, .logger = false});
  t.fit(m, data);
  REQUIRE_FALSE(std::filesystem::exists(root / "lightning_logs"));
}

TEST_CASE("schedulers step per optimizer step or per epoch", "[trainer][schedulers]") {
  struct Scheduled : Linear {
    kiln::Interval interval = kiln::Interval::step;
    kiln::OptimizerConfig configure_optimizers() {
      auto opt = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(1.0));
      auto sched = std::make_unique<kiln::StepLR>(*opt, 2, 0.5);
      return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = interval};
    }
  };
  auto data = linear_data(3, 4);
  auto lr_after = [&](kiln::Interval interval) {
    Scheduled m;
    m.interval = interval;
    Quiet<Scheduled> t(quiet({.max_epochs = 2}));
    t.fit(m, data);
    return t.optimizers()[0].optimizer->param_groups()[0].options().get_lr();
  };
  REQUIRE(lr_after(kiln::Interval::step) == Approx(0.125));  // 6 steps: 0.5^(6/2)
  REQUIRE(lr_after(kiln::Interval::epoch) == Approx(0.5));   // 2 epochs: 0.5^(2/2)
}

TEST_CASE("ReduceLROnPlateau reads its monitor from logged values, or names the missing key", "[trainer][schedulers]") {
  struct Plateau : Linear {
    std::string monitor = "val/metric";
    void validation_step(const Batch&, kiln::StepContext& ctx) { ctx.log("val/metric", 1.0); }  // never improves
    kiln::OptimizerConfig configure_optimizers() {
      auto opt = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
      auto sched = std::make_unique<kiln::ReduceLROnPlateau>(*opt, kiln::ReduceLROnPlateau::Options{.factor = 0.5, .patience = 0});
      return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .monitor = monitor};
    }
  };
  auto train = linear_data(2, 4), val = linear_data(2, 4);
  Plateau m;
  Quiet<Plateau> t(quiet({.max_epochs = 3}));
  t.fit(m, train, val);
  // Epoch 0 sets the best value; epochs 1 and 2 do not improve it: two halvings.
  REQUIRE(t.optimizers()[0].optimizer->param_groups()[0].options().get_lr() == Approx(0.025));

  Plateau missing;
  missing.monitor = "val/acc";
  Quiet<Plateau> t2(quiet({.max_epochs = 1}));
  REQUIRE_THROWS_WITH(t2.fit(missing, train, val), Contains("\"val/acc\"") && Contains("val/metric"));
}

TEST_CASE("manual optimization steps several optimizers from training_step", "[trainer][manual]") {
  Gan gan;
  kiln::Trainer<Gan, kiln::Loggers<>> t(quiet({.max_epochs = 1}));
  std::vector<Batch> data(4, Batch{torch::zeros({1}), torch::zeros({1})});
  t.fit(gan, data);
  REQUIRE(gan.g.item<double>() == Approx(1.0 - 2 * 0.1));
  REQUIRE(gan.d.item<double>() == Approx(2.0 - 2 * 0.3));
  REQUIRE(t.state().global_step == 4);
}

TEST_CASE("automatic optimization with two optimizers is an error that says what to do", "[trainer][manual]") {
  struct Two : Linear {
    std::vector<kiln::OptimizerConfig> configure_optimizers() {
      std::vector<kiln::OptimizerConfig> out;
      out.push_back({.optimizer = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1))});
      out.push_back({.optimizer = std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1))});
      return out;
    }
  };
  Two m;
  Quiet<Two> t(quiet());
  auto data = linear_data(1, 4);
  REQUIRE_THROWS_WITH(t.fit(m, data), Contains("returned 2") && Contains("automatic_optimization = false"));
}

TEST_CASE("seed makes a run repeatable; another seed changes it", "[trainer][seed]") {
  struct Dropout : Linear {
    torch::Tensor training_step(const Batch& b, kiln::StepContext&) {
      return torch::mse_loss(fc(torch::dropout(b.first, 0.5, is_training())), b.second);
    }
  };
  auto data = linear_data(8, 4);
  auto run = [&](std::uint64_t seed) {
    Dropout m;  // same initial weights every time (Linear seeds its construction)
    Quiet<Dropout> t(quiet({.max_epochs = 2, .seed = seed, .deterministic = true}));
    t.fit(m, data);
    return m.fc->weight.clone();
  };
  REQUIRE(torch::equal(run(7), run(7)));
  REQUIRE_FALSE(torch::equal(run(7), run(8)));
}

TEST_CASE("errors during fit reach callbacks and name the step", "[trainer][errors]") {
  struct Undefined : Linear {
    torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
      if (ctx.batch_idx() == 2) return {};
      return Linear::training_step(b, ctx);
    }
  };
  Undefined m;
  Quiet<Undefined, kiln::Callbacks<SeesError>> t(quiet({.max_epochs = 2}));
  auto data = linear_data(4, 4);
  REQUIRE_THROWS_WITH(t.fit(m, data), Contains("epoch 0, batch 2"));
  REQUIRE_THAT(t.callback<SeesError>().what, Contains("undefined tensor"));
}

TEST_CASE("a near-miss hook is rejected while correct hooks are detected", "[trainer][hooks]") {
  STATIC_REQUIRE(kiln::detail::module_hook<kiln::event::train_epoch_end>::callable<HookedLinear>);
  STATIC_REQUIRE_FALSE(kiln::detail::module_hook<kiln::event::train_epoch_end>::callable<Linear>);
  STATIC_REQUIRE(kiln::TrainingModule<Linear, const Batch>);
  STATIC_REQUIRE(kiln::HasValidationStep<Linear, const Batch>);
}
