// SPDX-License-Identifier: Apache-2.0
// kiln/engine.hpp — Engine<Process, Handlers...>: the epoch/iteration loop with static events (Ignite style).
#pragma once
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <ATen/core/Tensor.h>

#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/dispatch.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/state.hpp>

namespace kiln {

/// Limits of one Engine::run.
struct RunOptions {
  std::int64_t max_epochs = 1;               ///< -1: until a handler requests a stop
  std::optional<std::int64_t> epoch_length;  ///< batches per epoch (default: the whole data)
  /// Batches of the first epoch passed over unprocessed (a resumed run's already-trained part);
  /// batch_idx counts them.
  std::int64_t skip_batches = 0;
};

/// Runs `process(engine, batch)` over data for some epochs and emits Ignite's events
/// (started, epoch_started, iteration_started, iteration_completed, epoch_completed,
/// completed, terminated, exception) to its handlers, each an object with
/// `on(const kiln::event::X&, auto& engine)` overloads. The Trainer is built on it.
///
/// If the process function returns a tensor it is kept in `state().output`.
template <class Process, class... Handlers>
class Engine {
 public:
  explicit Engine(Process process, Handlers... handlers)
      : process_(std::forward<Process>(process)), handlers_(std::forward<Handlers>(handlers)...) {}
  Engine(const Engine&) = delete;  // state_ may point into this object
  Engine& operator=(const Engine&) = delete;

  /// Runs up to `max_epochs` epochs (continuing from state().epoch) over `data`.
  template <class Data>
  State& run(Data&& data, RunOptions opt = {}) {
    static_assert(DataSource<Data>, KILN_ERR_NOT_A_DATA_SOURCE);
    if constexpr (DataSource<Data>) {
      auto&& range = detail::as_range(data);
      using Batch = detail::batch_arg_t<std::remove_reference_t<Data>>;
      constexpr bool process_takes_engine_and_batch = std::is_invocable_v<Process&, Engine&, Batch&>;
      static_assert(process_takes_engine_and_batch, KILN_ERR_PROCESS_SIGNATURE);
      if constexpr (process_takes_engine_and_batch) run_epochs(range, opt);
    }
    return *state_;
  }

  /// Stop after the current iteration (Ignite's terminate()).
  void terminate() { state_->request_stop("terminate() called"); }
  /// End the current epoch after this iteration (Ignite's terminate_epoch()).
  void terminate_epoch() { state_->stop_epoch = true; }

  State& state() { return *state_; }
  const State& state() const { return *state_; }

  /// The handler of type H.
  template <class H>
  H& handler() { return std::get<H>(handlers_); }

  /// Calls every handler that has `on(const Event&, Engine&)`.
  template <class Event>
  void emit(const Event& e) { detail::dispatch(handlers_, e, *this); }

  /// Makes the Engine advance an external State (the Trainer's) instead of its own.
  void attach_state(State& s) { state_ = &s; }

 private:
  template <class Range>
  void run_epochs(Range& range, const RunOptions& opt) {
    State& s = *state_;
    // Ignite: running a finished engine again starts a new run (an attached state, the
    // Trainer's, is the Trainer's to manage).
    if (state_ == &own_state_ && s.max_epochs >= 0 && s.epoch >= s.max_epochs) s = State{};
    s.max_epochs = opt.max_epochs;
    s.should_stop = false;
    const std::int64_t limit = opt.epoch_length.value_or(-1);
    // The length is known only from a sized range; a limit on unsized data is only a maximum.
    const auto size = detail::size_of(range);
    s.epoch_length = size ? std::optional<std::int64_t>(limit >= 0 ? std::min(limit, *size) : *size) : std::nullopt;
    std::int64_t skip = opt.skip_batches;
    try {
      emit(event::started{});
      while ((s.max_epochs < 0 || s.epoch < s.max_epochs) && !s.should_stop) {
        s.batch_idx = 0;
        s.stop_epoch = false;
        emit(event::epoch_started{});
        if (limit != 0) {
          auto it = std::begin(range);
          auto end = std::end(range);
          for (; skip > 0 && it != end; --skip) {
            ++it;
            ++s.batch_idx;
          }
          skip = 0;
          if (limit > 0 && s.batch_idx >= limit) drain(range, it, end);
          else for (; it != end; ) {
            emit(event::iteration_started{});
            auto&& batch = *it;  // a view may yield a prvalue: name it so steps get an lvalue
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(process_(*this, batch))>, at::Tensor>) {
              s.output = process_(*this, batch);
            } else {
              process_(*this, batch);
            }
            ++s.iteration;
            emit(event::iteration_completed{});
            ++s.batch_idx;
            if (s.should_stop || s.stop_epoch || (limit > 0 && s.batch_idx >= limit)) {
              drain(range, it, end);
              break;
            }
            ++it;  // advance only when another batch is wanted: a loader fetches on ++
          }
        }
        if (!s.epoch_length) s.epoch_length = s.batch_idx;
        emit(event::epoch_completed{});
        ++s.epoch;
        if (s.batch_idx == 0 && limit != 0)
          s.request_stop("the data yielded no batches");  // more epochs would be empty too
      }
      if (s.should_stop) emit(event::terminated{});
      emit(event::completed{});
    } catch (const std::exception& e) {
      emit(event::exception{e});
      throw;
    }
  }

  /// A torch::data loader with workers refuses a new epoch while batches of the last one are
  /// in flight, so an epoch cut short by a limit or a stop fetches the rest of its batches.
  template <class Range, class It, class End>
  static void drain(Range& range, It& it, End& end) {
    if constexpr (requires { range.end_epoch(); }) range.end_epoch();  // kiln::data::Loader: only in-flight batches remain
    if constexpr (requires { range.options().workers; }) {
      if (range.options().workers > 0)
        while (++it != end) {
        }
    }
  }

  Process process_;
  std::tuple<Handlers...> handlers_;
  State own_state_;
  State* state_ = &own_state_;
};

template <class Process, class... Handlers>
Engine(Process, Handlers...) -> Engine<Process, Handlers...>;

}  // namespace kiln
