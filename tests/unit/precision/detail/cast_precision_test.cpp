// SPDX-License-Identifier: Apache-2.0
// tests/unit/precision/detail/cast_precision_test.cpp — FP64, BF16True and FP16True (detail::CastPrecision): the module and the batches cast to one dtype.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../../linear_data.hpp"
#include "../precision_fixture.hpp"

namespace {

using Catch::Matchers::Contains;
using kiln_test::linear_data;

using precision_fixture::Batch;
using precision_fixture::Linear;
using precision_fixture::Quiet;
using precision_fixture::quiet;

}  // namespace

TEST_CASE("FP64 and BF16True cast the module and the batches, integer buffers keep their type", "[precision][true]") {
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
