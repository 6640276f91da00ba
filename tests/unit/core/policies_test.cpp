// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/policies_test.cpp — policy resolution: defaults, any order, configured callbacks in the constructor.
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "core_fixture.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

using core_fixture::Net;

struct CountingCallback {
  int fit_starts = 0;
  int tag = 0;
  template <class T>
  void on(const kiln::event::fit_start&, T&) { ++fit_starts; }
};
struct OtherCallback {
  std::string name = "default";
  int fit_ends = 0;
  void on(const kiln::event::fit_end&, auto&) { ++fit_ends; }
};

}  // namespace

TEST_CASE("Trainer fills default policies and accepts policies in any order", "[core][policies]") {
  using Default = kiln::Trainer<Net>;
  STATIC_REQUIRE(std::is_same_v<Default::strategy_tag, kiln::SingleDevice>);
  STATIC_REQUIRE(std::is_same_v<Default::precision_tag, kiln::FP32>);
  STATIC_REQUIRE(std::is_same_v<Default::callbacks_type, std::tuple<kiln::ProgressBar>>);
  STATIC_REQUIRE(std::is_same_v<Default::loggers_type, std::tuple<kiln::CsvLogger>>);

  using A = kiln::Trainer<Net, kiln::Loggers<>, kiln::Callbacks<CountingCallback>, kiln::Precision<kiln::FP32>>;
  using B = kiln::Trainer<Net, kiln::Precision<kiln::FP32>, kiln::Callbacks<CountingCallback>, kiln::Loggers<>>;
  STATIC_REQUIRE(std::is_same_v<A::callbacks_type, B::callbacks_type>);
  STATIC_REQUIRE(std::is_same_v<A::callbacks_type, std::tuple<CountingCallback, kiln::ProgressBar>>);
  STATIC_REQUIRE(std::is_same_v<A::loggers_type, std::tuple<>>);
  // A user's own ProgressBar replaces the default one instead of adding a second.
  using C = kiln::Trainer<Net, kiln::Callbacks<kiln::ProgressBar, CountingCallback>>;
  STATIC_REQUIRE(std::is_same_v<C::callbacks_type, std::tuple<kiln::ProgressBar, CountingCallback>>);
}

TEST_CASE("Configured callbacks go to the constructor in any order, the rest are default-constructed",
          "[core][policies]") {
  using T = kiln::Trainer<Net, kiln::Callbacks<CountingCallback, OtherCallback>, kiln::Loggers<>>;
  T trainer({.max_epochs = 3}, OtherCallback{"configured"}, CountingCallback{.tag = 7});
  REQUIRE(trainer.callback<OtherCallback>().name == "configured");
  REQUIRE(trainer.callback<CountingCallback>().tag == 7);
  T defaults;
  REQUIRE(defaults.callback<OtherCallback>().name == "default");
  REQUIRE(defaults.callback<CountingCallback>().tag == 0);

  Net net;
  std::vector<Batch> data{{torch::ones({4, 2}), torch::zeros({4, 1})}};
  trainer.fit(net, data);
  REQUIRE(trainer.callback<CountingCallback>().fit_starts == 1);
  REQUIRE(trainer.callback<OtherCallback>().fit_ends == 1);
  REQUIRE(trainer.state().epoch == 3);
}
