// SPDX-License-Identifier: Apache-2.0
// tests/unit/precision/mixed_test.cpp — BF16Mixed and FP16Mixed: autocast dtypes, float32 weights, skipped steps, clipping and accumulation under loss scaling.
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_data.hpp"
#include "precision_fixture.hpp"

namespace {

using kiln_test::linear_data;

using precision_fixture::Batch;
using precision_fixture::inf;
using precision_fixture::Linear;
using precision_fixture::not_a_number;
using precision_fixture::Quiet;
using precision_fixture::quiet;
using precision_fixture::Scalar;
using precision_fixture::ScalerProbe;
using precision_fixture::script;

// Manual optimization with two optimizers, each with its own loss.
struct TwoOpt : torch::nn::Module {
  static constexpr bool automatic_optimization = false;
  torch::Tensor a = register_parameter("a", torch::tensor({1.0f}));
  torch::Tensor b = register_parameter("b", torch::tensor({1.0f}));
  std::vector<bool> taken;
  void training_step(const std::pair<torch::Tensor, torch::Tensor>& c, kiln::StepContext& ctx) {
    ctx.manual_backward((a * c.first).sum());
    taken.push_back(ctx.optimizer_step(0));
    ctx.manual_backward((b * c.second).sum());
    taken.push_back(ctx.optimizer_step(1));
  }
  std::vector<kiln::OptimizerConfig> configure_optimizers() {
    std::vector<kiln::OptimizerConfig> out;
    out.push_back({.optimizer = std::make_unique<torch::optim::SGD>(std::vector{a}, torch::optim::SGDOptions(1.0))});
    out.push_back({.optimizer = std::make_unique<torch::optim::SGD>(std::vector{b}, torch::optim::SGDOptions(1.0))});
    return out;
  }
};

}  // namespace

TEST_CASE("BF16Mixed: matmul in bfloat16, loss in float32, weights stay float32", "[precision][bf16_mixed]") {
  struct Probe : Linear {
    std::vector<c10::ScalarType> out, loss, val_out;
    bool autocast_on = false;
    torch::Tensor training_step(const Batch& b, kiln::StepContext&) {
      auto y = fc(b.first);
      auto l = torch::mse_loss(y.to(torch::kFloat), b.second);  // as autocast documents, mse_loss runs in float32
      auto ce = torch::nn::functional::cross_entropy(torch::matmul(b.first, b.first.t()), torch::zeros({b.first.size(0)}, torch::kLong));
      out.push_back(y.scalar_type());
      loss.push_back(ce.scalar_type());
      autocast_on = kiln::compat::autocast_enabled(c10::DeviceType::CPU);
      return l;
    }
    void validation_step(const Batch& b, kiln::StepContext&) { val_out.push_back(fc(b.first).scalar_type()); }
  };
  auto data = linear_data(3, 4);
  Probe m;
  Quiet<Probe, kiln::BF16Mixed> t(quiet({.max_epochs = 1}));
  t.fit(m, data, data);
  REQUIRE(m.out == std::vector<c10::ScalarType>(3, torch::kBFloat16));
  REQUIRE(m.loss == std::vector<c10::ScalarType>(3, torch::kFloat));
  REQUIRE(m.val_out == std::vector<c10::ScalarType>(3, torch::kBFloat16));
  CHECK(m.autocast_on);
  CHECK_FALSE(kiln::compat::autocast_enabled(c10::DeviceType::CPU));  // the region ended with the step
  CHECK(m.fc->weight.scalar_type() == torch::kFloat);
  CHECK(t.precision().autocast_active());
}

TEST_CASE("FP16Mixed: the scaler follows a scripted sequence of clean and inf/NaN steps", "[precision][fp16_mixed][scaler]") {
  // init 8, growth x2 every 2 clean steps, backoff x0.5; SGD lr 0.5 halved after each taken step.
  //   c:        1     2     inf   3     nan   1      1
  //   taken:    y     y     n     y     n     y      y
  //   scale:    8     16    8     8     4     4      8
  //   tracker:  1     0     0     1     0     1      0
  //   lr used:  .5    .25   -     .125  -     .0625  .03125
  //   w:        .5    0     0     -.375 -.375 -.4375 -.46875
  Scalar m;
  Quiet<Scalar, kiln::FP16Mixed, kiln::Callbacks<ScalerProbe>> t(
      quiet({.max_epochs = 1}), kiln::FP16Mixed{.scaler = {.init_scale = 8, .growth_interval = 2}});
  t.fit(m, script({1, 2, inf, 3, not_a_number, 1, 1}));
  auto& p = t.callback<ScalerProbe>();
  CHECK(p.scale == std::vector<double>{8, 16, 8, 8, 4, 4, 8});
  CHECK(p.tracker == std::vector<std::int64_t>{1, 0, 0, 1, 0, 1, 0});
  CHECK(p.w == std::vector<double>{0.5, 0, 0, -0.375, -0.375, -0.4375, -0.46875});
  // The scheduler stepped only with the optimizer: 5 taken steps, lr 0.5 * 0.5^5.
  CHECK(p.lr.back() == 0.5 * std::pow(0.5, 5));
  CHECK(t.state().global_step == 7);  // a skipped step still counts, as in Lightning
}

TEST_CASE("FP16Mixed: clipping acts on unscaled gradients (same weights as FP32)", "[precision][fp16_mixed][clip]") {
  auto data = linear_data(6, 8);
  auto run = [&]<class P>(P precision, std::optional<double> clip, std::int64_t accumulate) {
    Linear m;
    const auto config = quiet({.max_epochs = 2, .accumulate_grad_batches = accumulate, .gradient_clip_val = clip});
    if constexpr (std::is_same_v<P, kiln::FP16Mixed>) {
      Quiet<Linear, P> t(config, precision);
      t.fit(m, data);
    } else {
      Quiet<Linear, P> t(config);
      t.fit(m, data);
    }
    return std::vector<torch::Tensor>{m.fc->weight.clone(), m.fc->bias.clone()};
  };
  auto same = [](const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
    return torch::equal(a[0], b[0]) && torch::equal(a[1], b[1]);
  };
  // The scale is a power of two, so scaling and unscaling are exact: FP16Mixed gives the same
  // weights bit for bit whatever its scale, while clipping the scaled gradients would shrink
  // every step by the scale. (No scale overflows float16 here: no step is skipped.)
  const kiln::FP16Mixed scale_1{.scaler = {.init_scale = 1}}, scale_1024{.scaler = {.init_scale = 1024}};
  const auto fp16 = run(scale_1024, 0.05, 1);
  CHECK(same(fp16, run(scale_1, 0.05, 1)));
  // Gradient accumulation: one scale over the 4 micro-batches, unscaled once before the step.
  CHECK(same(run(scale_1024, 0.05, 4), run(scale_1, 0.05, 4)));
  const auto fp32 = run(kiln::FP32{}, 0.05, 1);
  CHECK_FALSE(same(run(kiln::FP32{}, std::nullopt, 1), fp32));  // the clip was active
  // Where this CPU cannot autocast to float16 (LibTorch 1.13), FP16Mixed runs a float32 forward
  // and must give FP32's weights bit for bit (on 2.x the float16 forward rounds differently).
  if (!kiln::compat::autocast_supports(c10::DeviceType::CPU, at::kHalf)) {
    CHECK(same(fp16, fp32));
    CHECK(same(run(kiln::FP16Mixed{}, 0.05, 4), run(kiln::FP32{}, 0.05, 4)));
  }
}

TEST_CASE("FP16Mixed: an inf in one micro-batch skips the whole accumulated step", "[precision][fp16_mixed]") {
  Scalar m;
  Quiet<Scalar, kiln::FP16Mixed, kiln::Callbacks<ScalerProbe>> t(quiet({.max_epochs = 1, .accumulate_grad_batches = 2}),
                                                                 kiln::FP16Mixed{.scaler = {.init_scale = 8}});
  t.fit(m, script({1, inf, 1, 1}));
  auto& p = t.callback<ScalerProbe>();
  CHECK(p.scale == std::vector<double>{8, 4, 4, 4});  // one backoff per optimizer step, not per micro-batch
  // Step 1 (c = 1, inf) skipped; step 2: w -= 0.5 * (1 + 1) / 2, at the lr the skip left unchanged.
  CHECK(p.w == std::vector<double>{1, 1, 1, 0.5});
  CHECK(t.state().global_step == 2);
}

TEST_CASE("FP16Mixed with two optimizers: found-inf per optimizer, one update per iteration", "[precision][fp16_mixed][manual]") {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> data{{torch::tensor({float(inf)}), torch::tensor({1.0f})},
                                                            {torch::tensor({1.0f}), torch::tensor({2.0f})}};
  TwoOpt m;
  Quiet<TwoOpt, kiln::FP16Mixed> t(quiet({.max_epochs = 1}), kiln::FP16Mixed{.scaler = {.init_scale = 8}});
  t.fit(m, data);
  CHECK(m.taken == std::vector<bool>{false, true, true, true});
  CHECK(m.a.item<double>() == 0.0);   // skipped, then 1 - 1
  CHECK(m.b.item<double>() == -2.0);  // 1 - 1 - 2: its step in the first iteration was clean
  CHECK(t.precision().scaler().get_scale() == 4.0);  // backed off once, then one clean step
  CHECK(t.precision().scaler().growth_tracker() == 1);
}
