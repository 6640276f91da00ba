// SPDX-License-Identifier: Apache-2.0
// tests/unit/precision/precision_test.cpp — every precision policy learns a Fashion-MNIST subset.
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "precision_fixture.hpp"

namespace {

using precision_fixture::Quiet;
using precision_fixture::quiet;

// A small real problem: 2048 Fashion-MNIST training images, a 784-64-10 MLP, Adam, 2 epochs.
// Each policy must bring the loss on 1024 held-out images well below where it started.
struct Mlp : torch::nn::Module {
  using B = torch::data::Example<>;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Mlp() {
    torch::manual_seed(3);
    fc1 = register_module("fc1", torch::nn::Linear(784, 64));
    fc2 = register_module("fc2", torch::nn::Linear(64, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x.flatten(1)))); }
  torch::Tensor training_step(const B& b, kiln::StepContext&) { return torch::cross_entropy_loss(forward(b.data), b.target); }
  void validation_step(const B& b, kiln::StepContext& ctx) {
    ctx.log("val/loss", torch::cross_entropy_loss(forward(b.data), b.target).to(torch::kFloat));
  }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(2e-3));
  }
};
std::vector<torch::data::Example<>> fashion_batches(kiln::data::Split split, std::int64_t n, std::int64_t batch) {
  kiln::data::FashionMNIST ds({.split = split});
  std::vector<torch::data::Example<>> out;
  for (std::int64_t i = 0; i < n; i += batch)
    out.push_back({ds.images().slice(0, i, i + batch), ds.targets().slice(0, i, i + batch)});
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("each precision policy learns a Fashion-MNIST subset", "[precision][fashion]", kiln::FP32,
                   kiln::FP64, kiln::BF16Mixed, kiln::FP16Mixed, kiln::BF16True) {
  static const auto train = fashion_batches(kiln::data::Split::train, 2048, 64);
  static const auto val = fashion_batches(kiln::data::Split::val, 1024, 256);
  Mlp m;
  Quiet<Mlp, TestType> t(quiet({.max_epochs = 2}));
  const double before = t.validate(m, val).at("val/loss");
  t.fit(m, train);
  const double after = t.validate(m, val).at("val/loss");
  INFO("val/loss before " << before << ", after " << after);
  CHECK(before > 2.0);  // ~ln(10) untrained
  CHECK(after < 0.6 * before);
}
