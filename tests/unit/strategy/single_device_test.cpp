// SPDX-License-Identifier: Apache-2.0
// tests/unit/strategy/single_device_test.cpp — SingleDevice on CPU: Conv2d weights channels-last, the same training either way.
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/trainer.hpp>

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Convy : torch::nn::Module {
  torch::nn::Conv2d conv0{nullptr};  // one input channel: NCHW strides pass is_contiguous(ChannelsLast)
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc{nullptr};
  torch::Tensor kernel;  // a 4-D parameter of the user's own, used through view(): must keep its layout
  Convy() {
    torch::manual_seed(11);
    conv0 = register_module("conv0", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 3, 3).padding(1)));  // as the CNN's conv1
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)));
    fc = register_module("fc", torch::nn::Linear(8 * 6 * 6, 2));
    kernel = register_parameter("kernel", torch::randn({2, 2, 1, 1}) * 0.1);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(conv(conv0(x))).flatten(1);
    return fc(h) + kernel.view({2, 2}).sum(1);
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::cross_entropy_loss(forward(b.first), b.second); }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-2));
  }
};

std::vector<Batch> images() {
  torch::manual_seed(3);
  std::vector<Batch> out;
  for (int i = 0; i < 6; ++i) out.emplace_back(torch::randn({5, 1, 6, 6}), torch::randint(0, 2, {5}));
  return out;
}

}  // namespace

TEST_CASE("SingleDevice on CPU stores Conv2d weights channels-last, training gives the same numbers", "[strategy][single_device]") {
  auto data = images();
  Convy fast, plain;
  const auto conv_id = fast.conv->weight.unsafeGetTensorImpl();
  kiln::Trainer<Convy, kiln::Loggers<>> a({.max_epochs = 2, .enable_progress_bar = false, .num_threads = 1});
  kiln::Trainer<Convy, kiln::Loggers<>> b({.max_epochs = 2, .enable_progress_bar = false, .num_threads = 1, .cpu_channels_last = false});
  a.fit(fast, data);
  b.fit(plain, data);

  // LibTorch picks a convolution's layout from the strides (suggest_memory_format): both
  // weights must say channels-last, conv0's too although its NCHW strides already passed
  // is_contiguous(ChannelsLast) (that left it NCHW and made training 0.8x as fast).
  REQUIRE(fast.conv0->weight.suggest_memory_format() == c10::MemoryFormat::ChannelsLast);
  REQUIRE(fast.conv->weight.suggest_memory_format() == c10::MemoryFormat::ChannelsLast);
  REQUIRE_FALSE(fast.conv->weight.is_contiguous());
  REQUIRE(fast.conv->weight.unsafeGetTensorImpl() == conv_id);  // the same Parameter, re-laid out
  REQUIRE(fast.kernel.is_contiguous());                         // not a Conv2d weight: untouched
  REQUIRE(plain.conv->weight.is_contiguous());                  // cpu_channels_last = false
  REQUIRE(plain.conv0->weight.suggest_memory_format() == c10::MemoryFormat::Contiguous);

  // 12 Adam steps through a different convolution algorithm: equal up to float rounding.
  const auto trained = plain.named_parameters();
  for (const auto& item : fast.named_parameters()) {
    INFO(item.key());
    REQUIRE(torch::allclose(item.value(), trained[item.key()], 1e-4, 1e-5));
  }
  REQUIRE_FALSE(torch::allclose(fast.conv->weight, Convy().conv->weight));  // and they did train
}
