// SPDX-License-Identifier: Apache-2.0
// tests/unit/main.cpp — the only translation unit with Catch2's main (linked into kiln_unit_tests and kiln_gpu_tests).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
