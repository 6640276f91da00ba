// SPDX-License-Identifier: Apache-2.0
// examples/example_args.hpp — the command-line flags every example takes (not part of kiln).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <kiln/core/config.hpp>

/// Flags: --fast-dev-run, --max-epochs N, --root-dir DIR, --seed N, --batch-size N, --workers N,
/// --data-root DIR (Fashion-MNIST's folder), --no-progress-bar, --accelerator cpu|cuda|auto.
struct ExampleArgs {
  kiln::TrainerConfig config;
  std::size_t batch_size = 64;
  std::size_t workers = 0;
  std::optional<std::string> data_root;
};

inline ExampleArgs parse_example_args(int argc, char** argv, ExampleArgs args) {
  auto usage = [&] {
    std::fprintf(stderr,
                 "usage: %s [--fast-dev-run] [--max-epochs N] [--root-dir DIR] [--seed N] [--batch-size N]\n"
                 "          [--workers N] [--data-root DIR] [--no-progress-bar] [--accelerator cpu|cuda|auto]\n",
                 argv[0]);
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    auto number = [&]() -> long long {
      const std::string v = value();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0) {
        std::fprintf(stderr, "%s: %s needs a non-negative integer, got \"%s\"\n", argv[0], argv[i - 1], v.c_str());
        std::exit(2);
      }
      return n;
    };
    if (a == "--fast-dev-run") args.config.fast_dev_run = 1;
    else if (a == "--max-epochs") args.config.max_epochs = number();
    else if (a == "--root-dir") args.config.default_root_dir = value();
    else if (a == "--seed") args.config.seed = static_cast<std::uint64_t>(number());
    else if (a == "--batch-size") args.batch_size = static_cast<std::size_t>(number());
    else if (a == "--workers") args.workers = static_cast<std::size_t>(number());
    else if (a == "--data-root") args.data_root = value();
    else if (a == "--no-progress-bar") args.config.enable_progress_bar = false;
    else if (a == "--accelerator") args.config.accelerator = value();
    else usage();
  }
  return args;
}
