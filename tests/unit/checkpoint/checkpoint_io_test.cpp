// SPDX-License-Identifier: Apache-2.0
// tests/unit/checkpoint/checkpoint_io_test.cpp — checked reads: a missing, truncated, corrupt (CRC-32) or mismatched checkpoint is an error.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "resume_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using resume_fixture::Net;
using resume_fixture::scaling;
using resume_fixture::scratch;
using resume_fixture::Trainer;

}  // namespace

TEST_CASE("a checkpoint that cannot be used is an error naming the file, and changes nothing", "[checkpoint][errors]") {
  const auto good = scratch("good.ckpt");
  {
    Net m;
    std::vector<torch::data::Example<>> data{{torch::randn({8, 1, 28, 28}), torch::randint(0, 10, {8})}};
    Trainer t({.max_epochs = 1, .enable_progress_bar = false}, scaling());
    REQUIRE_THROWS_WITH(t.save_checkpoint(good), Contains("before fit() has started"));
    t.fit(m, data);
    t.save_checkpoint(good);
    CHECK_FALSE(fs::exists(good.string() + ".tmp"));
  }
  std::vector<torch::data::Example<>> data{{torch::randn({8, 1, 28, 28}), torch::randint(0, 10, {8})}};
  auto fit_from = [&](const fs::path& p) {
    Net m;
    const auto before = m.fc1->weight.clone();
    Trainer t({.max_epochs = 2, .enable_progress_bar = false}, scaling());
    try {
      t.fit(m, data, {.ckpt_path = p});
    } catch (...) {
      CHECK(torch::equal(m.fc1->weight, before));  // a failed load leaves the module as it was
      throw;
    }
  };
  SECTION("missing") { REQUIRE_THROWS_WITH(fit_from(scratch("none.ckpt")), Contains("none.ckpt does not exist")); }
  SECTION("truncated") {
    const auto bad = scratch("truncated.ckpt");
    fs::copy_file(good, bad, fs::copy_options::overwrite_existing);
    fs::resize_file(bad, fs::file_size(good) / 2);
    REQUIRE_THROWS_WITH(fit_from(bad), Contains("truncated.ckpt is not a readable checkpoint"));
  }
  SECTION("one byte changed: the CRC-32 in kiln's trailer catches it before LibTorch reads the file") {
    const auto bad = scratch("flipped.ckpt");
    fs::copy_file(good, bad, fs::copy_options::overwrite_existing);
    std::fstream f(bad, std::ios::binary | std::ios::in | std::ios::out);
    const auto at = static_cast<std::streamoff>(fs::file_size(bad) / 3);
    char c = 0;
    f.seekg(at);
    f.get(c);
    f.seekp(at);
    f.put(static_cast<char>(~c));
    f.close();
    REQUIRE_THROWS_WITH(fit_from(bad), Contains("flipped.ckpt is not a readable checkpoint: its CRC-32 does not match"));
  }
  SECTION("random bytes") {
    const auto bad = scratch("random.ckpt");
    std::ofstream out(bad, std::ios::binary);
    std::mt19937 g(1);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(g()));
    out.close();
    REQUIRE_THROWS_WITH(fit_from(bad), Contains("random.ckpt is not a readable checkpoint"));
  }
  SECTION("another model: every difference is listed; strict=false loads what matches") {
    struct Other : torch::nn::Module {
      using Batch = torch::data::Example<>;
      torch::nn::Linear fc1{register_module("fc1", torch::nn::Linear(784, 16))};
      torch::nn::Linear head{register_module("head", torch::nn::Linear(16, 10))};
      torch::Tensor training_step(const Batch& b, kiln::StepContext&) {
        return torch::cross_entropy_loss(head(fc1(b.data.flatten(1))), b.target);
      }
      std::unique_ptr<torch::optim::SGD> configure_optimizers() {
        return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
      }
    };
    Other o;
    kiln::Trainer<Other, kiln::Loggers<>> t({.max_epochs = 2, .enable_progress_bar = false});
    REQUIRE_THROWS_WITH(t.fit(o, data, {.ckpt_path = good}),
                        Contains("good.ckpt does not fit the module") && Contains("missing keys (2): head.weight, head.bias") &&
                            Contains("unexpected keys (2): fc2.weight, fc2.bias") &&
                            Contains("fc1.weight: checkpoint [32, 784], module [16, 784]") &&
                            Contains("fc1.bias: checkpoint [32], module [16]"));
    Net source;
    kiln::load_weights(source, good);
    struct Half : torch::nn::Module {
      torch::nn::Linear fc2{register_module("fc2", torch::nn::Linear(32, 10))};
      torch::nn::Linear extra{register_module("extra", torch::nn::Linear(2, 2))};
    } half;
    const auto report = kiln::load_weights(half, good, /*strict=*/false);
    CHECK(torch::equal(half.fc2->weight, source.fc2->weight));
    CHECK(report.missing == std::vector<std::string>{"extra.weight", "extra.bias"});
    CHECK(report.unexpected == std::vector<std::string>{"fc1.weight", "fc1.bias"});
  }
}
