// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/filters_test.cpp — kiln::every and kiln::once: a handler called on an event's n-th occurrences only.
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

namespace {

struct Count {
  std::vector<std::int64_t> iterations;
  int epochs = 0;
  template <class E>
  void on(const kiln::event::iteration_completed&, E& e) { iterations.push_back(e.state().iteration); }
  template <class E>
  void on(const kiln::event::epoch_completed&, E&) { ++epochs; }
};

}  // namespace

TEST_CASE("every(n) and once(n) forward an event on its n-th occurrences only", "[core][filters]") {
  std::vector<int> data(10, 0);
  kiln::Engine engine([](auto&, int&) {}, kiln::every(4, Count{}), kiln::once(3, Count{}));
  engine.run(data, {.max_epochs = 3});
  auto& every = engine.handler<kiln::Every<Count>>().handler();
  auto& once = engine.handler<kiln::Once<Count>>().handler();
  REQUIRE(every.iterations == std::vector<std::int64_t>{4, 8, 12, 16, 20, 24, 28});
  REQUIRE(every.epochs == 0);  // 3 epochs: the 4th never comes
  REQUIRE(once.iterations == std::vector<std::int64_t>{3});
  REQUIRE(once.epochs == 1);
  // Events the wrapped handler does not handle are not forwarded (and cost nothing).
  STATIC_REQUIRE(!kiln::Handles<kiln::Every<Count>, kiln::event::started, decltype(engine)>);
}
