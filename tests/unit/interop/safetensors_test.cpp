// SPDX-License-Identifier: Apache-2.0
// tests/unit/interop/safetensors_test.cpp — the safetensors layout kiln writes, its round trip, and one error per fault.
#include <cstdint>
#include <cstring>
#include <map>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "interop_fixture.hpp"

namespace {

using Catch::Matchers::Contains;
using namespace interop_fixture;

/// A safetensors file from a header (JSON text) and the bytes after it.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

}  // namespace

TEST_CASE("save_safetensors writes the documented layout, and load_safetensors reads it back", "[interop][safetensors]") {
  const auto path = interop_file("every_dtype.safetensors");
  kiln::save_safetensors(every_dtype(), path, {{"written_by", "kiln"}});
  const auto bytes = file_bytes(path);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);  // the tensors' bytes start aligned
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(header["__metadata__"] == nlohmann::json{{"written_by", "kiln"}});
  CHECK(header["f64"] == nlohmann::json{{"dtype", "F64"}, {"shape", {2, 3}}, {"data_offsets", {0, 48}}});
  CHECK(header["f32"]["data_offsets"] == nlohmann::json{48, 68});
  CHECK(header["scalar"]["shape"] == nlohmann::json::array());
  CHECK(header["view"]["shape"] == nlohmann::json{4, 3});
  float first_view_row[3];
  std::memcpy(first_view_row, bytes.data() + 8 + n + header["view"]["data_offsets"][0].get<std::size_t>(), 12);
  CHECK(first_view_row[1] == 4.f);  // written row-major: the view's [0][1] is arange's 4
  std::map<std::string, std::string> metadata;
  const auto back = kiln::load_safetensors(path, &metadata);
  CHECK(same_tensors(back, every_dtype()));
  CHECK(metadata == std::map<std::string, std::string>{{"written_by", "kiln"}});
}

TEST_CASE("a damaged or foreign safetensors file is one error naming the file and the fault", "[interop][safetensors][errors]") {
  const auto path = interop_file("bad.safetensors");
  const auto fails = [&](const std::string& bytes, const std::string& why) {
    put_file_bytes(path, bytes);
    CHECK_THROWS_WITH(kiln::load_safetensors(path), Contains(path.string() + " is not a readable safetensors file") &&
                                                        Contains(why));
  };
  CHECK_THROWS_WITH(kiln::load_safetensors(path), Contains("safetensors file " + path.string() + " does not exist"));
  const std::string two_floats(8, '\0');
  const auto t = [](const std::string& fields) { return "{\"t\": {" + fields + "}}"; };
  fails("abc", "it has 3 bytes, fewer than the 8 of its header length");
  fails(safetensors_bytes("{}", "").substr(0, 9), "its header length 2 exceeds the file's 9 bytes");
  fails(safetensors_bytes("{\"t\": ", ""), "its header is not JSON");
  fails(safetensors_bytes("[1, 2]", ""), "its header is not a JSON object");
  fails(safetensors_bytes(t("\"shape\": [2], \"data_offsets\": [0, 8]"), two_floats), "tensor 't' has no \"dtype\"");
  fails(safetensors_bytes(t("\"dtype\": \"F8_E4M3\", \"shape\": [8], \"data_offsets\": [0, 8]"), two_floats),
        "tensor 't' has dtype F8_E4M3, which kiln does not read");
  fails(safetensors_bytes(t("\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]"), two_floats),
        "tensor 't': \"shape\" holds -2");
  fails(safetensors_bytes(t("\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]"), two_floats),
        "tensor 't': data_offsets [0, 8] do not hold 3 elements of F32 in a buffer of 8 bytes");
  fails(safetensors_bytes(t("\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 16]"), two_floats),
        "data_offsets [0, 16] do not hold 2 elements of F32 in a buffer of 8 bytes");
  fails(safetensors_bytes(t("\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]"), two_floats),
        "its tensors' bytes leave a gap at offset 0");
  fails(safetensors_bytes(t("\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]"), two_floats),
        "4 bytes after its last tensor belong to none");
  fails(safetensors_bytes("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
                          "\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", two_floats),
        "its tensors' bytes overlap at offset 8");
  fails(safetensors_bytes("{\"__metadata__\": {\"n\": 1}}", ""), "\"__metadata__\".n is not a string");
  // The good case of the same hand-made layout loads.
  put_file_bytes(path, safetensors_bytes(t("\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]"), two_floats));
  CHECK(torch::equal(kiln::load_safetensors(path)["t"], torch::zeros({2})));
}

TEST_CASE("save_safetensors refuses what the format cannot hold, naming the tensor", "[interop][safetensors][errors]") {
  const auto path = interop_file("refused.safetensors");
  kiln::TensorDict complex;
  complex.insert("z", torch::zeros({2}, torch::kComplexFloat));
  CHECK_THROWS_WITH(kiln::save_safetensors(complex, path),
                    Contains("cannot write " + path.string() + ": tensor 'z' has dtype ComplexFloat"));
  kiln::TensorDict reserved;
  reserved.insert("__metadata__", torch::zeros({1}));
  CHECK_THROWS_WITH(kiln::save_safetensors(reserved, path), Contains("\"__metadata__\" is reserved"));
  CHECK_FALSE(std::filesystem::exists(path));
}
