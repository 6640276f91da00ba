// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/events_test.cpp — the event tags: names and positions in kiln::event::all.
#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

TEST_CASE("Event tags have names and positions in kiln::event::all", "[core][events]") {
  STATIC_REQUIRE(kiln::event::index_of<kiln::event::setup> == 0);
  STATIC_REQUIRE(kiln::event::index_of<kiln::event::terminated> == kiln::event::count - 1);
  STATIC_REQUIRE(kiln::event::train_epoch_end::name == "train_epoch_end");
}
