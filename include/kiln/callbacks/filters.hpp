// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/filters.hpp — kiln::every(n, h) and kiln::once(n, h): Ignite's every=/once= as wrappers.
#pragma once
#include <array>
#include <cstdint>
#include <utility>

#include <kiln/core/dispatch.hpp>
#include <kiln/core/events.hpp>

namespace kiln {

/// Forwards each event that H handles on its n-th, 2n-th, ... occurrence (Ignite's `every=n`).
/// Occurrences are counted per event type, so `every(100, h)` on iteration_completed fires at
/// iterations 100, 200, ... and on epoch_completed at epochs 100, 200, ...
template <class H>
class Every {
 public:
  Every(std::int64_t n, H handler) : n_(n < 1 ? 1 : n), handler_(std::move(handler)) {}

  template <class Event, class Owner>
    requires Handles<H, Event, Owner>
  void on(const Event& e, Owner& owner) {
    if (++seen_[event::index_of<Event>] % n_ == 0) handler_.on(e, owner);
  }

  H& handler() { return handler_; }

 private:
  std::int64_t n_;
  std::array<std::int64_t, event::count> seen_{};
  H handler_;
};

/// Forwards each event that H handles only on its n-th occurrence (Ignite's `once=n`).
template <class H>
class Once {
 public:
  Once(std::int64_t n, H handler) : n_(n), handler_(std::move(handler)) {}

  template <class Event, class Owner>
    requires Handles<H, Event, Owner>
  void on(const Event& e, Owner& owner) {
    if (++seen_[event::index_of<Event>] == n_) handler_.on(e, owner);
  }

  H& handler() { return handler_; }

 private:
  std::int64_t n_;
  std::array<std::int64_t, event::count> seen_{};
  H handler_;
};

/// `handler`, called on every n-th occurrence of each event it handles.
template <class H>
Every<H> every(std::int64_t n, H handler) { return Every<H>(n, std::move(handler)); }

/// `handler`, called only on the n-th occurrence of each event it handles.
template <class H>
Once<H> once(std::int64_t n, H handler) { return Once<H>(n, std::move(handler)); }

}  // namespace kiln
