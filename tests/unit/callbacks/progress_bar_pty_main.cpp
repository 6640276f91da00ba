// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/progress_bar_pty_main.cpp — a short fit with the default bar on stderr, for a pty and a pipe.
#include <filesystem>

#include <torch/torch.h>

#include <kiln/trainer.hpp>

#include "progress_bar_fixture.hpp"

using progress_bar_fixture::data;
using progress_bar_fixture::Net;

int main() {
  torch::manual_seed(0);
  const auto root = std::filesystem::temp_directory_path() / "kiln_progress_bar_pty";
  std::filesystem::remove_all(root);
  Net net;
  auto train = data(10), val = data(5);
  kiln::Trainer<Net> trainer({.max_epochs = 2, .default_root_dir = root, .logger = false});
  trainer.fit(net, train, val);
  std::filesystem::remove_all(root);
}
