// SPDX-License-Identifier: Apache-2.0
// tests/unit/precision/grad_scaler_test.cpp — GradScaler: growth and backoff, its state saved and loaded, its errors.
#include <cstdint>
#include <filesystem>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "precision_fixture.hpp"

namespace {

using Catch::Matchers::Contains;

using precision_fixture::inf;
using precision_fixture::Quiet;
using precision_fixture::quiet;
using precision_fixture::Scalar;
using precision_fixture::ScalerProbe;
using precision_fixture::script;

}  // namespace

TEST_CASE("FP16Mixed: the scale grows after the interval and never to infinity", "[precision][scaler]") {
  Scalar m;
  Quiet<Scalar, kiln::FP16Mixed, kiln::Callbacks<ScalerProbe>> t(
      quiet({.max_epochs = 1}), kiln::FP16Mixed{.scaler = {.init_scale = 1e38, .growth_factor = 4, .growth_interval = 1}});
  t.fit(m, script({1, 1}));
  // 1e38 * 4 overflows float32: the scale stays and the tracker restarts, as PyTorch's kernel does.
  CHECK(t.callback<ScalerProbe>().scale == std::vector<double>{static_cast<float>(1e38), static_cast<float>(1e38)});
  CHECK(t.callback<ScalerProbe>().tracker == std::vector<std::int64_t>{0, 0});
}

TEST_CASE("GradScaler: state survives a save and load, bad options and state are errors", "[precision][scaler]") {
  auto p = torch::tensor({1.0f}).requires_grad_();
  torch::optim::SGD opt({p}, torch::optim::SGDOptions(0.1));
  auto iteration = [&](kiln::GradScaler& s, double c) {
    s.scale((p * c).sum()).backward();
    const bool taken = s.step(opt);
    s.update();
    p.mutable_grad() = torch::Tensor();
    return taken;
  };
  kiln::GradScaler a({.init_scale = 1024, .growth_factor = 4, .backoff_factor = 0.25, .growth_interval = 3});
  iteration(a, 1);
  iteration(a, inf);
  iteration(a, 1);
  const auto path = std::filesystem::temp_directory_path() / "kiln_scaler_state.pt";
  {
    torch::serialize::OutputArchive out;
    a.save(out);
    out.save_to(path.string());
  }
  kiln::GradScaler b;  // default options: all come from the file
  {
    torch::serialize::InputArchive in;
    in.load_from(path.string());
    b.load(in);
  }
  CHECK(b.get_scale() == a.get_scale());
  CHECK(b.get_scale() == 256.0);
  CHECK(b.growth_tracker() == 1);
  CHECK(b.options().growth_factor == 4);
  CHECK(b.options().backoff_factor == 0.25);
  CHECK(b.options().growth_interval == 3);
  // Both continue identically: two clean steps reach the interval and grow x4.
  for (auto* s : {&a, &b}) {
    iteration(*s, 1);
    iteration(*s, 1);
  }
  CHECK(a.get_scale() == 1024.0);
  CHECK(b.get_scale() == 1024.0);
  std::filesystem::remove(path);

  torch::serialize::OutputArchive partial;
  partial.write("scale", torch::tensor(2.0f));
  const auto partial_path = std::filesystem::temp_directory_path() / "kiln_scaler_partial.pt";
  partial.save_to(partial_path.string());
  torch::serialize::InputArchive in;
  in.load_from(partial_path.string());
  REQUIRE_THROWS_WITH(b.load(in), Contains("\"_growth_tracker\""));
  CHECK(b.get_scale() == 1024.0);  // a failed load changes nothing
  std::filesystem::remove(partial_path);

  REQUIRE_THROWS_WITH(kiln::GradScaler({.growth_factor = 1.0}), Contains("growth_factor=1") && Contains("> 1"));
  REQUIRE_THROWS_WITH(kiln::GradScaler({.backoff_factor = 1.5}), Contains("backoff_factor=1.5"));
  REQUIRE_THROWS_WITH(kiln::GradScaler({.growth_interval = 0}), Contains("growth_interval=0"));
  REQUIRE_THROWS_WITH(kiln::GradScaler({.init_scale = -1}), Contains("init_scale=-1"));
  // Misuse within one iteration.
  kiln::GradScaler s;
  s.scale((p * 1.0).sum()).backward();
  s.unscale(opt);
  REQUIRE_THROWS_WITH(s.unscale(opt), Contains("unscale() was called twice"));
  s.step(opt);
  REQUIRE_THROWS_WITH(s.step(opt), Contains("step() was called twice"));
}
