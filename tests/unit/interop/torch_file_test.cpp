// SPDX-License-Identifier: Apache-2.0
// tests/unit/interop/torch_file_test.cpp — torch.save's format: every dtype round-trips; hand-made pickles show
// what the reader accepts, and that a damaged or foreign file is one error naming it.
#include <string>

#include <catch2/catch.hpp>

#include "interop_fixture.hpp"

namespace {

using Catch::Matchers::Contains;
using namespace interop_fixture;

// Pickle opcodes, spelled out: a string, a small int, and the torch rebuild of a float tensor.
std::string str(const std::string& s) {
  std::string out = "X";
  for (int i = 0; i < 4; ++i) out += static_cast<char>((s.size() >> (8 * i)) & 0xff);
  return out + s;
}
std::string int1(int n) { return std::string("K") + static_cast<char>(n); }
const std::string proto = std::string("\x80\x02", 2);

/// {"t": a float tensor of `size` elements (stride 1) over storage "0" of `numel` elements}.
std::string tensor_dict_pickle(int numel, int size) {
  return proto + "}" + str("t") + "ctorch._utils\n_rebuild_tensor_v2\n" + "((" + str("storage") +
         "ctorch\nFloatStorage\n" + str("0") + str("cpu") + int1(numel) + "tQ" + int1(0) + int1(size) + "\x85" +
         int1(1) + "\x85" + "\x89" + "ccollections\nOrderedDict\n)R" + "tR" + "s.";
}
std::string floats(std::initializer_list<float> v) {
  return {reinterpret_cast<const char*>(std::data(v)), v.size() * sizeof(float)};
}

}  // namespace

TEST_CASE("save_torch_file and load_torch_file round-trip every dtype, 0-d, empty and strided tensors", "[interop][torch_file]") {
  const auto path = interop_file("every_dtype.pt");
  kiln::save_torch_file(every_dtype(), path);
  const auto back = kiln::load_torch_file(path);
  CHECK(same_tensors(back, every_dtype()));
  CHECK(back["view"].strides() == every_dtype()["view"].strides());  // a view stays a view of its storage
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST_CASE("a hand-made torch.save pickle loads, and views reaching past their storage do not", "[interop][torch_file]") {
  const auto path = interop_file("hand.pt");
  write_archive(path, tensor_dict_pickle(3, 2), {{"data/0", floats({1.5f, -2.f, 7.f})}});
  const auto d = kiln::load_torch_file(path);
  REQUIRE(d.keys() == std::vector<std::string>{"t"});
  CHECK(torch::equal(d["t"], torch::tensor({1.5f, -2.f})));

  write_archive(path, tensor_dict_pickle(3, 4), {{"data/0", floats({1.5f, -2.f, 7.f})}});
  CHECK_THROWS_WITH(kiln::load_torch_file(path),
                    Contains(path.string()) && Contains("a tensor of size [4] reaches past its storage of 3 elements"));
  write_archive(path, tensor_dict_pickle(3, 2), {{"data/0", floats({1.5f, -2.f})}});
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains("storage data/0 holds 8 bytes, not 3 elements of Float"));
  write_archive(path, tensor_dict_pickle(3, 2));
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains("the pickle names storage data/0, which the archive lacks"));
}

TEST_CASE("load_torch_file runs no code from the file and names what it found instead of a dict of tensors", "[interop][torch_file][errors]") {
  const auto path = interop_file("foreign.pt");
  write_archive(path, proto + "cos\nsystem\n" + str("touch /tmp/kiln_pwned") + "\x85R.");
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains(path.string()) && Contains("it calls os.system, which kiln does not run"));
  CHECK_FALSE(std::filesystem::exists("/tmp/kiln_pwned"));

  write_archive(path, proto + "].");
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains(path.string() + " holds a list, not a dict of tensors"));
  write_archive(path, proto + "}" + str("epoch") + int1(3) + "s.");
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains("key 'epoch' holds an int, not a tensor"));
  write_archive(path, proto + "}" + str("state_dict") + "}s.");
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains("key 'state_dict' holds a dict") && Contains("torch.save(ckpt['state_dict'], path)"));
  write_archive(path, proto + "}" + str("t"));
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains("it ends in the middle of an instruction (truncated)"));
  write_archive(path, proto + "\xff.");
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains("opcode 0xff at byte 2"));
  write_archive(path, "", {{"constants.pkl", proto + "]."}});
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains("a zip archive without data.pkl"));
}

TEST_CASE("a missing, foreign or truncated torch file is an error naming it", "[interop][torch_file][errors]") {
  const auto path = interop_file("bad.pt");
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains("state dict file " + path.string() + " does not exist"));
  put_file_bytes(path, "not a zip archive at all");
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains(path.string() + " is not a file torch.save writes (a zip archive)"));
  kiln::save_torch_file(every_dtype(), path);
  const auto whole = file_bytes(path);
  put_file_bytes(path, whole.substr(0, whole.size() / 2));
  CHECK_THROWS_WITH(kiln::load_torch_file(path), Contains(path.string()));
}

TEST_CASE("save_torch_file that cannot write names the file and leaves the old one", "[interop][torch_file][errors]") {
  const auto path = interop_file("kept.pt");
  kiln::save_torch_file(every_dtype(), path);
  const auto before = file_bytes(path);
  std::filesystem::create_directories(path.string() + ".tmp");  // the temporary file's name is taken
  CHECK_THROWS_WITH(kiln::save_torch_file(kiln::TensorDict{}, path), Contains("cannot write state dict " + path.string()));
  CHECK(file_bytes(path) == before);
  std::filesystem::remove_all(path.string() + ".tmp");
}
