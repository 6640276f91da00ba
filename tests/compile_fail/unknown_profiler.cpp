// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/unknown_profiler.cpp — Profiler<T> names a type that is no profiler tag.
// kiln-expect-error: kiln: Profiler<T> names no profiler kiln knows\. Use kiln::Simple or kiln::Torch
#include "net.hpp"

#include <kiln/profiler.hpp>

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Profiler<int>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Profiler<kiln::Simple>>;
#endif

int main() { fit_once<Net, Trainer>(); }
