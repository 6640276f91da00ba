// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/src_after_kiln_header.cpp — <kiln/src.hpp> after another kiln header: that header was read
// header-only, so the translation unit meant to compile kiln's functions once would define none of them.
// kiln-expect-error: kiln: include <kiln/src\.hpp> before any other kiln header in its translation unit\.
#ifdef KILN_MISTAKE
#include <kiln/core/config.hpp>
#endif
#include <kiln/src.hpp>

int main() {}
