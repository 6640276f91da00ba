// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/hook_on_exception_wrong_parameters.cpp — a module's on_exception takes the error, as Lightning's callback does.
// kiln-expect-error: kiln: the module's on_exception has the wrong parameters, so kiln would never call it\. Declare it as `void on_exception\(kiln::StepContext& ctx\)`
#include "net.hpp"

struct Logged : Net {
  int errors = 0;
#ifdef KILN_MISTAKE
  void on_exception(const std::exception& e) { ++errors; }
#else
  void on_exception(kiln::StepContext& ctx) { ++errors; }
#endif
};

int main() { fit_once<Logged>(); }
