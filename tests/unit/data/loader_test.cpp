// SPDX-License-Identifier: Apache-2.0
// tests/unit/data/loader_test.cpp — data::loader: batches, epochs, workers, shards by rank; what a cut-short epoch reads; worker threads.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "data_fixture.hpp"

namespace {

using Catch::Matchers::Contains;

using data_fixture::ScopedEnv;

// A dataset of single examples: sample i is the scalar i; counts how many were read.
struct Numbers : torch::data::datasets::Dataset<Numbers> {
  std::size_t n;
  std::shared_ptr<std::atomic<int>> reads = std::make_shared<std::atomic<int>>(0);
  explicit Numbers(std::size_t size) : n(size) {}
  torch::data::Example<> get(std::size_t i) override {
    ++*reads;
    return {torch::tensor(static_cast<float>(i)), torch::tensor(static_cast<std::int64_t>(i))};
  }
  torch::optional<std::size_t> size() const override { return n; }
};

template <class L>
std::vector<std::int64_t> epoch_of(L& loader) {
  std::vector<std::int64_t> out;
  for (auto& b : loader)
    for (std::int64_t i = 0; i < b.target.size(0); ++i) out.push_back(b.target[i].template item<std::int64_t>());
  return out;
}

struct Mean : torch::nn::Module {
  torch::Tensor w = register_parameter("w", torch::zeros({1}));
  std::int64_t steps = 0, val_steps = 0;
  torch::Tensor training_step(const torch::data::Example<>& b, kiln::StepContext&) {
    ++steps;
    return (b.data.to(torch::kFloat).mean() - w).pow(2).sum();
  }
  void validation_step(const torch::data::Example<>&, kiln::StepContext&) { ++val_steps; }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), 0.1);
  }
};

// Each batch holds the intra-op thread count its get_batch saw, after a parallel op (the first
// one in a thread is where ATen sets the thread's count).
struct ThreadCounts : torch::data::datasets::BatchDataset<ThreadCounts, torch::data::Example<>> {
  torch::data::Example<> get_batch(c10::ArrayRef<std::size_t> indices) override {
    (void)torch::ones({1 << 20}).sum().item<float>();
    const auto n = static_cast<double>(at::get_num_threads());
    return {torch::full({static_cast<std::int64_t>(indices.size()), 1}, n), torch::zeros({static_cast<std::int64_t>(indices.size())})};
  }
  torch::optional<std::size_t> size() const override { return 64; }
};

}  // namespace

TEST_CASE("data::loader: batches, size, epochs and workers", "[data][loader]") {
  auto l = kiln::data::loader(Numbers(10), {.batch_size = 4, .shuffle = true, .seed = 1});
  REQUIRE(l.size() == 3);
  REQUIRE(l.options().rank == 0);
  REQUIRE(l.options().world_size == 1);
  const auto e0 = epoch_of(l), e1 = epoch_of(l);
  REQUIRE(e0.size() == 10);
  REQUIRE(std::set<std::int64_t>(e0.begin(), e0.end()).size() == 10);
  REQUIRE(e0 != e1);
  REQUIRE(l.epoch() == 1);
  l.set_epoch(0);
  REQUIRE(epoch_of(l) == e0);  // the same epoch again, the same order

  auto dropped = kiln::data::loader(Numbers(10), {.batch_size = 4, .drop_last = true});
  REQUIRE(dropped.size() == 2);
  REQUIRE(epoch_of(dropped) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});

  auto threaded = kiln::data::loader(Numbers(50), {.batch_size = 4, .shuffle = true, .workers = 2, .seed = 5});
  auto t = epoch_of(threaded);
  std::sort(t.begin(), t.end());
  REQUIRE(t.size() == 50);
  REQUIRE(t.front() == 0);
  REQUIRE(t.back() == 49);

  // The seed defaults to a draw from torch's generator: seeding torch repeats the run.
  torch::manual_seed(3);
  auto s1 = kiln::data::loader(Numbers(20), {.batch_size = 5, .shuffle = true});
  torch::manual_seed(3);
  auto s2 = kiln::data::loader(Numbers(20), {.batch_size = 5, .shuffle = true});
  REQUIRE(s1.options().seed == s2.options().seed);
  REQUIRE(epoch_of(s1) == epoch_of(s2));
}

TEST_CASE("data::loader shards by the launcher's rank and world size", "[data][loader]") {
  std::set<std::int64_t> all;
  for (int r = 0; r < 2; ++r) {
    ScopedEnv rank("RANK", std::to_string(r)), world("WORLD_SIZE", "2");
    auto l = kiln::data::loader(Numbers(11), {.batch_size = 2, .shuffle = true, .seed = 9});
    REQUIRE(l.options().rank == r);
    REQUIRE(l.options().world_size == 2);
    REQUIRE(l.size() == 3);  // 11 samples, 5 per rank when shuffling (even shards), batches of 2
    const auto e = epoch_of(l);
    REQUIRE(e.size() == 5);
    for (auto i : e) REQUIRE(all.insert(i).second);
  }
  ScopedEnv bad("WORLD_SIZE", "two"), rank("RANK", "0");
  REQUIRE_THROWS_WITH(kiln::data::loader(Numbers(4), {}), Contains("WORLD_SIZE"));
}

TEST_CASE("an epoch cut short on a loader with workers reads only what was in flight", "[data][loader]") {
  Numbers data(4000);
  auto reads = data.reads;
  auto l = kiln::data::loader(data, {.batch_size = 4, .workers = 2});
  Mean m;
  kiln::Trainer<Mean, kiln::Loggers<>> t({.max_epochs = 2, .limit_train_batches = 3, .enable_progress_bar = false});
  t.fit(m, l);
  REQUIRE(m.steps == 6);
  // 2 epochs x (3 used + at most 2 workers x 2 prefetched jobs) batches of 4, not 2 x 1000 batches.
  REQUIRE(reads->load() <= 2 * (3 + 4) * 4);
}

TEST_CASE("loader workers run their own ops on one thread, the training thread keeps its count", "[data][loader][threads]") {
  const int before = at::get_num_threads();
  kiln::configure_threads(2);
  std::set<double> seen;
  auto with_workers = kiln::data::loader(ThreadCounts{}, {.batch_size = 8, .workers = 2});
  for (auto& b : with_workers) seen.insert(b.data[0][0].item<double>());
  REQUIRE(seen == std::set<double>{1.0});     // as PyTorch's DataLoader workers: one thread each
  REQUIRE(at::get_num_threads() == 2);         // the training thread is untouched
  seen.clear();
  auto in_thread = kiln::data::loader(ThreadCounts{}, {.batch_size = 8});
  for (auto& b : in_thread) seen.insert(b.data[0][0].item<double>());
  REQUIRE(seen == std::set<double>{2.0});     // no workers: get_batch runs on the training thread
  kiln::configure_threads(before);
}
