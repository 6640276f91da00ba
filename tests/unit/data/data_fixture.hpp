// SPDX-License-Identifier: Apache-2.0
// tests/unit/data/data_fixture.hpp — fresh scratch folders, IDX files written byte by byte, and environment variables for one scope.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include <catch2/catch.hpp>

namespace data_fixture {

namespace fs = std::filesystem;

inline fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("kiln_data_test_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Writes an IDX file: magic 00 00 08 <dims>, big-endian sizes, then `values` (gzip or plain).
inline void write_idx(const fs::path& p, std::vector<std::uint32_t> dims, const std::vector<std::uint8_t>& values, bool gz = true,
                      std::uint8_t type = 0x08) {
  std::string bytes = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes += static_cast<char>((d >> s) & 0xff);
  bytes.append(values.begin(), values.end());
  if (gz) {
    gzFile f = gzopen(p.string().c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(p, std::ios::binary) << bytes;
  }
}

struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) { ::setenv(name.c_str(), value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

}  // namespace data_fixture
