// SPDX-License-Identifier: Apache-2.0
// Unit tests for kiln/optim/lr_schedulers.hpp: every expected lr is hand-computed from PyTorch's documented formulas.
#include <kiln/optim/lr_schedulers.hpp>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

namespace {

// One parameter, plain SGD at lr 0.1: the schedulers only touch param-group options, so nothing else matters.
struct OneGroup {
  torch::Tensor w = torch::zeros({2}, torch::requires_grad());
  torch::optim::SGD opt{std::vector<torch::Tensor>{w}, torch::optim::SGDOptions(0.1)};
  double lr(std::size_t g = 0) const { return opt.param_groups()[g].options().get_lr(); }
};

// Two param groups at lr 0.1 and 0.02, to check each group is scheduled from its own base lr.
struct TwoGroups {
  torch::Tensor a = torch::zeros({2}, torch::requires_grad());
  torch::Tensor b = torch::zeros({3}, torch::requires_grad());
  torch::optim::SGD opt{make_groups(a, b), torch::optim::SGDOptions(0.1)};
  double lr(std::size_t g) const { return opt.param_groups()[g].options().get_lr(); }

  static std::vector<torch::optim::OptimizerParamGroup> make_groups(const torch::Tensor& a, const torch::Tensor& b) {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<torch::Tensor>{a}, std::make_unique<torch::optim::SGDOptions>(0.1));
    groups.emplace_back(std::vector<torch::Tensor>{b}, std::make_unique<torch::optim::SGDOptions>(0.02));
    return groups;
  }
};

constexpr double kEps = 1e-12;

// Checks the lr before any step, then after each step, against `expected` (index = number of step() calls).
void expect_schedule(kiln::LRScheduler& s, const OneGroup& f, const std::vector<double>& expected) {
  for (std::size_t k = 0; k < expected.size(); ++k) {
    if (k > 0) s.step();
    INFO("after " << k << " step() calls");
    CHECK(s.last_step() == static_cast<std::int64_t>(k));
    CHECK(f.lr() == Approx(expected[k]).epsilon(kEps).margin(1e-15));
    CHECK(s.get_last_lr()[0] == Approx(expected[k]).epsilon(kEps).margin(1e-15));
  }
}

}  // namespace

TEST_CASE("StepLR multiplies the rate by gamma every step_size steps", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::StepLR s(f.opt, 2, 0.5);
  CHECK(s.base_lrs() == std::vector<double>{0.1});
  CHECK(&s.optimizer() == &f.opt);
  // 0.1 * 0.5^(t / 2), integer division
  expect_schedule(s, f, {0.1, 0.1, 0.05, 0.05, 0.025});
}

TEST_CASE("MultiStepLR multiplies the rate by gamma at each milestone", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::MultiStepLR s(f.opt, {2, 5}, 0.1);
  // 0.1 * 0.1^(number of milestones <= t)
  expect_schedule(s, f, {0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001});
}

TEST_CASE("ExponentialLR multiplies the rate by gamma every step", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::ExponentialLR s(f.opt, 0.9);
  // 0.1 * 0.9^t
  expect_schedule(s, f, {0.1, 0.09, 0.081, 0.0729});
}

TEST_CASE("CosineAnnealingLR follows the closed-form cosine from base_lr to eta_min", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::CosineAnnealingLR s(f.opt, 10, 0.01);
  // 0.01 + (0.1 - 0.01) * (1 + cos(pi * t / 10)) / 2
  const std::vector<std::pair<std::int64_t, double>> at = {
      {0, 0.1},                  // cos(0) = 1
      {2, 0.09140576474687263},  // 0.01 + 0.09 * (1 + cos(0.2 pi)) / 2
      {5, 0.055},                // cos(pi / 2) = 0
      {10, 0.01},                // cos(pi) = -1
      {15, 0.055},               // past T_max the cosine continues: cos(1.5 pi) = 0
  };
  for (const auto& [t, lr] : at) {
    while (s.last_step() < t) s.step();
    INFO("t = " << t);
    CHECK(f.lr() == Approx(lr).epsilon(kEps));
  }
}

TEST_CASE("Schedulers scale each param group from its own base lr", "[loops][lr_schedulers]") {
  TwoGroups f;
  kiln::CosineAnnealingLR s(f.opt, 4);
  CHECK(s.base_lrs() == std::vector<double>{0.1, 0.02});
  s.step();
  s.step();
  // base * (1 + cos(pi * 2 / 4)) / 2 = base / 2
  CHECK(f.lr(0) == Approx(0.05).epsilon(kEps));
  CHECK(f.lr(1) == Approx(0.01).epsilon(kEps));
  const auto last = s.get_last_lr();
  REQUIRE(last.size() == 2);
  CHECK(last[1] == Approx(0.01).epsilon(kEps));
}

TEST_CASE("LinearWarmup ramps linearly then hands over to the inner schedule", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::LinearWarmup s(f.opt, 4, 0.25, std::make_unique<kiln::CosineAnnealingLR>(f.opt, 4));
  CHECK(s.base_lrs() == std::vector<double>{0.1});
  // t < 4: 0.1 * (0.25 + 0.75 * t / 4); t >= 4: 0.1 * (1 + cos(pi * (t - 4) / 4)) / 2
  expect_schedule(s, f,
                  {0.025, 0.04375, 0.0625, 0.08125,  // warmup
                   0.1, 0.08535533905932738, 0.05,   // cosine from its t = 0
                   0.014644660940672627, 0.0});
}

TEST_CASE("LinearWarmup without an inner schedule holds base_lr, per group", "[loops][lr_schedulers]") {
  TwoGroups f;
  kiln::LinearWarmup s(f.opt, 2, 0.5);
  CHECK(f.lr(0) == Approx(0.05).epsilon(kEps));  // 0.1 * 0.5
  CHECK(f.lr(1) == Approx(0.01).epsilon(kEps));  // 0.02 * 0.5
  s.step();
  CHECK(f.lr(0) == Approx(0.075).epsilon(kEps));  // 0.1 * (0.5 + 0.5 * 1 / 2)
  CHECK(f.lr(1) == Approx(0.015).epsilon(kEps));
  for (int i = 0; i < 3; ++i) s.step();
  CHECK(f.lr(0) == Approx(0.1).epsilon(kEps));
  CHECK(f.lr(1) == Approx(0.02).epsilon(kEps));
}

TEST_CASE("LinearWarmup takes its base lrs from the inner scheduler, not the lrs it already changed",
          "[loops][lr_schedulers]") {
  OneGroup f;
  // OneCycleLR writes max_lr / div_factor = 0.04 into the optimizer and reports it as its base lr (as PyTorch does),
  // so the warmup ramps towards 0.04 and meets the cycle where it starts.
  auto cycle = std::make_unique<kiln::OneCycleLR>(f.opt, 1.0, 10);
  CHECK(f.lr() == Approx(0.04).epsilon(kEps));
  kiln::LinearWarmup s(f.opt, 2, 0.5, std::move(cycle));
  expect_schedule(s, f, {0.02, 0.03, 0.04, 0.52, 1.0});  // 0.04 * 0.5, 0.04 * 0.75, then OneCycle t = 0, 1, 2
}

TEST_CASE("OneCycleLR matches PyTorch's two-phase cosine schedule step by step", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::OneCycleLR s(f.opt, 1.0, 10);  // pct_start 0.3, div_factor 25, final_div_factor 1e4
  // initial = 1 / 25 = 0.04, min = 0.04 / 1e4 = 4e-6; phase 1 ends at 0.3 * 10 - 1 = 2, phase 2 at 10 - 1 = 9.
  // anneal(start, end, pct) = end + (start - end) / 2 * (cos(pi * pct) + 1)
  // t <= 2: anneal(0.04, 1, t / 2); t > 2: anneal(1, 4e-6, (t - 2) / 7)
  CHECK(s.base_lrs() == std::vector<double>{0.04});
  expect_schedule(s, f,
                  {0.04, 0.52, 1.0,
                   0.9504846320134737,     // 4e-6 + 0.499998 * (1 + cos(pi / 7))
                   0.8117456539497631,     // k = 2
                   0.6112620219362893,     // k = 3
                   0.38874197806371075,    // k = 4
                   0.18825834605023697,    // k = 5
                   0.049519367986526286,   // k = 6
                   4e-6,                   // k = 7: cos(pi) = -1
                   0.04951936798652623});  // t = total_steps is still allowed in PyTorch; cos(8 pi / 7)
  CHECK_THROWS_AS(s.step(), kiln::Error);
  CHECK(s.last_step() == 10);  // a failed step changes nothing
  CHECK(f.lr() == Approx(0.04951936798652623).epsilon(kEps));
}

TEST_CASE("OneCycleLR with cos = false anneals linearly", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::OneCycleLR s(f.opt, 1.0, 10, 0.3, 25.0, 1e4, false);
  // t <= 2: 0.04 + (1 - 0.04) * t / 2; t > 2: 1 + (4e-6 - 1) * (t - 2) / 7
  expect_schedule(s, f, {0.04, 0.52, 1.0, 0.8571434285714286, 0.7142868571428571});
}

TEST_CASE("OneCycleLR throws naming total_steps when stepped past it", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::OneCycleLR s(f.opt, 0.5, 3);
  for (int i = 0; i < 3; ++i) s.step();
  REQUIRE_THROWS_WITH(s.step(), Catch::Contains("total_steps"));
}

TEST_CASE("ReduceLROnPlateau cuts the rate after patience bad steps, honours cooldown and min_lr",
          "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::ReduceLROnPlateau::Options o;
  o.factor = 0.5;
  o.patience = 2;
  o.cooldown = 1;
  o.min_lr = 0.03;
  kiln::ReduceLROnPlateau s(f.opt, o);
  CHECK(s.needs_metric());
  CHECK(f.lr() == Approx(0.1).epsilon(kEps));  // construction does not touch the lr

  // mode min, rel threshold 1e-4: better iff metric < best * (1 - 1e-4). Reduce when num_bad > patience = 2.
  struct Row {
    double metric;
    double lr;  // lr after this step
  };
  const std::vector<Row> script = {
      {1.0, 0.1},      // 1: best = 1
      {0.5, 0.1},      // 2: best = 0.5
      {0.6, 0.1},      // 3: bad = 1
      {0.49996, 0.1},  // 4: not below 0.5 * (1 - 1e-4) = 0.49995, bad = 2
      {0.6, 0.05},     // 5: bad = 3 > 2 -> lr = 0.1 * 0.5; cooldown = 1, bad = 0
      {0.6, 0.05},     // 6: bad = 1 but in cooldown -> cooldown 0, bad = 0
      {0.6, 0.05},     // 7: bad = 1
      {0.4, 0.05},     // 8: improvement, best = 0.4, bad = 0
      {0.6, 0.05},     // 9: bad = 1
      {0.6, 0.05},     // 10: bad = 2
      {0.6, 0.03},     // 11: bad = 3 -> max(0.05 * 0.5, min_lr 0.03) = 0.03
      {0.6, 0.03},     // 12: cooldown
      {0.6, 0.03},     // 13: bad = 1
      {0.6, 0.03},     // 14: bad = 2
      {0.6, 0.03},     // 15: bad = 3 -> max(0.015, 0.03) = 0.03: unchanged, floor holds
  };
  for (std::size_t i = 0; i < script.size(); ++i) {
    s.step(script[i].metric);
    INFO("step " << i + 1);
    CHECK(s.last_step() == static_cast<std::int64_t>(i + 1));
    CHECK(f.lr() == Approx(script[i].lr).epsilon(kEps));
  }
  CHECK(s.best() == 0.4);
}

TEST_CASE("ReduceLROnPlateau in max mode with an absolute threshold", "[loops][lr_schedulers]") {
  TwoGroups f;
  kiln::ReduceLROnPlateau::Options o;
  o.mode = kiln::Mode::max;
  o.threshold_rel = false;
  o.threshold = 0.1;
  o.patience = 0;
  kiln::ReduceLROnPlateau s(f.opt, o);
  s.step(0.5);   // better than -inf: best = 0.5
  s.step(0.55);  // not above 0.5 + 0.1: bad = 1 > 0 -> both groups * 0.1
  CHECK(f.lr(0) == Approx(0.01).epsilon(kEps));
  CHECK(f.lr(1) == Approx(0.002).epsilon(kEps));
  s.step(0.7);  // above 0.6: better
  CHECK(f.lr(0) == Approx(0.01).epsilon(kEps));
}

TEST_CASE("ReduceLROnPlateau::step() without a metric throws", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::ReduceLROnPlateau s(f.opt);
  REQUIRE_THROWS_WITH(s.step(), Catch::Contains("monitored value"));
  kiln::LRScheduler& base = s;
  REQUIRE_THROWS_AS(base.step(), kiln::Error);
  CHECK(s.last_step() == 0);
}

TEST_CASE("Metric-free schedulers accept and ignore a metric", "[loops][lr_schedulers]") {
  OneGroup f;
  kiln::StepLR s(f.opt, 1, 0.5);
  CHECK_FALSE(s.needs_metric());
  s.step(123.0);
  CHECK(f.lr() == Approx(0.05).epsilon(kEps));
}

TEST_CASE("Scheduler arguments are validated with errors naming the argument", "[loops][lr_schedulers]") {
  OneGroup f;
  REQUIRE_THROWS_WITH(kiln::StepLR(f.opt, 0), Catch::Contains("StepLR") && Catch::Contains("step_size"));
  REQUIRE_THROWS_WITH(kiln::StepLR(f.opt, 0), Catch::Contains("(got 0)"));
  REQUIRE_THROWS_WITH(kiln::MultiStepLR(f.opt, {3, 2}), Catch::Contains("milestones"));
  REQUIRE_THROWS_WITH(kiln::MultiStepLR(f.opt, {2, 2}), Catch::Contains("milestones"));
  REQUIRE_THROWS_WITH(kiln::ExponentialLR(f.opt, 0.0), Catch::Contains("gamma"));
  REQUIRE_THROWS_WITH(kiln::CosineAnnealingLR(f.opt, 0), Catch::Contains("T_max"));
  REQUIRE_THROWS_WITH(kiln::LinearWarmup(f.opt, 0, 0.5), Catch::Contains("warmup_steps"));
  REQUIRE_THROWS_WITH(kiln::LinearWarmup(f.opt, 4, 0.0), Catch::Contains("start_factor"));
  REQUIRE_THROWS_WITH(kiln::OneCycleLR(f.opt, 1.0, 0), Catch::Contains("total_steps"));
  REQUIRE_THROWS_WITH(kiln::OneCycleLR(f.opt, 0.0, 10), Catch::Contains("max_lr"));
  REQUIRE_THROWS_WITH(kiln::OneCycleLR(f.opt, 1.0, 10, 1.5), Catch::Contains("pct_start"));
  kiln::ReduceLROnPlateau::Options o;
  o.factor = 1.0;
  REQUIRE_THROWS_WITH(kiln::ReduceLROnPlateau(f.opt, o), Catch::Contains("factor"));
  o = {};
  o.patience = -1;
  REQUIRE_THROWS_WITH(kiln::ReduceLROnPlateau(f.opt, o), Catch::Contains("patience"));
  CHECK(f.lr() == Approx(0.1).epsilon(kEps));  // failed constructions leave the optimizer alone
}

TEST_CASE("LinearWarmup rejects an inner scheduler bound to another optimizer", "[loops][lr_schedulers]") {
  OneGroup f;
  OneGroup other;
  REQUIRE_THROWS_WITH(kiln::LinearWarmup(f.opt, 2, 0.5, std::make_unique<kiln::StepLR>(other.opt, 1)),
                      Catch::Contains("same optimizer"));
  REQUIRE_THROWS_WITH(kiln::LinearWarmup(f.opt, 2, 0.5, std::make_unique<kiln::ReduceLROnPlateau>(f.opt)),
                      Catch::Contains("after"));
}
