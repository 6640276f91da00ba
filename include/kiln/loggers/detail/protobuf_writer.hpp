// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/detail/protobuf_writer.hpp — ProtobufWriter: appends protobuf wire-format fields to a byte string.
#pragma once
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::detail {

/// Encodes one protobuf message field by field, in the order called (enough for TensorBoard's
/// event files; no schema, no parsing). Every call writes its field: proto3's "omit default
/// values" is the caller's choice, since members of a `oneof` must be written even when zero.
class ProtobufWriter {
 public:
  /// Wire type 0: int32, int64, uint64, bool and enum fields (negative int64 take ten bytes).
  ProtobufWriter& varint(std::uint32_t field, std::uint64_t value) {
    key(field, 0);
    put_varint(value);
    return *this;
  }
  /// Wire type 1: a `double` field, little-endian IEEE-754.
  ProtobufWriter& fixed64(std::uint32_t field, double value) {
    key(field, 1);
    put_le(std::bit_cast<std::uint64_t>(value), 8);
    return *this;
  }
  /// Wire type 5: a `float` field, little-endian IEEE-754.
  ProtobufWriter& fixed32(std::uint32_t field, float value) {
    key(field, 5);
    put_le(std::bit_cast<std::uint32_t>(value), 4);
    return *this;
  }
  /// Wire type 2: a `string` or `bytes` field.
  ProtobufWriter& bytes(std::uint32_t field, std::string_view value) {
    key(field, 2);
    put_varint(value.size());
    out_.append(value);
    return *this;
  }
  /// Wire type 2: a nested message (also one entry of a `map<K, V>`: a message {key = 1, value = 2}).
  ProtobufWriter& message(std::uint32_t field, const ProtobufWriter& nested) { return bytes(field, nested.out_); }

  /// The encoded message so far.
  const std::string& str() const { return out_; }

 private:
  void key(std::uint32_t field, std::uint32_t wire_type) { put_varint((std::uint64_t{field} << 3) | wire_type); }
  void put_varint(std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
    out_.push_back(static_cast<char>(v));
  }
  void put_le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }

  std::string out_;
};

}  // namespace kiln::detail
