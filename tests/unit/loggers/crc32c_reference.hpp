// SPDX-License-Identifier: Apache-2.0
// tests/unit/loggers/crc32c_reference.hpp — CRC-32C computed bit by bit, the reference kiln's table-driven one is checked against.
#pragma once
#include <cstdint>
#include <string_view>

namespace crc32c_reference {

// CRC-32C bit by bit, as its definition reads: shares nothing with kiln's table-driven one.
inline std::uint32_t crc32c_bitwise(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (char ch : data) {
    crc ^= static_cast<unsigned char>(ch);
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

inline std::uint32_t masked_bitwise(std::string_view data) {
  const std::uint32_t c = crc32c_bitwise(data);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

}  // namespace crc32c_reference
