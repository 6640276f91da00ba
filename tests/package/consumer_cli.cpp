// SPDX-License-Identifier: Apache-2.0
// tests/package/consumer_cli.cpp — an installed kiln's kiln::cli: parses a command line into a TrainerConfig.
#include <cstdio>

#include <kiln/cli/arguments.hpp>

int main() {
  kiln::TrainerConfig config;
  kiln::cli::Schema schema;
  schema.add_trainer(config);
  const char* argv[] = {"consumer_cli", "fit", "--trainer.max_epochs", "3"};
  const auto call = kiln::cli::parse_arguments(4, argv, schema);
  std::printf("consumer_cli: %s max_epochs=%lld\n", call.subcommand.c_str(), static_cast<long long>(config.max_epochs));
  return call.subcommand == "fit" && config.max_epochs == 3 ? 0 : 1;
}
