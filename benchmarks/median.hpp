// SPDX-License-Identifier: Apache-2.0
// benchmarks/median.hpp — the median the benchmarks report over their repeats.
#pragma once
#include <algorithm>
#include <vector>

namespace kiln_bench {
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace kiln_bench
