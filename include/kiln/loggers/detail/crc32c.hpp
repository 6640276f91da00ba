// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/detail/crc32c.hpp — CRC-32C (Castagnoli) and TFRecord's masked form, usable in constant expressions.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace kiln::detail {

/// One entry per byte value: the CRC-32C of that byte alone (reflected polynomial 0x82F63B78).
inline constexpr std::array<std::uint32_t, 256> crc32c_table = [] {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1u) ? 0x82F63B78u : 0u);
    table[i] = c;
  }
  return table;
}();

/// CRC-32C of `data`, the checksum of TFRecord files (and iSCSI, ext4); `crc` continues an earlier
/// result, so `crc32c(b, crc32c(a)) == crc32c(a + b)`. Known answer: `crc32c("123456789") == 0xE3069283`.
constexpr std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0) {
  crc = ~crc;
  for (char ch : data) crc = crc32c_table[(crc ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

/// TFRecord's stored checksum: the CRC rotated right by 15 bits plus a constant, because a plain
/// CRC computed over bytes that themselves end in a CRC is prone to degenerate values.
constexpr std::uint32_t masked_crc32c(std::string_view data) {
  const std::uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

}  // namespace kiln::detail
