// SPDX-License-Identifier: Apache-2.0
// tests/unit/linear_data.hpp — seeded batches of a noiseless linear rule, shared by the unit tests.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace kiln_test {

using LinearBatch = std::pair<torch::Tensor, torch::Tensor>;

/// `batches` batches of x ~ N(0, 1)^3 and y = x . (1.5, -2, 0.5) + 0.1, from `seed`.
inline std::vector<LinearBatch> linear_data(int batches, int batch_size, std::uint64_t seed = 0) {
  torch::manual_seed(seed);
  auto w = torch::tensor({{1.5}, {-2.0}, {0.5}});
  std::vector<LinearBatch> out;
  for (int i = 0; i < batches; ++i) {
    auto x = torch::randn({batch_size, 3});
    out.emplace_back(x, x.matmul(w) + 0.1);
  }
  return out;
}

}  // namespace kiln_test
