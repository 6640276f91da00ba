// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/not_a_policy.cpp — a Trainer argument after the module is not a policy (int).
// kiln-expect-error: kiln: a Trainer argument after the module is not a policy\. Use Strategy<\.\.\.>, Precision<\.\.\.>
#include "net.hpp"

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, int>;
#else
using Trainer = kiln::Trainer<Net>;
#endif

int main() { fit_once<Net, Trainer>(); }
