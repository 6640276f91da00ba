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
#include <kiln/loops/batches.hpp>

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
/// `on(const kiln::event::X&, auto& engine)` overloads. The Trainer's loops share its batch
/// iteration (kiln/loops/batches.hpp).
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
    const std::int64_t limit = opt.epoch_length.value_or(-1);
    detail::begin_run(s, detail::size_of(range), opt.max_epochs, limit);
    std::int64_t skip = opt.skip_batches;
    try {
      emit(event::started{});
      while ((s.max_epochs < 0 || s.epoch < s.max_epochs) && !s.should_stop) {
        detail::begin_epoch(s);
        emit(event::epoch_started{});
        detail::for_each_batch(range, s, limit, std::exchange(skip, 0), [&](auto& batch) {
          emit(event::iteration_started{});
          if constexpr (std::is_same_v<std::remove_cvref_t<decltype(process_(*this, batch))>, at::Tensor>) {
            s.output = process_(*this, batch);
          } else {
            process_(*this, batch);
          }
          ++s.iteration;
          emit(event::iteration_completed{});
        });
        emit(event::epoch_completed{});
        detail::end_epoch(s, limit);
      }
      if (s.should_stop) emit(event::terminated{});
      emit(event::completed{});
    } catch (const std::exception& e) {
      emit(event::exception{e});
      throw;
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
