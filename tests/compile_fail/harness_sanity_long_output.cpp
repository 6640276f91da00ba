// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/harness_sanity_long_output.cpp — fails with the expected text, but buried in a long template error: the harness must notice.
// kiln-expect-error: no match for 'operator-'
#include <algorithm>
#include <list>

int main() {
  std::list<int> values{3, 1, 2};
#ifdef KILN_MISTAKE
  std::sort(values.begin(), values.end());
#endif
}
