// SPDX-License-Identifier: Apache-2.0
// kiln/loops/batches.hpp — the batch iteration every loop shares: limits, skipping on resume, draining.
#pragma once
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>

#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/state.hpp>

namespace kiln::detail {

/// The range behind `data` as this rank sees it: a loader made before kiln's own launcher
/// started the ranks takes its shard now.
template <class Data, class Strategy>
auto& rank_range(Data& data, Strategy& strategy) {
  auto& range = as_range(data);
  if constexpr (requires { range.use_ranks(0, 1); }) range.use_ranks(strategy.rank(), strategy.world_size());
  return range;
}

/// The start of a run of up to `max_epochs` epochs of at most `limit` batches (-1: all) over
/// data of `size` batches: the epoch length is known only for sized data; on unsized data a
/// limit is only a maximum.
inline void begin_run(State& s, std::optional<std::int64_t> size, std::int64_t max_epochs, std::int64_t limit) {
  s.max_epochs = max_epochs;
  s.should_stop = false;
  s.epoch_length = size ? std::optional<std::int64_t>(limit >= 0 ? std::min(limit, *size) : *size) : std::nullopt;
}

/// A torch::data loader with workers refuses a new epoch while batches of the last one are in
/// flight, so an epoch cut short by a limit or a stop fetches the rest of its batches. `it` may
/// already be at the end (a resume that skipped the whole epoch): LibTorch throws on ++ there.
template <class Range, class It, class End>
void drain(Range& range, It& it, End& end) {
  if constexpr (requires { range.end_epoch(); }) range.end_epoch();  // kiln::data::Loader: only in-flight batches remain
  if constexpr (requires { range.options().workers; }) {
    if (range.options().workers > 0)
      while (it != end) ++it;
  }
}

/// Before an epoch's start events.
inline void begin_epoch(State& s) {
  s.batch_idx = 0;
  s.stop_epoch = false;
}

/// One epoch (after begin_epoch): passes over the first `skip` batches unprocessed (a resumed run's already-trained
/// part; batch_idx counts them), then calls body(batch) for each batch until `limit` batches
/// (-1: all), a stop request or the end of the data. batch_idx advances after each body.
template <class Range, class Body>
void for_each_batch(Range& range, State& s, std::int64_t limit, std::int64_t skip, Body&& body) {
  if (limit != 0) {
    auto it = std::begin(range);
    auto end = std::end(range);
    for (; skip > 0 && it != end; --skip) {
      ++it;
      ++s.batch_idx;
    }
    if (limit > 0 && s.batch_idx >= limit) {
      drain(range, it, end);
    } else {
      for (; it != end;) {
        auto&& batch = *it;  // a view may yield a prvalue: name it so steps get an lvalue
        body(batch);
        ++s.batch_idx;
        if (s.should_stop || s.stop_epoch || (limit > 0 && s.batch_idx >= limit)) {
          drain(range, it, end);
          break;
        }
        ++it;  // advance only when another batch is wanted: a loader fetches on ++
      }
    }
  }
  if (!s.epoch_length) s.epoch_length = s.batch_idx;
}

/// After an epoch's end events: the next epoch; data that yielded no batch stops the run, since
/// more epochs would be empty too.
inline void end_epoch(State& s, std::int64_t limit) {
  ++s.epoch;
  if (s.batch_idx == 0 && limit != 0) s.request_stop("the data yielded no batches");
}

}  // namespace kiln::detail
