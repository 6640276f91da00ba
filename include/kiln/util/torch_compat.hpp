// SPDX-License-Identifier: Apache-2.0
// kiln/util/torch_compat.hpp — the one place where LibTorch 1.13 and 2.x differ for kiln.
#pragma once
#include <torch/optim/optimizer.h>
#include <ATen/Context.h>

namespace kiln::compat {

/// Drops every gradient of `opt`'s parameters (zero_grad(set_to_none=true)). LibTorch 1.13's
/// Optimizer::zero_grad() has no set_to_none and fills zeros; dropping skips a memset per
/// parameter and gives the same result, since the next backward writes fresh gradients.
inline void zero_grad_to_none(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

/// Turns deterministic algorithms on or off (torch.use_deterministic_algorithms).
inline void use_deterministic_algorithms(bool on) {
  at::globalContext().setDeterministicAlgorithms(on, /*warn_only=*/false);
}

}  // namespace kiln::compat
