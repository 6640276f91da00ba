// SPDX-License-Identifier: Apache-2.0
// kiln/data/loader.hpp — kiln::data::loader: a LibTorch loader with a seeded, sharded sampler and a size.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <torch/data/dataloader.h>
#include <torch/data/datasets/base.h>
#include <torch/data/transforms/stack.h>
#include <torch/types.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/data/sampler.hpp>
#include <kiln/strategy/environment.hpp>
#include <kiln/util/threads.hpp>

namespace kiln::data {

/// Options of kiln::data::loader (PyTorch's DataLoader names).
struct LoaderOptions {
  /// Samples per batch on each process: under DDP with N processes a step sees N * batch_size
  /// samples in all (Lightning's meaning; Ignite's auto_dataloader divides by N instead).
  std::size_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;  ///< drop each epoch's last batch when it is smaller than batch_size
  /// Threads that fetch batches ahead (0: the training thread fetches). Their own ops run on
  /// one intra-op thread each, so they add `workers` threads, not workers x intra-op threads.
  std::size_t workers = 0;
  /// Seed of the shuffling; default: drawn from torch's generator when the loader is built, so
  /// torch::manual_seed / kiln::seed_everything before building it makes runs repeat.
  std::optional<std::uint64_t> seed;
  /// This process's shard; default: the launcher's environment (RANK/WORLD_SIZE, OpenMPI,
  /// SLURM), one process when there is none.
  std::optional<int> rank;
  std::optional<int> world_size;
  /// Equal shard sizes on every rank (drops up to world_size-1 samples per epoch, different
  /// ones each epoch when shuffling); default: on when shuffling (training), off otherwise
  /// (evaluation: every sample exactly once, shards may differ by one).
  std::optional<bool> even_shards;
};

namespace detail {
// A dataset of single examples (torch::data::datasets::Dataset) whose examples can be stacked.
template <class D>
concept stackable_examples = requires { typename D::ExampleType; } &&
    std::is_same_v<typename D::BatchType, std::vector<typename D::ExampleType>> &&
    requires { torch::data::transforms::Stack<typename D::ExampleType>(); };

/// Forwards to D; with `one_thread` (the loader has workers, so every get_batch runs in a
/// worker thread) the calling thread's ops run single-threaded (one_intra_op_thread_here).
template <class D>
class WorkerDataset
    : public torch::data::datasets::BatchDataset<WorkerDataset<D>, typename D::BatchType, typename D::BatchRequestType> {
 public:
  WorkerDataset(D dataset, bool one_thread) : dataset_(std::move(dataset)), one_thread_(one_thread) {}
  typename D::BatchType get_batch(typename D::BatchRequestType request) override {
    if (one_thread_) kiln::detail::one_intra_op_thread_here();
    return dataset_.get_batch(std::move(request));
  }
  torch::optional<std::size_t> size() const override { return dataset_.size(); }

 private:
  D dataset_;
  bool one_thread_;
};

template <class D>
auto batched(D dataset) {
  // Single examples are batched by stacking them; a dataset with its own get_batch (e.g.
  // FashionMNIST, which slices its tensors) is used as it is.
  if constexpr (stackable_examples<D>) return std::move(dataset).map(torch::data::transforms::Stack<typename D::ExampleType>());
  else return dataset;
}
}  // namespace detail

/// A LibTorch StatelessDataLoader with a ShardedSampler, plus what the loops want to know:
/// the number of batches per epoch on this rank (size()), the epoch, and a cheap early end.
template <class Dataset>
class Loader {
  using Batched = detail::WorkerDataset<decltype(detail::batched(std::declval<Dataset>()))>;
  using Torch = torch::data::StatelessDataLoader<Batched, ShardedSampler>;

 public:
  Loader(Dataset dataset, LoaderOptions options)
      : options_(std::move(options)), explicit_ranks_(options_.rank.has_value() || options_.world_size.has_value()) {
    const auto size = dataset.size();
    if (!size) throw Error("kiln: data::loader needs a dataset that knows its size");
    if (options_.batch_size == 0) throw Error("kiln: data::loader batch_size must be at least 1");
    const auto env = process_environment();
    SamplerOptions so{.shuffle = options_.shuffle,
                      .seed = options_.seed ? *options_.seed : draw_seed(),
                      .rank = options_.rank.value_or(env.rank),
                      .world_size = options_.world_size.value_or(env.world_size),
                      .even_shards = options_.even_shards.value_or(options_.shuffle)};
    options_.seed = so.seed;
    options_.rank = so.rank;
    options_.world_size = so.world_size;
    options_.even_shards = so.even_shards;
    ShardedSampler sampler(*size, so);
    state_ = sampler.state();
    loader_ = std::make_unique<Torch>(Batched(detail::batched(std::move(dataset)), options_.workers > 0), std::move(sampler),
                                      torch::data::DataLoaderOptions(options_.batch_size)
                                          .drop_last(options_.drop_last)
                                          .workers(options_.workers));
  }

  auto begin() { return loader_->begin(); }
  auto end() { return loader_->end(); }

  /// The Trainer calls this (detail::rank_range) with the strategy's rank and world size: a
  /// loader made before kiln's own launcher started the ranks (config.devices) takes its shard
  /// from the next epoch on. Rank and world size given in the options are kept.
  void use_ranks(int rank, int world_size) {
    if (explicit_ranks_ || (rank == state_->options.rank && world_size == state_->options.world_size)) return;
    state_->options.rank = rank;
    state_->options.world_size = world_size;
    options_.rank = rank;
    options_.world_size = world_size;
  }

  /// Batches per epoch on this rank.
  std::size_t size() const {
    const std::size_t n = state_->shard_size(), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
  }
  /// The options with every default resolved (seed, rank, world size, shards).
  const LoaderOptions& options() const { return options_; }
  /// The epoch being served (-1 before the first); set_epoch(e) makes the next one e.
  std::int64_t epoch() const { return state_->epoch; }
  void set_epoch(std::int64_t e) { state_->next_epoch = e; }
  /// Stops handing out batches this epoch; the Engine calls it when a limit or a stop ends an
  /// epoch early, so only batches already in flight are fetched before the next begin().
  void end_epoch() { state_->exhausted = true; }

 private:
  static std::uint64_t draw_seed() {
    return static_cast<std::uint64_t>(torch::randint(std::numeric_limits<std::int64_t>::max(), {1}, torch::kLong).item<std::int64_t>());
  }

  LoaderOptions options_;
  bool explicit_ranks_;
  std::shared_ptr<SamplerState> state_;
  std::unique_ptr<Torch> loader_;
};

/// Builds a loader over `dataset` (a torch::data dataset of known size): batches of
/// options.batch_size, reshuffled every epoch from options.seed, and only this rank's shard
/// when several processes run (Ignite's auto_dataloader).
template <class Dataset>
Loader<std::remove_cvref_t<Dataset>> loader(Dataset&& dataset, LoaderOptions options = {}) {
  return Loader<std::remove_cvref_t<Dataset>>(std::forward<Dataset>(dataset), std::move(options));
}

}  // namespace kiln::data
