// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/lambda_callback_test.cpp — lambda_callback: each lambda called for the event it takes.
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks.hpp>
#include <kiln/trainer.hpp>

#include "../linear_data.hpp"
#include "callbacks_fixture.hpp"

namespace {

using callbacks_fixture::Lin;
using callbacks_fixture::quiet;

}  // namespace

TEST_CASE("LambdaCallback calls each lambda for the event it takes", "[callbacks][lambda]") {
  auto train = kiln_test::linear_data(2, 4);
  std::vector<std::string> seen;
  auto cb = kiln::lambda_callback([&](const kiln::event::fit_start&, auto&) { seen.push_back("fit_start"); },
                                  [&](const kiln::event::train_epoch_end&, auto& t) {
                                    seen.push_back("epoch_end " + std::to_string(t.state().epoch));
                                  });
  Lin m;
  kiln::Trainer<Lin, kiln::Loggers<>, kiln::Callbacks<decltype(cb)>> t(quiet(2), cb);
  t.fit(m, train);
  REQUIRE(seen == std::vector<std::string>{"fit_start", "epoch_end 0", "epoch_end 1"});
}
