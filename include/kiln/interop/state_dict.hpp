// SPDX-License-Identifier: Apache-2.0
// kiln/interop/state_dict.hpp — a module's weights to and from files that Python's torch and safetensors read and write.
#pragma once
#include <filesystem>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <kiln/checkpoint/checkpoint_io.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/tensor_dict.hpp>
#include <kiln/interop/safetensors.hpp>
#include <kiln/interop/torch_file.hpp>

namespace kiln {

/// The file formats of save_state_dict and load_state_dict. `by_extension`: safetensors for a
/// path ending in ".safetensors", torch.save's format for any other.
enum class WeightsFormat { by_extension, torch, safetensors };

struct SaveStateDictOptions {
  WeightsFormat format = WeightsFormat::by_extension;
};

struct LoadStateDictOptions {
  /// As Python's load_state_dict: with strict, a name missing from the file or from the module
  /// is an Error listing them all and nothing is loaded; without, what matches is loaded and the
  /// rest reported. A shape mismatch is an Error either way.
  bool strict = true;
  WeightsFormat format = WeightsFormat::by_extension;
};

namespace detail {
inline bool is_safetensors(const std::filesystem::path& path, WeightsFormat f) {
  return f == WeightsFormat::safetensors || (f == WeightsFormat::by_extension && path.extension() == ".safetensors");
}
}  // namespace detail

/// Writes `m`'s state_dict to `path` (format: SaveStateDictOptions). In Python,
/// `model.load_state_dict(torch.load(path))` or `safetensors.torch.load_file(path)` reads it.
inline void save_state_dict(const torch::nn::Module& m, const std::filesystem::path& path, SaveStateDictOptions o = {}) {
  if (detail::is_safetensors(path, o.format))
    save_safetensors(state_dict(m), path, {{"format", "pt"}});
  else
    save_torch_file(state_dict(m), path);
}

/// Loads a state dict written by Python (`torch.save(model.state_dict(), path)`,
/// `safetensors.torch.save_file(model.state_dict(), path)`) or by save_state_dict into `m`'s
/// parameters and buffers, keeping their dtype and device (LoadStateDictOptions for strict).
inline LoadReport load_state_dict(torch::nn::Module& m, const std::filesystem::path& path, LoadStateDictOptions o = {}) {
  const bool safetensors = detail::is_safetensors(path, o.format);
  const TensorDict tensors = safetensors ? load_safetensors(path) : load_torch_file(path);
  return detail::load_named_tensors(
      m, tensors.keys(), [&](const std::string& name) { return tensors[name]; }, o.strict,
      safetensors ? "safetensors file" : "state dict file", path, /*shapes_must_match=*/true);
}

template <class Impl>
void save_state_dict(const torch::nn::ModuleHolder<Impl>& m, const std::filesystem::path& path, SaveStateDictOptions o = {}) {
  save_state_dict(*m, path, o);
}
template <class Impl>
LoadReport load_state_dict(torch::nn::ModuleHolder<Impl>& m, const std::filesystem::path& path, LoadStateDictOptions o = {}) {
  return load_state_dict(*m, path, o);
}

}  // namespace kiln
