// SPDX-License-Identifier: Apache-2.0
// kiln/data/idx.hpp — read_idx: MNIST-family IDX files, straight from .gz (zlib), fully validated.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>
#include <zlib.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>

namespace kiln::data {

/// Reads an IDX file (the format of MNIST, Fashion-MNIST, KMNIST...): 2 zero bytes, a type
/// byte, a dimension count, big-endian uint32 sizes, then the values. Gzip-compressed and
/// plain files are both read (zlib tells them apart). Only unsigned-byte data (type 0x08, the
/// MNIST family's) is accepted. Returns a kUInt8 tensor of the stored shape.
///
/// `expected_dims` (when > 0) is the dimension count the caller needs. A missing, truncated or
/// corrupt file, a wrong magic number, a zero size or bytes after the data raise kiln::Error
/// naming the file and the problem.
inline torch::Tensor read_idx(const std::filesystem::path& path, int expected_dims = 0) {
  const std::string name = path.string();
  auto fail = [&](std::string_view what) { return Error(fmt::format("kiln: IDX file {}: {}", name, what)); };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw fail("no such file");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> gz(gzopen(name.c_str(), "rb"), &gzclose);
  if (!gz) throw fail("cannot be opened");
  gzbuffer(gz.get(), 1 << 17);

  // Reads exactly n bytes or says why not: zlib's error (corrupt data) or the early end.
  auto read = [&](void* out, std::size_t n, std::string_view part) {
    auto* p = static_cast<unsigned char*>(out);
    std::size_t got = 0;
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
      const int r = gzread(gz.get(), p + got, chunk);
      if (r < 0) {
        int code = 0;
        throw fail(fmt::format("corrupt compressed data while reading the {} ({})", part, gzerror(gz.get(), &code)));
      }
      if (r == 0) throw fail(fmt::format("truncated: the {} needs {} bytes, the file ends after {}", part, n, got));
      got += static_cast<std::size_t>(r);
    }
  };

  std::array<unsigned char, 4> magic{};
  read(magic.data(), 4, "magic number");
  if (magic[0] != 0 || magic[1] != 0)
    throw fail(fmt::format("bad magic number {:02x}{:02x}{:02x}{:02x}: an IDX file starts with two zero bytes",
                           magic[0], magic[1], magic[2], magic[3]));
  if (magic[2] != 0x08)
    throw fail(fmt::format("data type 0x{:02x} is not supported (only 0x08, unsigned bytes)", magic[2]));
  const int dims = magic[3];
  if (dims < 1 || dims > 8) throw fail(fmt::format("{} dimensions in the magic number (1 to 8 expected)", dims));
  if (expected_dims > 0 && dims != expected_dims)
    throw fail(fmt::format("{} dimensions, expected {}", dims, expected_dims));

  std::vector<std::int64_t> shape(static_cast<std::size_t>(dims));
  std::int64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    std::array<unsigned char, 4> b{};
    read(b.data(), 4, fmt::format("size of dimension {}", d));
    const std::uint32_t n = (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
    if (n == 0) throw fail(fmt::format("dimension {} has size 0", d));
    shape[static_cast<std::size_t>(d)] = n;
    // Checked before multiplying: the product of eight 32-bit sizes overflows (found by fuzzing).
    if (count > (std::int64_t(1) << 40) / n) throw fail("sizes describe more than 2^40 values");
    count *= n;
  }
  // Allocate only what the file can hold: its size, or what deflate's best ratio (1032:1) can
  // expand it to. A header that claims more is a lie, and must not cost that much memory.
  const auto file_size = static_cast<std::int64_t>(std::filesystem::file_size(path, ec));
  const std::int64_t can_hold = gzdirect(gz.get()) ? file_size : file_size * 1032;
  if (!ec && count > can_hold)
    throw fail(fmt::format("truncated: the header describes {} values, more than the {}-byte file can hold", count, file_size));

  auto values = torch::empty(shape, torch::kUInt8);
  read(values.data_ptr<std::uint8_t>(), static_cast<std::size_t>(count), fmt::format("data ({} values)", count));
  unsigned char extra = 0;
  const int r = gzread(gz.get(), &extra, 1);
  if (r < 0) {
    int code = 0;
    throw fail(fmt::format("corrupt compressed data after the values ({})", gzerror(gz.get(), &code)));
  }
  if (r > 0) throw fail(fmt::format("bytes after the {} values the header announces", count));
  return values;
}

}  // namespace kiln::data
