// SPDX-License-Identifier: Apache-2.0
// kiln/data/sampler.hpp — ShardedSampler: seeded, reshuffled each epoch, one disjoint shard per rank.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include <torch/data/samplers/base.h>
#include <torch/serialize/archive.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>

namespace kiln::data {

/// How a ShardedSampler orders and splits the indices 0..size-1.
struct SamplerOptions {
  bool shuffle = false;
  std::uint64_t seed = 0;  ///< the permutation of epoch e depends only on (seed, e)
  int rank = 0;
  int world_size = 1;
  /// Cut the permuted indices to a multiple of world_size so every rank gets the same number
  /// (DDP needs equal step counts); else the first size % world_size ranks get one more.
  bool even_shards = false;
};

/// The sampler's state, shared between the copy inside a torch loader and the kiln::data::Loader
/// that wraps it (a torch loader keeps its sampler private).
struct SamplerState {
  SamplerOptions options;
  std::size_t size = 0;
  std::int64_t next_epoch = 0;  ///< the epoch the next reset() prepares
  std::int64_t epoch = -1;      ///< the epoch being served; -1 before the first
  std::vector<std::size_t> indices;
  std::size_t position = 0;
  bool exhausted = false;  ///< set to end an epoch early (see Loader::end_epoch)

  /// Samples this rank sees per epoch.
  std::size_t shard_size() const {
    const auto w = static_cast<std::size_t>(options.world_size), r = static_cast<std::size_t>(options.rank);
    if (options.even_shards) return size / w;
    return size / w + (r < size % w ? 1 : 0);
  }
};

/// A torch::data sampler (what StatelessDataLoader asks for index batches) whose epoch e
/// draws a permutation from (seed, e), then keeps every world_size-th index from `rank`:
/// ranks see disjoint shards, and an epoch is reproducible on its own (exact resume).
/// Fisher-Yates over std::mt19937_64 is used, not std::shuffle, whose result differs between
/// standard libraries.
class ShardedSampler : public torch::data::samplers::Sampler<std::vector<std::size_t>> {
 public:
  ShardedSampler(std::size_t size, SamplerOptions options) : state_(std::make_shared<SamplerState>()) {
    if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size)
      throw Error(fmt::format("kiln: sampler rank {} is not in [0, world_size={})", options.rank, options.world_size));
    state_->options = options;
    state_->size = size;
  }

  /// Starts the next epoch (the loader calls this from begin()).
  void reset(torch::optional<std::size_t> new_size = torch::nullopt) override {
    auto& s = *state_;
    if (new_size) s.size = *new_size;
    s.epoch = s.next_epoch++;
    s.indices = shard(s);
    s.position = 0;
    s.exhausted = false;
  }

  torch::optional<std::vector<std::size_t>> next(std::size_t batch_size) override {
    auto& s = *state_;
    if (s.exhausted || s.position >= s.indices.size()) return torch::nullopt;
    const std::size_t n = std::min(batch_size, s.indices.size() - s.position);
    std::vector<std::size_t> out(s.indices.begin() + std::ptrdiff_t(s.position),
                                 s.indices.begin() + std::ptrdiff_t(s.position + n));
    s.position += n;
    return out;
  }

  /// Saves which epoch comes next; the position inside an epoch is the loop's to restore.
  void save(torch::serialize::OutputArchive& archive) const override {
    archive.write("next_epoch", torch::tensor(state_->next_epoch));
  }
  void load(torch::serialize::InputArchive& archive) override {
    torch::Tensor next;
    archive.read("next_epoch", next);
    state_->next_epoch = next.item<std::int64_t>();
  }

  const std::shared_ptr<SamplerState>& state() const { return state_; }

  /// The indices rank `s.options.rank` sees in epoch `s.epoch`.
  static std::vector<std::size_t> shard(const SamplerState& s) {
    const auto& o = s.options;
    std::vector<std::size_t> all(s.size);
    for (std::size_t i = 0; i < s.size; ++i) all[i] = i;
    if (o.shuffle) {
      // One stream per (seed, epoch); the odd constant spreads consecutive epochs apart.
      std::mt19937_64 g(o.seed ^ (static_cast<std::uint64_t>(s.epoch) * 0x9E3779B97F4A7C15ULL));
      for (std::size_t i = s.size; i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(g() % i);  // bias below 2^-40 for any real size
        std::swap(all[i - 1], all[j]);
      }
    }
    const auto w = static_cast<std::size_t>(o.world_size);
    const std::size_t used = o.even_shards ? s.size / w * w : s.size;
    std::vector<std::size_t> mine;
    mine.reserve(s.shard_size());
    for (std::size_t i = static_cast<std::size_t>(o.rank); i < used; i += w) mine.push_back(all[i]);
    return mine;
  }

 private:
  std::shared_ptr<SamplerState> state_;
};

}  // namespace kiln::data
