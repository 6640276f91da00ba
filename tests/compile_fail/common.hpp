// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/common.hpp — what every case needs: includes, the batch type, one fit.
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/kiln.hpp>

using Batch = std::pair<torch::Tensor, torch::Tensor>;

/// Builds a Trainer (by default a default one for Module) and fits it once: where most
/// mistakes surface.
template <class Module, class Trainer = kiln::Trainer<Module>>
void fit_once() {
  Module model;
  std::vector<Batch> data;
  Trainer trainer({.max_epochs = 1, .enable_progress_bar = false});
  trainer.fit(model, data);
}
