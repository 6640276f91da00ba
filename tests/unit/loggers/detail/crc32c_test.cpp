// SPDX-License-Identifier: Apache-2.0
// tests/unit/loggers/detail/crc32c_test.cpp — crc32c: the CRC-32C check values and TFRecord's masked form, at compile time too.
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include <kiln/loggers/detail/crc32c.hpp>

#include "../crc32c_reference.hpp"

namespace {

using crc32c_reference::crc32c_bitwise;
using crc32c_reference::masked_bitwise;

}  // namespace

TEST_CASE("crc32c gives the CRC-32C check values and TFRecord's masked form", "[loggers][tensorboard][crc32c]") {
  STATIC_REQUIRE(kiln::detail::crc32c("123456789") == 0xE3069283u);
  REQUIRE(crc32c_bitwise("123456789") == 0xE3069283u);  // the test's reference agrees with the standard
  REQUIRE(kiln::detail::crc32c("") == 0u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and 0x00..0x1F.
  REQUIRE(kiln::detail::crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  REQUIRE(kiln::detail::crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);
  std::string ramp;
  for (int i = 0; i < 32; ++i) ramp.push_back(static_cast<char>(i));
  REQUIRE(kiln::detail::crc32c(ramp) == 0x46DD794Eu);
  // Masked: rotr(0xE3069283, 15) + 0xA282EAD8 = 0x2507C60D + 0xA282EAD8, by hand.
  STATIC_REQUIRE(kiln::detail::masked_crc32c("123456789") == 0xC78AB0E5u);
  std::string mixed;
  for (int i = 0; i < 1000; ++i) mixed.push_back(static_cast<char>((i * 131 + 7) & 0xFF));
  REQUIRE(kiln::detail::crc32c(mixed) == crc32c_bitwise(mixed));
  REQUIRE(kiln::detail::masked_crc32c(mixed) == masked_bitwise(mixed));
  REQUIRE(kiln::detail::crc32c(std::string_view(mixed).substr(400), kiln::detail::crc32c(mixed.substr(0, 400))) ==
          kiln::detail::crc32c(mixed));
}
