// SPDX-License-Identifier: Apache-2.0
// tests/unit/data/idx_test.cpp — read_idx: gzip and plain IDX files, and errors naming the file and the problem.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

#include "data_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using data_fixture::fresh_dir;
using data_fixture::write_idx;

std::string error_of(const fs::path& p, int dims = 0) {
  try {
    kiln::data::read_idx(p, dims);
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("read_idx reads gzip and plain IDX files", "[data][idx]") {
  const auto dir = fresh_dir("idx_ok");
  std::vector<std::uint8_t> v(24);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(i * 10);
  write_idx(dir / "a.gz", {2, 3, 4}, v);
  write_idx(dir / "a.idx", {2, 3, 4}, v, false);
  for (auto name : {"a.gz", "a.idx"}) {
    auto t = kiln::data::read_idx(dir / name, 3);
    REQUIRE(t.sizes() == torch::IntArrayRef({2, 3, 4}));
    REQUIRE(t.scalar_type() == torch::kUInt8);
    REQUIRE(t[1][2][3].item<int>() == 230);
  }
}

TEST_CASE("read_idx names the file and the problem", "[data][idx]") {
  const auto dir = fresh_dir("idx_bad");
  std::vector<std::uint8_t> v(24, 1);
  const auto missing = dir / "missing.gz";
  REQUIRE_THAT(error_of(missing), Contains(missing.string()) && Contains("no such file"));

  write_idx(dir / "short.gz", {2, 3, 4}, std::vector<std::uint8_t>(10, 1));
  REQUIRE_THAT(error_of(dir / "short.gz"), Contains("short.gz") && Contains("truncated") && Contains("24 bytes"));

  // Found by fuzzing: sizes whose product overflows, and a header claiming more than the file holds.
  write_idx(dir / "huge.idx", {4000000000u, 4000000000u, 4000000000u}, std::vector<std::uint8_t>(3, 1), false);
  REQUIRE_THAT(error_of(dir / "huge.idx"), Contains("huge.idx") && Contains("more than 2^40 values"));
  write_idx(dir / "liar.idx", {1000, 1000}, std::vector<std::uint8_t>(10, 1), false);
  REQUIRE_THAT(error_of(dir / "liar.idx"), Contains("the header describes 1000000 values, more than the 22-byte file can hold"));
  write_idx(dir / "long.gz", {2, 3, 4}, std::vector<std::uint8_t>(25, 1));
  REQUIRE_THAT(error_of(dir / "long.gz"), Contains("long.gz") && Contains("bytes after the 24 values"));

  write_idx(dir / "type.gz", {2, 3, 4}, v, true, 0x0D);
  REQUIRE_THAT(error_of(dir / "type.gz"), Contains("type.gz") && Contains("data type 0x0d"));

  write_idx(dir / "dims.gz", {24}, v);
  REQUIRE_THAT(error_of(dir / "dims.gz", 3), Contains("dims.gz") && Contains("1 dimensions, expected 3"));

  std::ofstream(dir / "magic.idx", std::ios::binary) << std::string("\x01\x02\x08\x01\x00\x00\x00\x01\x05", 9);
  REQUIRE_THAT(error_of(dir / "magic.idx"), Contains("magic.idx") && Contains("bad magic number 01020801"));

  // A gzip stream cut in half, and one with flipped bytes in its compressed data.
  std::vector<std::uint8_t> big(20000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>((i * 7919) % 251);
  write_idx(dir / "full.gz", {20000}, big);
  std::string gz;
  {
    std::ifstream in(dir / "full.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(dir / "cut.gz", std::ios::binary) << gz.substr(0, gz.size() / 2);
  REQUIRE_THAT(error_of(dir / "cut.gz"), Contains("cut.gz") && (Contains("truncated") || Contains("corrupt")));
  auto flipped = gz;
  for (std::size_t i = 40; i < 60; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  std::ofstream(dir / "flipped.gz", std::ios::binary) << flipped;
  REQUIRE_THAT(error_of(dir / "flipped.gz"), Contains("flipped.gz") && Contains("corrupt"));
}
