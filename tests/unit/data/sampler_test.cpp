// SPDX-License-Identifier: Apache-2.0
// tests/unit/data/sampler_test.cpp — ShardedSampler: seeded, reshuffled every epoch, disjoint shards per rank.
#include <algorithm>
#include <cstddef>
#include <set>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

namespace {

using Catch::Matchers::Contains;

std::vector<std::size_t> epoch_indices(kiln::data::ShardedSampler& s) {
  s.reset();
  std::vector<std::size_t> out;
  while (auto b = s.next(3)) out.insert(out.end(), b->begin(), b->end());
  return out;
}

}  // namespace

TEST_CASE("ShardedSampler: reproducible from the seed, reshuffled every epoch", "[data][sampler]") {
  kiln::data::ShardedSampler a(100, {.shuffle = true, .seed = 7}), b(100, {.shuffle = true, .seed = 7}),
      c(100, {.shuffle = true, .seed = 8});
  const auto a0 = epoch_indices(a), a1 = epoch_indices(a);
  REQUIRE(a0 == epoch_indices(b));
  REQUIRE(a1 == epoch_indices(b));
  REQUIRE(a0 != a1);                  // a new order each epoch
  REQUIRE(a0 != epoch_indices(c));    // another seed, another order
  auto sorted = a1;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < 100; ++i) REQUIRE(sorted[i] == i);  // a permutation
  a.state()->next_epoch = 0;           // what a resumed run does
  REQUIRE(epoch_indices(a) == a0);

  kiln::data::ShardedSampler plain(5, {});
  REQUIRE(epoch_indices(plain) == std::vector<std::size_t>{0, 1, 2, 3, 4});
}

TEST_CASE("ShardedSampler: ranks see disjoint shards", "[data][sampler]") {
  for (bool even : {false, true}) {
    std::set<std::size_t> seen;
    std::size_t total = 0;
    for (int r = 0; r < 3; ++r) {
      kiln::data::ShardedSampler s(10, {.shuffle = true, .seed = 3, .rank = r, .world_size = 3, .even_shards = even});
      const auto idx = epoch_indices(s);
      REQUIRE(idx.size() == s.state()->shard_size());
      REQUIRE(idx.size() == (even ? 3u : (r == 0 ? 4u : 3u)));
      total += idx.size();
      seen.insert(idx.begin(), idx.end());
    }
    REQUIRE(seen.size() == total);  // no index on two ranks
    REQUIRE(total == (even ? 9u : 10u));
  }
  REQUIRE_THROWS_WITH(kiln::data::ShardedSampler(10, {.rank = 2, .world_size = 2}), Contains("rank 2"));
}
