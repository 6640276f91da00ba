// SPDX-License-Identifier: Apache-2.0
// tests/unit/shell.hpp — runs a shell command for the tests that check a whole program's output.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

namespace kiln_test {

/// Runs `command` through the shell; returns its stdout and exit status (-1: killed by a signal).
inline std::pair<std::string, int> run_shell(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

}  // namespace kiln_test
