// SPDX-License-Identifier: Apache-2.0
// tests/package/consumer_interop.cpp — an installed kiln's kiln::interop: a module's weights through a safetensors file.
#include <cstdio>
#include <filesystem>

#include <torch/nn/modules/linear.h>

#include <kiln/interop.hpp>

int main() {
  const auto path = std::filesystem::temp_directory_path() / "kiln_consumer_interop.safetensors";
  torch::nn::Linear a(2, 3), b(2, 3);
  kiln::save_state_dict(a, path);
  const auto report = kiln::load_state_dict(b, path);
  std::filesystem::remove(path);
  const bool same = torch::equal(a->weight, b->weight) && torch::equal(a->bias, b->bias);
  std::printf("consumer_interop: %s\n", same && report.clean() ? "weights round-trip" : "weights differ");
  return same && report.clean() ? 0 : 1;
}
