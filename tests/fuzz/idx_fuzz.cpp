// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/idx_fuzz.cpp — libFuzzer target: arbitrary bytes (plain, or gzip as they come) as an IDX file.
// Every input must end in a tensor or kiln::Error; anything else is a finding. scripts/fuzz runs it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

#include <kiln/data/idx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const std::string file = "/tmp/kiln_fuzz_idx_" + std::to_string(::getpid());
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  }
  try {
    const auto t = kiln::data::read_idx(file);
    if (t.numel() > 0 && t.scalar_type() != torch::kUInt8) std::abort();
  } catch (const kiln::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "idx_fuzz: not a kiln::Error: %s\n", e.what());
    std::abort();
  }
  return 0;
}
