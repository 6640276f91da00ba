// SPDX-License-Identifier: Apache-2.0
// kiln/core/tensor_dict.hpp — TensorDict (named tensors in order) and state_dict(module), Python's order.
#pragma once
#include <string>
#include <utility>

#include <torch/nn/module.h>
#include <torch/ordered_dict.h>

namespace kiln {

/// Named tensors in order, as Module::named_parameters() returns them and Python's state_dict() holds them.
using TensorDict = torch::OrderedDict<std::string, at::Tensor>;

/// Python's `module.state_dict()`: every parameter and buffer under its dotted name
/// ("features.0.weight", "bn.running_mean", "bn.num_batches_tracked"), in Python's order (a
/// module's own parameters, then its own buffers, then each child's, depth first), detached.
inline TensorDict state_dict(const torch::nn::Module& m, const std::string& prefix = "") {
  TensorDict out;
  for (const auto& p : m.named_parameters(/*recurse=*/false)) out.insert(prefix + p.key(), p.value().detach());
  for (const auto& b : m.named_buffers(/*recurse=*/false)) out.insert(prefix + b.key(), b.value().detach());
  for (const auto& c : m.named_children())
    for (auto& item : state_dict(*c.value(), prefix + c.key() + ".")) out.insert(item.key(), std::move(item.value()));
  return out;
}

}  // namespace kiln
