// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/unknown_strategy.cpp — Strategy<T> with a tag that names no strategy.
// kiln-expect-error: kiln: Strategy<T> names no strategy kiln knows\. Use kiln::SingleDevice
#include "net.hpp"

struct NotAStrategy {};
#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Strategy<NotAStrategy>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Strategy<kiln::SingleDevice>>;
#endif

int main() { fit_once<Net, Trainer>(); }
