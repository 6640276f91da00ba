// SPDX-License-Identifier: Apache-2.0
// kiln/core/version.hpp — kiln's version string (checkpoints record it).
#pragma once

namespace kiln {
/// kiln's version, as in CMakeLists.txt.
inline constexpr const char* version = "0.1.0";
}  // namespace kiln
