// SPDX-License-Identifier: Apache-2.0
// kiln/util/seed.hpp — seed_everything: one seed for torch and the std generators kiln uses.
#pragma once
#include <cstdint>
#include <random>

#include <ATen/Context.h>
#include <torch/utils.h>

namespace kiln {

/// The std generator kiln's own randomness draws from (samplers, splits), seeded by seed_everything.
inline std::mt19937_64& generator() {
  static std::mt19937_64 g{0x6b696c6eULL};
  return g;
}

/// Seeds torch's CPU (and CUDA, where present) generators and kiln::generator() from `seed`.
inline void seed_everything(std::uint64_t seed) {
  torch::manual_seed(seed);
  generator().seed(seed);
}

}  // namespace kiln
