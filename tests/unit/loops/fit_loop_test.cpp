// SPDX-License-Identifier: Apache-2.0
// tests/unit/loops/fit_loop_test.cpp — the training loop: accumulation, limits, validation intervals, stops, errors, data it is fed.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"
#include "../sum_regressor.hpp"

namespace {

using namespace kiln_test;  // Batch, batches, Linear, linear_data, Reg, quiet, Quiet, no_progress_bar
using Catch::Matchers::Contains;

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

struct SeesError {
  std::string what;
  template <class T>
  void on(const kiln::event::exception& e, T&) { what = e.error.what(); }
};

// Unsized data: an input range without size().
struct Unsized {
  std::vector<Batch>* data;
  auto begin() const { return data->begin(); }
  auto end() const { return data->end(); }
};

struct StageProbe {
  std::vector<kiln::Stage> at_validation_end;
  template <class T>
  void on(const kiln::event::validation_end&, T& t) { at_validation_end.push_back(t.state().stage); }
};

struct ManualSched : torch::nn::Module {
  static constexpr bool automatic_optimization = false;
  torch::Tensor w = register_parameter("w", torch::ones({1}));
  void training_step(const Batch&, kiln::StepContext& ctx) {
    ctx.manual_backward(w.sum());
    ctx.optimizer_step();
  }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::SGD>(std::vector{w}, torch::optim::SGDOptions(1.0));
    auto sched = std::make_unique<kiln::StepLR>(*opt, 1, 0.5);
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched)};
  }
};

}  // namespace

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

TEST_CASE("a torch::data loader with workers survives limits and the sanity check", "[regression]") {
  auto make = [] {
    auto ds = torch::data::datasets::TensorDataset(torch::randn({40, 3})).map(torch::data::transforms::Stack<torch::data::TensorExample>());
    return torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
        std::move(ds), torch::data::DataLoaderOptions().batch_size(4).workers(2));
  };
  struct OnTensors : torch::nn::Module {
    torch::nn::Linear fc{register_module("fc", torch::nn::Linear(3, 1))};
    torch::Tensor training_step(const torch::data::TensorExample& b, kiln::StepContext&) { return fc(b.data).pow(2).mean(); }
    void validation_step(const torch::data::TensorExample& b, kiln::StepContext& ctx) { ctx.log("v", fc(b.data).mean()); }
    std::unique_ptr<torch::optim::SGD> configure_optimizers() {
      return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.01));
    }
  };
  auto train = make(), val = make();
  OnTensors m;
  kiln::Trainer<OnTensors, kiln::Loggers<>> t(no_progress_bar({.max_epochs = 3, .limit_train_batches = 3, .num_sanity_val_steps = 2}));
  REQUIRE_NOTHROW(t.fit(m, train, val));
  REQUIRE(t.state().global_step == 9);
}

TEST_CASE("unsized data with accumulation stops at max_steps in the same epoch", "[regression]") {
  auto data = batches(5);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(no_progress_bar({.max_epochs = 10, .max_steps = 3, .accumulate_grad_batches = 2}));
  t.fit(m, Unsized{&data});
  REQUIRE(t.state().global_step == 3);
  REQUIRE(t.state().epoch == 1);
}

TEST_CASE("limit_train_batches=0 skips training, a fraction under one batch is an error", "[regression]") {
  auto data = batches(10), val = batches(2);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(no_progress_bar({.max_epochs = 5, .limit_train_batches = 0, .num_sanity_val_steps = 0}));
  t.fit(m, data, val);
  REQUIRE(t.state().global_step == 0);
  REQUIRE(t.state().epoch == 0);
  kiln::Trainer<Reg, kiln::Loggers<>> small(no_progress_bar({.max_epochs = 1, .limit_train_batches = 0.05}));
  REQUIRE_THROWS_WITH(small.fit(m, data), Contains("limit_train_batches=0.05 of 10 batches"));
}

TEST_CASE("empty data stops instead of running empty epochs", "[regression]") {
  std::vector<Batch> none;
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(no_progress_bar({.max_epochs = -1, .max_steps = 5}));
  t.fit(m, Unsized{&none});
  REQUIRE(t.state().epoch == 1);
  REQUIRE_THAT(t.state().stop_reason, Contains("no batches"));
}

TEST_CASE("an integer val_check_interval longer than an epoch is an error", "[regression]") {
  auto data = batches(10), val = batches(2);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(no_progress_bar({.max_epochs = 1, .val_check_interval = 20}));
  REQUIRE_THROWS_WITH(t.fit(m, data, val), Contains("val_check_interval=20") && Contains("10 training batches"));
}

TEST_CASE("manual optimization leaves epoch schedulers to the user", "[regression]") {
  ManualSched m;
  auto data = batches(2);
  kiln::Trainer<ManualSched, kiln::Loggers<>> t(no_progress_bar({.max_epochs = 3}));
  t.fit(m, data);
  REQUIRE(t.optimizers()[0].optimizer->param_groups()[0].options().get_lr() == 1.0);
}

TEST_CASE("the loss kept in state().output carries no autograd graph", "[regression]") {
  auto data = batches(2);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>> t(no_progress_bar({.max_epochs = 1}));
  t.fit(m, data);
  REQUIRE(t.state().output.defined());
  REQUIRE_FALSE(t.state().output.requires_grad());
}

TEST_CASE("callbacks see Stage::sanity_check during the sanity check", "[regression]") {
  auto data = batches(2), val = batches(2);
  Reg m;
  kiln::Trainer<Reg, kiln::Loggers<>, kiln::Callbacks<StageProbe>> t(no_progress_bar({.max_epochs = 1, .num_sanity_val_steps = 1}));
  t.fit(m, data, val);
  const auto& stages = t.callback<StageProbe>().at_validation_end;
  REQUIRE(stages.size() == 2);
  REQUIRE(stages[0] == kiln::Stage::sanity_check);
  REQUIRE(stages[1] == kiln::Stage::fit);
}

namespace {
// Runs forward_over_train_data() at each train_batch_start, before the loop's own step on that batch.
struct ForwardFirst {
  int passes = 0;
  template <class T>
  void on(const kiln::event::train_batch_start&, T& t) {
    t.forward_over_train_data();
    ++passes;
  }
};
}  // namespace

TEST_CASE("forward_over_train_data() from a batch handler leaves the batch being trained untouched", "[trainer]") {
  // The nested pass walks the same data; the step after it must still get the batch whose
  // train_batch_start it came from, so the weights match a fit without the callback.
  auto data = linear_data(3, 4, 7);
  Linear plain, nested;
  Quiet<> a(quiet({.max_epochs = 1}));
  Quiet<Linear, kiln::Callbacks<ForwardFirst>> b(quiet({.max_epochs = 1}));
  a.fit(plain, data);
  b.fit(nested, data);
  REQUIRE(b.callback<ForwardFirst>().passes == 3);
  REQUIRE(torch::equal(plain.fc->weight, nested.fc->weight));
  REQUIRE(torch::equal(plain.fc->bias, nested.fc->bias));
  REQUIRE_FALSE(torch::equal(plain.fc->weight, Linear().fc->weight));
}

namespace {
// Linear whose training_step fails without gradients, so forward_over_train_data() fails on its first batch.
struct FailsWithoutGrad : Linear {
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    if (!torch::GradMode::is_enabled()) throw std::runtime_error("no gradients here");
    return Linear::training_step(b, ctx);
  }
};
// At batch 1, runs forward_over_train_data() and catches its error.
struct CatchesForwardError {
  int caught = 0;
  template <class T>
  void on(const kiln::event::train_batch_start& e, T& t) {
    if (e.batch_idx != 1) return;
    try {
      t.forward_over_train_data();
    } catch (const std::runtime_error&) {
      ++caught;
    }
  }
};
}  // namespace

TEST_CASE("a nested forward_over_train_data() that fails and is caught leaves the batch being trained untouched", "[trainer]") {
  // The nested pass stopped on batch 0; the loop's step at batch 1 must still train batch 1.
  auto data = linear_data(3, 4, 7);
  Linear plain;
  FailsWithoutGrad nested;
  Quiet<> a(quiet({.max_epochs = 1}));
  Quiet<FailsWithoutGrad, kiln::Callbacks<CatchesForwardError>> b(quiet({.max_epochs = 1}));
  a.fit(plain, data);
  b.fit(nested, data);
  REQUIRE(b.callback<CatchesForwardError>().caught == 1);
  REQUIRE(b.state().global_step == 3);
  REQUIRE(torch::equal(plain.fc->weight, nested.fc->weight));
  REQUIRE(torch::equal(plain.fc->bias, nested.fc->bias));
}
