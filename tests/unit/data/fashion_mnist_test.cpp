// SPDX-License-Identifier: Apache-2.0
// tests/unit/data/fashion_mnist_test.cpp — FashionMNIST: Debian's files, the seeded train/val split, normalisation, where its root comes from.
#include <cmath>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "data_fixture.hpp"

namespace {

using Catch::Matchers::Contains;

using data_fixture::fresh_dir;
using data_fixture::ScopedEnv;
using data_fixture::write_idx;

}  // namespace

TEST_CASE("FashionMNIST reads Debian's files, splits by seed and normalises", "[data][fashion_mnist]") {
  using kiln::data::FashionMNIST;
  using kiln::data::Split;
  FashionMNIST train({.split = Split::train}), val({.split = Split::val}), test({.split = Split::test});
  REQUIRE(train.size() == 55000u);
  REQUIRE(val.size() == 5000u);
  REQUIRE(test.size() == 10000u);
  REQUIRE(train.images().sizes() == torch::IntArrayRef({55000, 1, 28, 28}));
  REQUIRE(test.targets().min().item<std::int64_t>() == 0);
  REQUIRE(test.targets().max().item<std::int64_t>() == 9);
  REQUIRE(std::abs(train.images().mean().item<double>()) < 0.01);
  REQUIRE(std::abs(train.images().std().item<double>() - 1.0) < 0.01);
  // Every class is in the validation split, and each class holds about a tenth of it.
  auto counts = torch::bincount(val.targets());
  REQUIRE(counts.size(0) == 10);
  REQUIRE(counts.min().item<std::int64_t>() > 400);

  FashionMNIST again({.split = Split::val}), other({.split = Split::val, .split_seed = 1});
  REQUIRE(torch::equal(again.images(), val.images()));
  REQUIRE_FALSE(torch::equal(other.images(), val.images()));
  // Train and val come from the same 60000 images without overlap: their sums add up.
  FashionMNIST all({.split = Split::train, .val_size = 0, .normalize = false});
  FashionMNIST tr({.split = Split::train, .normalize = false}), va({.split = Split::val, .normalize = false});
  REQUIRE(all.size() == 60000u);
  const double whole = all.images().sum(torch::kDouble).item<double>();
  const double parts = tr.images().sum(torch::kDouble).item<double>() + va.images().sum(torch::kDouble).item<double>();
  REQUIRE(parts == Approx(whole).epsilon(1e-9));

  auto batch = train.get_batch(std::vector<std::size_t>{3, 1});
  REQUIRE(batch.data.sizes() == torch::IntArrayRef({2, 1, 28, 28}));
  REQUIRE(torch::equal(batch.data[0], train.images()[3]));
  REQUIRE(batch.target[1].item<std::int64_t>() == train.targets()[1].item<std::int64_t>());
}

TEST_CASE("FashionMNIST's root comes from the argument, then the environment", "[data][fashion_mnist]") {
  using kiln::data::FashionMNIST;
  const auto dir = fresh_dir("fmnist_root");
  write_idx(dir / "t10k-images-idx3-ubyte.gz", {3, 28, 28}, std::vector<std::uint8_t>(3 * 28 * 28, 255));
  write_idx(dir / "t10k-labels-idx1-ubyte.gz", {3}, {0, 9, 4});
  {
    ScopedEnv env(FashionMNIST::root_variable, dir.string());
    FashionMNIST t({.split = kiln::data::Split::test, .normalize = false});
    REQUIRE(t.size() == 3u);
    REQUIRE(t.images().max().item<float>() == 1.0f);
    REQUIRE(t.targets()[1].item<std::int64_t>() == 9);
  }
  const auto nowhere = dir / "nowhere";
  REQUIRE_THROWS_WITH(FashionMNIST({.root = nowhere}),
                      Contains(nowhere.string()) && Contains("dataset-fashion-mnist") && Contains("KILN_FASHION_MNIST_ROOT"));
  write_idx(dir / "t10k-labels-idx1-ubyte.gz", {2}, {0, 12});
  REQUIRE_THROWS_WITH(FashionMNIST({.root = dir, .split = kiln::data::Split::test}),
                      Contains("t10k-labels-idx1-ubyte.gz") && Contains("2 labels for 3 images"));
}
