// SPDX-License-Identifier: Apache-2.0
// kiln/core/linkage.hpp — KILN_DECL/KILN_DEFINITIONS: header-only by default, or kiln's non-template functions compiled once.
#pragma once

// Header-only (the default): kiln's non-template functions are `inline` and defined in their
// headers, so every translation unit that uses one compiles it at -O3 again.
// Separate compilation: define KILN_SEPARATE_COMPILATION in every translation unit (linking
// kiln::separate does it) and compile <kiln/src.hpp> in exactly one. Headers then only declare
// those functions (checkpoint I/O, the CSV logger, the log buffer, ...), which cut the first
// example's compile time by a fifth to a quarter (benchmarks/RESULTS.md, "Compile time").
// Templates stay in the headers either way.
#define KILN_LINKAGE_SEEN 1
#if defined(KILN_SEPARATE_COMPILATION)
#define KILN_DECL
#if defined(KILN_SOURCE)
#define KILN_DEFINITIONS 1
#else
#define KILN_DEFINITIONS 0
#endif
#else
#define KILN_DECL inline
#define KILN_DEFINITIONS 1
#endif
