// SPDX-License-Identifier: Apache-2.0
// kiln/core/error.hpp — kiln::Error, the one exception type kiln throws; messages name the file, key, step or rank.
#pragma once
#include <stdexcept>
namespace kiln {
/// The error kiln throws for bad input or state; the message names the offending file, key, step or rank.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace kiln
