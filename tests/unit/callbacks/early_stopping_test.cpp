// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/early_stopping_test.cpp — EarlyStopping: patience and min_delta, mode, thresholds, non-finite values, when it checks, its errors.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"
#include "callbacks_fixture.hpp"

namespace {

using Catch::Matchers::Contains;

using callbacks_fixture::inf_;
using callbacks_fixture::Lin;
using callbacks_fixture::nan_;
using callbacks_fixture::quiet;
using callbacks_fixture::T;

}  // namespace

TEST_CASE("EarlyStopping stops after patience checks without improvement, and says why", "[callbacks][early_stopping]") {
  auto train = kiln_test::linear_data(3, 4), val = kiln_test::linear_data(1, 4);
  SECTION("patience counts checks without an improvement larger than min_delta") {
    // 0.5 is the best; 0.45 does not beat it by more than min_delta 0.1; the third miss (epoch
    // 4) stops the run before 0.1 is seen.
    Lin m({0.9, 0.5, 0.45, 0.6, 0.55, 0.1});
    T<kiln::EarlyStopping> t(quiet(10), kiln::EarlyStopping({.monitor = "val/score", .min_delta = 0.1, .patience = 3}));
    t.fit(m, train, val);
    const auto& es = t.callback<kiln::EarlyStopping>();
    REQUIRE(es.stopped_epoch() == 4);
    REQUIRE(t.state().epoch == 5);
    REQUIRE(es.best_score() == Approx(0.5));
    REQUIRE(es.wait_count() == 3);
    REQUIRE_THAT(t.state().stop_reason, Contains("val/score did not improve in the last 3 records; best score: 0.500"));
  }
  SECTION("mode max, stopping and divergence thresholds, non-finite values") {
    Lin up({0.1, 0.2, 0.95, 0.1});
    T<kiln::EarlyStopping> a(quiet(10), kiln::EarlyStopping({.monitor = "val/score", .mode = "max", .stopping_threshold = 0.9}));
    a.fit(up, train, val);
    REQUIRE(a.state().epoch == 3);
    REQUIRE_THAT(a.state().stop_reason, Contains("stopping threshold reached: val/score = 0.95 > 0.9"));

    Lin diverging({0.5, 0.4, 7.0, 0.1});
    T<kiln::EarlyStopping> b(quiet(10), kiln::EarlyStopping({.monitor = "val/score", .divergence_threshold = 5.0}));
    b.fit(diverging, train, val);
    REQUIRE(b.state().epoch == 3);
    REQUIRE_THAT(b.state().stop_reason, Contains("divergence threshold reached: val/score = 7 > 5"));

    Lin broken({0.5, nan_, 0.1});
    T<kiln::EarlyStopping> c(quiet(10), kiln::EarlyStopping({.monitor = "val/score"}));
    c.fit(broken, train, val);
    REQUIRE(c.state().epoch == 2);
    REQUIRE_THAT(c.state().stop_reason, Contains("val/score = nan is not finite; previous best value was 0.500"));

    Lin broken2({0.5, inf_, 0.1});
    T<kiln::EarlyStopping> d(quiet(3), kiln::EarlyStopping({.monitor = "val/score", .patience = 5, .check_finite = false}));
    d.fit(broken2, train, val);
    REQUIRE(d.state().epoch == 3);  // not stopped
  }
  SECTION("checked after each validation when validation runs more than once an epoch") {
    Lin m({0.5});  // never improves after the first check
    auto cfg = quiet(10);
    cfg.val_check_interval = std::int64_t{1};  // 3 validations per epoch
    T<kiln::EarlyStopping> t(cfg, kiln::EarlyStopping({.monitor = "val/score", .patience = 2}));
    t.fit(m, train, val);
    REQUIRE(t.state().global_step == 3);  // checks at steps 1 (best), 2, 3 (second miss)
    REQUIRE(t.state().epoch == 1);
  }
  SECTION("a monitor never logged is an error listing what was logged; strict=false skips") {
    Lin m({0.5});
    T<kiln::EarlyStopping> t(quiet(2), kiln::EarlyStopping({.monitor = "val/acc"}));
    REQUIRE_THROWS_WITH(t.fit(m, train, val), Contains("EarlyStopping monitors \"val/acc\", which was not logged") &&
                                                   Contains("train/loss") && Contains("val/score"));
    T<kiln::EarlyStopping> lax(quiet(2), kiln::EarlyStopping({.monitor = "val/acc", .strict = false}));
    lax.fit(m, train, val);
    REQUIRE(lax.state().epoch == 2);
    REQUIRE_THROWS_WITH(kiln::EarlyStopping({.monitor = "x", .mode = "up"}), Contains("mode must be \"min\" or \"max\""));
    REQUIRE_THROWS_WITH(kiln::EarlyStopping(kiln::EarlyStopping::Options{}), Contains("needs a monitor"));
  }
}
