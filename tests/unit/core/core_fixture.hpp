// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/core_fixture.hpp — the smallest module a Trainer accepts, for the tests of the core vocabulary.
#pragma once
#include <memory>
#include <utility>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

namespace core_fixture {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(2, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

}  // namespace core_fixture
