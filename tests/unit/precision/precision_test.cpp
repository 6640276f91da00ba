// SPDX-License-Identifier: Apache-2.0
// tests/unit/precision/precision_test.cpp — precision policies: autocast dtypes, the loss scaler, casting, and learning.
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_data.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;
using Catch::Matchers::Contains;
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

kiln::TrainerConfig quiet(kiln::TrainerConfig c = {}) {
  c.enable_progress_bar = false;
  c.num_sanity_val_steps = 0;
  return c;
}
template <class Module, class P, class... More>
using Quiet = kiln::Trainer<Module, kiln::Loggers<>, kiln::Precision<P>, More...>;

using kiln_test::linear_data;

struct Linear : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  explicit Linear() {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

// loss = w * c for a scripted c per batch: the gradient of w is c, so a batch with c = inf or
// NaN plants a non-finite gradient and w's path is easy to compute by hand.
struct Scalar : torch::nn::Module {
  torch::Tensor w = register_parameter("w", torch::tensor({1.0f}));
  torch::Tensor training_step(const torch::Tensor& c, kiln::StepContext&) { return (w * c).sum(); }
  kiln::OptimizerConfig configure_optimizers() {
    auto opt = std::make_unique<torch::optim::SGD>(std::vector{w}, torch::optim::SGDOptions(0.5));
    auto sched = std::make_unique<kiln::StepLR>(*opt, 1, 0.5);  // halves the lr at every step it takes
    return {.optimizer = std::move(opt), .lr_scheduler = std::move(sched), .interval = kiln::Interval::step};
  }
};

std::vector<torch::Tensor> script(std::initializer_list<double> cs) {
  std::vector<torch::Tensor> out;
  for (double c : cs) out.push_back(torch::tensor({static_cast<float>(c)}));
  return out;
}

// After each batch: the scale, the growth tracker, w and the learning rate.
struct ScalerProbe {
  std::vector<double> scale, w, lr;
  std::vector<std::int64_t> tracker;
  template <class T>
  void on(const kiln::event::train_batch_end&, T& t) {
    scale.push_back(t.precision().scaler().get_scale());
    tracker.push_back(t.precision().scaler().growth_tracker());
    w.push_back(t.optimizers()[0].optimizer->param_groups()[0].params()[0].template item<double>());
    lr.push_back(static_cast<torch::optim::SGDOptions&>(t.optimizers()[0].optimizer->param_groups()[0].options()).lr());
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

TEST_CASE("FP16Mixed: the scale grows after the interval and never to infinity", "[precision][scaler]") {
  Scalar m;
  Quiet<Scalar, kiln::FP16Mixed, kiln::Callbacks<ScalerProbe>> t(
      quiet({.max_epochs = 1}), kiln::FP16Mixed{.scaler = {.init_scale = 1e38, .growth_factor = 4, .growth_interval = 1}});
  t.fit(m, script({1, 1}));
  // 1e38 * 4 overflows float32: the scale stays and the tracker restarts, as PyTorch's kernel does.
  CHECK(t.callback<ScalerProbe>().scale == std::vector<double>{static_cast<float>(1e38), static_cast<float>(1e38)});
  CHECK(t.callback<ScalerProbe>().tracker == std::vector<std::int64_t>{0, 0});
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

namespace {
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

TEST_CASE("GradScaler: state survives a save and load; bad options and state are errors", "[precision][scaler]") {
  auto p = torch::tensor({1.0f}).requires_grad_();
  torch::optim::SGD opt({p}, torch::optim::SGDOptions(0.1));
  auto iteration = [&](kiln::GradScaler& s, double c) {
    s.scale((p * c).sum()).backward();
    const bool taken = s.step(opt);
    s.update();
    p.mutable_grad() = torch::Tensor();
    return taken;
  };
  kiln::GradScaler a({.init_scale = 1024, .growth_factor = 4, .backoff_factor = 0.25, .growth_interval = 3});
  iteration(a, 1);
  iteration(a, inf);
  iteration(a, 1);
  const auto path = std::filesystem::temp_directory_path() / "kiln_scaler_state.pt";
  {
    torch::serialize::OutputArchive out;
    a.save(out);
    out.save_to(path.string());
  }
  kiln::GradScaler b;  // default options: all come from the file
  {
    torch::serialize::InputArchive in;
    in.load_from(path.string());
    b.load(in);
  }
  CHECK(b.get_scale() == a.get_scale());
  CHECK(b.get_scale() == 256.0);
  CHECK(b.growth_tracker() == 1);
  CHECK(b.options().growth_factor == 4);
  CHECK(b.options().backoff_factor == 0.25);
  CHECK(b.options().growth_interval == 3);
  // Both continue identically: two clean steps reach the interval and grow x4.
  for (auto* s : {&a, &b}) {
    iteration(*s, 1);
    iteration(*s, 1);
  }
  CHECK(a.get_scale() == 1024.0);
  CHECK(b.get_scale() == 1024.0);
  std::filesystem::remove(path);

  torch::serialize::OutputArchive partial;
  partial.write("scale", torch::tensor(2.0f));
  const auto partial_path = std::filesystem::temp_directory_path() / "kiln_scaler_partial.pt";
  partial.save_to(partial_path.string());
  torch::serialize::InputArchive in;
  in.load_from(partial_path.string());
  REQUIRE_THROWS_WITH(b.load(in), Contains("\"_growth_tracker\""));
  CHECK(b.get_scale() == 1024.0);  // a failed load changes nothing
  std::filesystem::remove(partial_path);

  REQUIRE_THROWS_WITH(kiln::GradScaler({.growth_factor = 1.0}), Contains("growth_factor=1") && Contains("> 1"));
  REQUIRE_THROWS_WITH(kiln::GradScaler({.backoff_factor = 1.5}), Contains("backoff_factor=1.5"));
  REQUIRE_THROWS_WITH(kiln::GradScaler({.growth_interval = 0}), Contains("growth_interval=0"));
  REQUIRE_THROWS_WITH(kiln::GradScaler({.init_scale = -1}), Contains("init_scale=-1"));
  // Misuse within one iteration.
  kiln::GradScaler s;
  s.scale((p * 1.0).sum()).backward();
  s.unscale(opt);
  REQUIRE_THROWS_WITH(s.unscale(opt), Contains("unscale() was called twice"));
  s.step(opt);
  REQUIRE_THROWS_WITH(s.step(opt), Contains("step() was called twice"));
}

TEST_CASE("FP64 and BF16True cast the module and the batches; integer buffers keep their type", "[precision][true]") {
  struct Net : torch::nn::Module {
    torch::nn::Linear fc{register_module("fc", torch::nn::Linear(3, 1))};
    torch::nn::BatchNorm1d bn{register_module("bn", torch::nn::BatchNorm1d(3))};
    std::vector<c10::ScalarType> x_seen, target_seen;
    torch::Tensor training_step(const Batch& b, kiln::StepContext&) {
      x_seen.push_back(b.first.scalar_type());
      return (fc(bn(b.first)) - b.second).pow(2).mean();  // LibTorch 1.13 has no bfloat16 mse_loss on CPU
    }
    std::unique_ptr<torch::optim::Adam> configure_optimizers() {
      return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(0.01));
    }
  };
  auto check = [&]<class P>(P, c10::ScalarType want) {
    Net m;
    Quiet<Net, P> t(quiet({.max_epochs = 1}));
    t.fit(m, linear_data(2, 4));
    CHECK(m.x_seen == std::vector<c10::ScalarType>(2, want));
    CHECK(m.fc->weight.scalar_type() == want);
    CHECK(m.bn->running_mean.scalar_type() == want);
    CHECK(m.bn->num_batches_tracked.scalar_type() == torch::kLong);  // Module::to(dtype) would make it `want`
    CHECK(m.bn->num_batches_tracked.item<std::int64_t>() == 2);
  };
  check(kiln::FP64{}, torch::kDouble);
  check(kiln::BF16True{}, torch::kBFloat16);
}

TEST_CASE("FP16True fails before the first step where float16 matmul is missing", "[precision][true]") {
  bool half_mm = true;
  try {
    (void)torch::mm(torch::ones({2, 2}, torch::kHalf), torch::ones({2, 2}, torch::kHalf));
  } catch (const c10::Error&) {
    half_mm = false;
  }
  Linear m;
  Quiet<Linear, kiln::FP16True> t(quiet({.max_epochs = 1}));
  if (half_mm) {
    t.fit(m, linear_data(2, 4));
    CHECK(m.fc->weight.scalar_type() == torch::kHalf);
  } else {  // CPU on LibTorch 1.13
    REQUIRE_THROWS_WITH(t.fit(m, linear_data(2, 4)),
                        Contains("Precision<FP16True> needs Half matrix multiplication on cpu") && Contains("BF16True"));
    CHECK(m.fc->weight.scalar_type() == torch::kFloat);  // nothing was cast
  }
}

// A small real problem: 2048 Fashion-MNIST training images, a 784-64-10 MLP, Adam, 2 epochs.
// Each policy must bring the loss on 1024 held-out images well below where it started.
namespace {
struct Mlp : torch::nn::Module {
  using B = torch::data::Example<>;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Mlp() {
    torch::manual_seed(3);
    fc1 = register_module("fc1", torch::nn::Linear(784, 64));
    fc2 = register_module("fc2", torch::nn::Linear(64, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x.flatten(1)))); }
  torch::Tensor training_step(const B& b, kiln::StepContext&) { return torch::cross_entropy_loss(forward(b.data), b.target); }
  void validation_step(const B& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::cross_entropy_loss(forward(b.data), b.target).to(torch::kFloat));
  }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(2e-3));
  }
};
std::vector<torch::data::Example<>> fashion_batches(kiln::data::Split split, std::int64_t n, std::int64_t batch) {
  kiln::data::FashionMNIST ds({.split = split});
  std::vector<torch::data::Example<>> out;
  for (std::int64_t i = 0; i < n; i += batch)
    out.push_back({ds.images().slice(0, i, i + batch), ds.targets().slice(0, i, i + batch)});
  return out;
}
}  // namespace

TEMPLATE_TEST_CASE("each precision policy learns a Fashion-MNIST subset", "[precision][fashion]", kiln::FP32,
                   kiln::FP64, kiln::BF16Mixed, kiln::FP16Mixed, kiln::BF16True) {
  static const auto train = fashion_batches(kiln::data::Split::train, 2048, 64);
  static const auto val = fashion_batches(kiln::data::Split::val, 1024, 256);
  Mlp m;
  Quiet<Mlp, TestType> t(quiet({.max_epochs = 2}));
  const double before = t.validate(m, val).at("val/loss");
  t.fit(m, train);
  const double after = t.validate(m, val).at("val/loss");
  INFO("val/loss before " << before << ", after " << after);
  CHECK(before > 2.0);  // ~ln(10) untrained
  CHECK(after < 0.6 * before);
}
