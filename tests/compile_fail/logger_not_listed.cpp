// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/logger_not_listed.cpp — trainer.logger<T>() names a logger type that is not in Loggers<...>.
// kiln-expect-error: kiln: trainer\.logger<T>\(\) names a type that is not in Loggers<\.\.\.>\.
#include "net.hpp"

struct MemoryLogger {
  void log_metrics(const kiln::MetricMap&, std::int64_t) {}
  void save() {}
};

int main() {
#ifdef KILN_MISTAKE
  kiln::Trainer<Net, kiln::Loggers<kiln::CsvLogger>> trainer;
#else
  kiln::Trainer<Net, kiln::Loggers<MemoryLogger>> trainer;
#endif
  trainer.logger<MemoryLogger>().save();
}
