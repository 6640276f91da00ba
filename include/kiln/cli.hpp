// SPDX-License-Identifier: Apache-2.0
// kiln/cli.hpp — the command line and YAML config of a training program (LightningCLI); link kiln::cli.
#pragma once
#include <kiln/cli/arguments.hpp>
#include <kiln/cli/lightning_cli.hpp>
#include <kiln/cli/schema.hpp>
#include <kiln/cli/values.hpp>
