// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/duplicate_policy.cpp — the same policy slot (Precision<FP32>) is given twice.
// kiln-expect-error: kiln: Precision<\.\.\.> is given twice\. Give each policy slot at most once\.
#include "net.hpp"

#ifdef KILN_MISTAKE
using Trainer = kiln::Trainer<Net, kiln::Precision<kiln::FP32>, kiln::Precision<kiln::FP32>>;
#else
using Trainer = kiln::Trainer<Net, kiln::Precision<kiln::FP32>>;
#endif

int main() { fit_once<Net, Trainer>(); }
