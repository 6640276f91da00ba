// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/profiler_twice.cpp — two Profiler<...> slots.
// kiln-expect-error: kiln: Profiler<\.\.\.> is given twice\. Give each policy slot at most once\.
#include "net.hpp"

#include <kiln/profiler.hpp>

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Profiler<kiln::Simple>, kiln::Profiler<kiln::Torch>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Profiler<kiln::Simple>>;
#endif

int main() { fit_once<Net, Trainer>(); }
