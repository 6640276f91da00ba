// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/engine_process_signature.cpp — an Engine process function that cannot take (engine, batch).
// kiln-expect-error: kiln: the Engine's process function cannot be called as process\(engine, batch\)\.
#include "net.hpp"

int main() {
  std::vector<int> data{1, 2, 3};
#ifdef KILN_MISTAKE
  kiln::Engine engine([](int batch) { return batch; });  // forgot the engine parameter
#else
  kiln::Engine engine([](auto&, int batch) { return batch; });
#endif
  engine.run(data);
}
