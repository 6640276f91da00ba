// SPDX-License-Identifier: Apache-2.0
// tests/unit/util/seed_test.cpp — TrainerConfig::seed: the same seed repeats a run, another changes it.
#include <cstdint>
#include <utility>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

using kiln_test::linear_data;
using kiln_test::Linear;
using kiln_test::Quiet;
using kiln_test::quiet;

}  // namespace

TEST_CASE("seed makes a run repeatable, another seed changes it", "[trainer][seed]") {
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
