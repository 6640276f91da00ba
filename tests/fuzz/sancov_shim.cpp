// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/sancov_shim.cpp — edge coverage from g++ for clang's libFuzzer.
// g++ cannot build -fsanitize=fuzzer, and clang 14-16 cannot compile LibTorch 1.13's headers as
// C++20 (c10::List puts a std::vector of the still-incomplete IValue in a constexpr context).
// So the targets are compiled by g++ with -fsanitize-coverage=trace-pc,trace-cmp and linked
// with libFuzzer's runtime. libFuzzer reads cmp tracing itself but refuses trace-pc; the
// linker (--wrap) sends g++'s per-edge calls here instead, into libFuzzer's "extra counters".
#include <cstdint>

extern "C" {
__attribute__((section("__libfuzzer_extra_counters"))) std::uint8_t kiln_edge_counters[1 << 16];

__attribute__((no_sanitize_address, no_sanitize_undefined)) void __wrap___sanitizer_cov_trace_pc() {
  const auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  std::uint8_t& c = kiln_edge_counters[(pc ^ (pc >> 16)) & ((1u << 16) - 1)];
  if (c != 255) ++c;
}

// g++ also traces floating-point comparisons, which libFuzzer has no use for.
void __sanitizer_cov_trace_cmpf(float, float) {}
void __sanitizer_cov_trace_cmpd(double, double) {}
}
