// SPDX-License-Identifier: Apache-2.0
// tests/unit/interop/interop_fixture.hpp — a module with buffers, a dict of every dtype, and scratch files for the interop tests.
#pragma once
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <caffe2/serialize/inline_container.h>

#include <kiln/interop.hpp>

namespace interop_fixture {

struct BnNetImpl : torch::nn::Module {
  explicit BnNetImpl(int hidden = 4)
      : fc1(register_module("fc1", torch::nn::Linear(3, hidden))),
        bn(register_module("bn", torch::nn::BatchNorm1d(hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(bn(fc1(x)))); }
  torch::nn::Linear fc1;
  torch::nn::BatchNorm1d bn;
  torch::nn::Linear fc2;
};
TORCH_MODULE(BnNet);

/// A file path in a fresh folder of its own (ctest runs test cases as parallel processes).
inline std::filesystem::path interop_file(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("kiln_interop_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::remove_all(dir / name);
  return dir / name;
}

/// Every dtype both formats hold, a 0-d tensor, an empty one and a strided view (interop_python.py's
/// misc() builds the same).
inline kiln::TensorDict every_dtype() {
  kiln::TensorDict d;
  d.insert("f64", torch::arange(6, torch::kDouble).reshape({2, 3}) / 3);
  d.insert("f32", torch::arange(5, torch::kFloat) / 7);
  d.insert("f16", (torch::arange(4, torch::kFloat) / 4).to(torch::kHalf));
  d.insert("bf16", (torch::arange(4, torch::kFloat) / 8).to(torch::kBFloat16));
  d.insert("i64", torch::arange(-3, 3, torch::kLong) * static_cast<int64_t>(1000000007));
  d.insert("i32", torch::arange(-2, 2, torch::kInt));
  d.insert("i16", torch::arange(-2, 2, torch::kShort));
  d.insert("i8", torch::arange(-2, 2, torch::kChar));
  d.insert("u8", torch::arange(250, 256, torch::kInt).to(torch::kByte));
  d.insert("bool", torch::tensor({true, false, true}));
  d.insert("scalar", torch::tensor(3.5, torch::kDouble));
  d.insert("empty", torch::zeros({0, 3}));
  d.insert("view", torch::arange(12, torch::kFloat).reshape({3, 4}).t());
  return d;
}

/// Same names in the same order, and per name the same dtype, shape and values.
inline bool same_tensors(const kiln::TensorDict& a, const kiln::TensorDict& b) {
  if (a.keys() != b.keys()) return false;
  return std::all_of(a.begin(), a.end(), [&](const auto& item) {
    const auto& other = b[item.key()];
    return item.value().scalar_type() == other.scalar_type() && item.value().sizes() == other.sizes() &&
           torch::equal(item.value(), other);
  });
}

/// A zip archive as torch.save lays it out, with the given pickle and data/<key> records.
inline void write_archive(const std::filesystem::path& path, const std::string& pickle,
                          const std::vector<std::pair<std::string, std::string>>& records = {}) {
  caffe2::serialize::PyTorchStreamWriter writer(path.string());
  for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
  if (!pickle.empty()) writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeEndOfFile();
}

inline std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void put_file_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace interop_fixture
