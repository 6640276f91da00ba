// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/model_summary_test.cpp — ModelSummary: submodules with their parameter counts, and human-readable counts.
#include <string>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>

namespace {

using Catch::Matchers::Contains;

struct Net2 : torch::nn::Module {
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear head{nullptr};
  Net2() {
    features = register_module("features", torch::nn::Sequential(torch::nn::Conv2d(1, 8, 3), torch::nn::ReLU()));
    head = register_module("head", torch::nn::Linear(8 * 26 * 26, 10));
    head->bias.set_requires_grad(false);
  }
};

}  // namespace

TEST_CASE("ModelSummary lists submodules with their parameter counts", "[callbacks][model_summary]") {
  Net2 n;
  const std::string s = kiln::summarize(n);
  // features: 8*1*3*3 + 8 = 80; head: 5408*10 + 10 = 54090 (its 10 biases frozen).
  REQUIRE_THAT(s, Contains("features | Sequential |     80"));
  REQUIRE_THAT(s, Contains("head     | Linear     | 54.1 K"));
  REQUIRE_THAT(s, Contains("54.2 K    Trainable params"));
  REQUIRE_THAT(s, Contains("10        Non-trainable params"));
  REQUIRE_THAT(s, Contains("54.2 K    Total params"));
  REQUIRE_THAT(s, Contains("0.217     Total estimated model params size (MB)"));
  REQUIRE_FALSE(Contains("features.0").match(s));
  REQUIRE_THAT(kiln::summarize(n, 2), Contains("features.0 | Conv2d"));
  REQUIRE(kiln::human_count(999) == "999");
  REQUIRE(kiln::human_count(1'234'567) == "1.2 M");
}
