// SPDX-License-Identifier: Apache-2.0
// kiln/interop/safetensors.hpp — dicts of tensors in the safetensors format, read and written.
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <kiln/checkpoint/checkpoint_io.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/interop/torch_file.hpp>

// The format (https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian
// header length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end)}, ...,
// "__metadata__": {str: str}}, then the tensors' bytes, little-endian and row-major, offsets
// counted from the end of the header; the offsets must cover those bytes without gaps or overlaps.
namespace kiln {

namespace detail::safetensors {

static_assert(std::endian::native == std::endian::little, "kiln's safetensors I/O assumes a little-endian machine");

inline constexpr std::pair<const char*, at::ScalarType> dtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16}, {"I64", at::kLong},
    {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},   {"U8", at::kByte},       {"BOOL", at::kBool}};

inline const char* dtype_name(at::ScalarType t) {
  for (const auto& [name, type] : dtypes)
    if (type == t) return name;
  return nullptr;
}

inline constexpr std::uint64_t max_header = 100'000'000;  // the reference reader's limit

}  // namespace detail::safetensors

/// Writes `tensors` as a .safetensors file (Python: `safetensors.torch.load_file(path)`), with
/// optional string `metadata` under "__metadata__". Tensors are written contiguous from the CPU;
/// dtypes: float64/32/16, bfloat16, int64/32/16/8, uint8, bool. Atomic, as save_torch_file.
inline void save_safetensors(const TensorDict& tensors, const std::filesystem::path& path,
                             const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  std::uint64_t offset = 0;
  for (const auto& item : tensors) {
    if (item.key() == "__metadata__")
      throw Error(fmt::format("kiln: cannot write {}: \"__metadata__\" is reserved by the safetensors format", path.string()));
    const auto t = item.value().detach().to(at::kCPU).contiguous();
    const char* dtype = detail::safetensors::dtype_name(t.scalar_type());
    if (!dtype)
      throw Error(fmt::format("kiln: cannot write {}: tensor '{}' has dtype {}, which safetensors files do not hold",
                              path.string(), item.key(), c10::toString(t.scalar_type())));
    const std::uint64_t n = t.numel() * t.element_size();
    header[item.key()] = {{"dtype", dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
    offset += n;
    data.push_back(t);
  }
  std::string json = header.dump();
  json.resize((json.size() + 7) / 8 * 8, ' ');  // aligns the tensors' bytes to 8 (the format allows the padding)
  detail::write_file_atomically(path, [&](const detail::ByteSink& sink) {
    std::uint64_t n = json.size();
    sink(&n, 8);
    sink(json.data(), json.size());
    for (const auto& t : data) sink(t.data_ptr(), t.numel() * t.element_size());
  }, /*trailer=*/false, "safetensors file");
}

/// Reads a .safetensors file (Python: `safetensors.torch.save_file(tensors, path)`) into a dict in
/// the file's order; `metadata`, when given, receives "__metadata__". A damaged or foreign file
/// is an Error naming the file and the tensor or field at fault.
inline TensorDict load_safetensors(const std::filesystem::path& path,
                                   std::map<std::string, std::string>* metadata = nullptr) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(fmt::format("kiln: safetensors file {} does not exist", path.string()));
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(fmt::format("kiln: safetensors file {} cannot be read", path.string()));
  const auto bad = [&](const std::string& why) {
    return Error(fmt::format("kiln: {} is not a readable safetensors file: {}", path.string(), why));
  };
  if (bytes.size() < 8) throw bad(fmt::format("it has {} bytes, fewer than the 8 of its header length", bytes.size()));
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > detail::safetensors::max_header || n > bytes.size() - 8)
    throw bad(fmt::format("its header length {} exceeds the file's {} bytes (truncated, or not safetensors)", n,
                          bytes.size()));
  nlohmann::ordered_json header;
  try {
    header = nlohmann::ordered_json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    throw bad(fmt::format("its header is not JSON ({})", e.what()));
  }
  if (!header.is_object()) throw bad("its header is not a JSON object");
  const char* buffer = bytes.data() + 8 + n;
  const std::uint64_t buffer_size = bytes.size() - 8 - n;
  TensorDict out;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw bad("\"__metadata__\" is not an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw bad(fmt::format("\"__metadata__\".{} is not a string", k));
        if (metadata) (*metadata)[k] = v.get<std::string>();
      }
      continue;
    }
    const auto field = [&](const char* key) -> const nlohmann::ordered_json& {
      if (!entry.is_object() || !entry.contains(key)) throw bad(fmt::format("tensor '{}' has no \"{}\"", name, key));
      return entry.at(key);
    };
    const auto& dtype_field = field("dtype");
    const std::string dtype_name = dtype_field.is_string() ? dtype_field.get<std::string>() : dtype_field.dump();
    at::ScalarType dtype = at::ScalarType::Undefined;
    for (const auto& [name_of, type] : detail::safetensors::dtypes)
      if (dtype_name == name_of) dtype = type;
    if (dtype == at::ScalarType::Undefined)
      throw bad(fmt::format("tensor '{}' has dtype {}, which kiln does not read", name, dtype_name));
    std::vector<std::int64_t> shape;
    const auto& shape_field = field("shape");
    if (!shape_field.is_array()) throw bad(fmt::format("tensor '{}': \"shape\" is not a list", name));
    for (const auto& d : shape_field) {
      if (!d.is_number_unsigned()) throw bad(fmt::format("tensor '{}': \"shape\" holds {}", name, d.dump()));
      shape.push_back(d.get<std::int64_t>());
    }
    const auto& offsets = field("data_offsets");
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw bad(fmt::format("tensor '{}': \"data_offsets\" is not [begin, end]", name));
    const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    auto t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (begin > end || end > buffer_size || end - begin != static_cast<std::uint64_t>(t.numel() * t.element_size()))
      throw bad(fmt::format("tensor '{}': data_offsets [{}, {}] do not hold {} {} of {} in a buffer of {} bytes", name,
                            begin, end, t.numel(), t.numel() == 1 ? "element" : "elements", dtype_name, buffer_size));
    std::memcpy(t.data_ptr(), buffer + begin, end - begin);
    if (out.contains(name)) throw bad(fmt::format("tensor '{}' appears twice", name));
    out.insert(name, std::move(t));
    spans.emplace_back(begin, end);
  }
  std::sort(spans.begin(), spans.end());
  std::uint64_t covered = 0;
  for (const auto& [b, e] : spans) {
    if (b != covered) throw bad(fmt::format("its tensors' bytes {} at offset {}", b < covered ? "overlap" : "leave a gap", covered));
    covered = e;
  }
  if (covered != buffer_size) throw bad(fmt::format("{} bytes after its last tensor belong to none", buffer_size - covered));
  return out;
}

}  // namespace kiln
