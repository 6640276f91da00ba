// SPDX-License-Identifier: Apache-2.0
// kiln/core/format.hpp — fmt::format and fmt::print from the lightest fmt header that has them.
#pragma once
// fmt/core.h holds them up to fmt 10 (Debian's libfmt-dev is 9) and is a third of fmt/format.h;
// from fmt 11 (the copy inside LibTorch 2.x) core.h no longer does, and format.h is needed.
#include <fmt/core.h>
#if FMT_VERSION >= 110000
#include <fmt/format.h>
#endif
