// SPDX-License-Identifier: Apache-2.0
// kiln/core/hparams.hpp — hyper-parameters as loggers record them (hparams.yaml, TensorBoard's hparams).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>

namespace kiln {

/// One hyper-parameter value: a flag, an integer, a real number or text.
using HParam = std::variant<bool, std::int64_t, double, std::string>;

/// Hyper-parameters by name, sorted (Lightning's `hparams`). A module that has
/// `kiln::HParams hparams() const` gets them passed to every logger's `log_hyperparams` at the
/// start of fit, validate and test.
using HParams = std::map<std::string, HParam>;

}  // namespace kiln
