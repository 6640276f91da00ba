// SPDX-License-Identifier: Apache-2.0
// kiln/core/format.hpp — fmt::format and fmt::print from the lightest fmt header that has them.
#pragma once
// Debian's compiled fmt 9 has them in fmt/core.h, a third of fmt/format.h. Header-only fmt up to
// 10 and fmt 11 include format.h from core.h anyway; fmt 12 (the copy inside LibTorch 2.x) does
// not, and format.h is needed.
#include <fmt/core.h>
#if FMT_VERSION >= 110000
#include <fmt/format.h>
#endif
