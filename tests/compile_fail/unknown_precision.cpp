// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/unknown_precision.cpp — Precision<T> names a type that is no precision tag.
// kiln-expect-error: kiln: Precision<T> names no precision kiln knows\. Use kiln::FP32
#include "net.hpp"

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Precision<int>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Precision<kiln::FP32>>;
#endif

int main() { fit_once<Net, Trainer>(); }
