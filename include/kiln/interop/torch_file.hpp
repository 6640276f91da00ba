// SPDX-License-Identifier: Apache-2.0
// kiln/interop/torch_file.hpp — dicts of tensors in torch.save's file format, read and written.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <kiln/checkpoint/checkpoint_io.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/tensor_dict.hpp>
#include <kiln/interop/detail/unpickler.hpp>

namespace kiln {

/// Writes `tensors` as torch.save writes a dict: a zip archive with the pickle and one record per
/// storage. Python's `torch.load(path)` returns a `dict[str, Tensor]` (weights_only, its default,
/// accepts it). Tensors are written from the CPU, so the file loads on any machine. The write is
/// atomic: the file at `path` is either the old one or the whole new one.
inline void save_torch_file(const TensorDict& tensors, const std::filesystem::path& path) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& item : tensors) dict.insert(item.key(), item.value().detach().cpu());
  std::vector<char> pickle;
  // No type tags on the dict: LibTorch's default tags it with a call of
  // torch.jit._pickle.restore_type_tag, which torch.load's weights_only mode refuses.
  torch::jit::Pickler pickler([&](const char* b, std::size_t n) { pickle.insert(pickle.end(), b, b + n); },
                              nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(dict);
  pickler.stop();
  detail::write_file_atomically(path, [&](const detail::ByteSink& sink) {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t n) {
      sink(data, n);
      return n;
    });
    const auto& storages = pickler.tensorData();  // the pickle names them "0", "1", ... in this order
    for (std::size_t i = 0; i < storages.size(); ++i) {
      const auto bytes = torch::jit::getWriteableTensorData(storages[i]);
      writer.writeRecord("data/" + std::to_string(i), bytes.data(), bytes.sizeInBytes());
    }
    writer.writeRecord("byteorder", "little", 6);
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    writer.writeEndOfFile();
  }, /*trailer=*/false, "state dict");
}

/// Reads a dict of tensors written by Python's `torch.save` (a `state_dict()`, an OrderedDict or a
/// plain dict; tensors may share storage or be views of one) or by save_torch_file. Anything
/// else in the file (a whole checkpoint, a pickled class, the pre-1.6 format) is an Error naming
/// the file and what was found; no code from the file is run.
inline TensorDict load_torch_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(fmt::format("kiln: state dict file {} does not exist", path.string()));
  const auto where = path.string();
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(where);
  } catch (const std::exception& e) {
    const std::string why = e.what();
    throw Error(fmt::format("kiln: {} is not a file torch.save writes (a zip archive): {}", where,
                            why.substr(0, why.find('\n'))));
  }
  try {
    if (!reader->hasRecord("data.pkl"))
      throw Error(fmt::format("kiln: {} is a zip archive without data.pkl: not written by torch.save "
                              "(a TorchScript module? load it with torch::jit::load)", where));
    if (reader->hasRecord("byteorder")) {
      auto [data, n] = reader->getRecord("byteorder");
      const std::string order(static_cast<const char*>(data.get()), n);
      if (order != "little")
        throw Error(fmt::format("kiln: {} was written on a {}-endian machine; kiln reads little-endian files", where, order));
    }
    auto [pkl, size] = reader->getRecord("data.pkl");
    detail::pickle::Machine machine(static_cast<const char*>(pkl.get()), size, where,
                                    [&](at::ScalarType dtype, const std::string& key, std::int64_t numel) {
      const std::string record = "data/" + key;
      if (!reader->hasRecord(record))
        throw Error(fmt::format("kiln: {}: the pickle names storage {}, which the archive lacks", where, record));
      auto [data, n] = reader->getRecord(record);
      auto storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
      if (numel < 0 || n != static_cast<std::size_t>(numel) * storage.element_size())
        throw Error(fmt::format("kiln: {}: storage {} holds {} bytes, not {} elements of {}", where, record, n,
                                numel, c10::toString(dtype)));
      std::memcpy(storage.data_ptr(), data.get(), n);
      return storage;
    });
    const auto root = machine.run();
    if (root->kind != detail::pickle::Object::Kind::dict)
      throw Error(fmt::format("kiln: {} holds {}, not a dict of tensors", where, root->kind_name()));
    TensorDict out;
    for (const auto& [k, v] : root->entries) {
      if (k->kind != detail::pickle::Object::Kind::string)
        throw Error(fmt::format("kiln: {} has {} as a key; a state dict's keys are str", where, k->kind_name()));
      if (v->kind != detail::pickle::Object::Kind::tensor)
        throw Error(fmt::format("kiln: {}: key '{}' holds {}, not a tensor{}", where, k->text, v->kind_name(),
                                v->kind == detail::pickle::Object::Kind::dict
                                    ? " (a checkpoint? save its state dict alone: torch.save(ckpt['state_dict'], path))"
                                    : ""));
      if (out.contains(k->text)) throw Error(fmt::format("kiln: {}: key '{}' appears twice", where, k->text));
      out.insert(k->text, v->tensor);
    }
    return out;
  } catch (const c10::Error& e) {  // a damaged archive: miniz's and LibTorch's checks
    const std::string why = e.what();
    throw Error(fmt::format("kiln: {} cannot be read: {}", where, why.substr(0, why.find('\n'))));
  }
}

}  // namespace kiln
