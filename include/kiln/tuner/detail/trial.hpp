// SPDX-License-Identifier: Apache-2.0
// kiln/tuner/detail/trial.hpp — what the tuners share: a short fit on a Trainer of their own, and the state it must leave as it found.
#pragma once
#include <cstdint>
#include <mutex>
#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include <kiln/core/config.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/core/tensor_dict.hpp>
#include <kiln/trainer.hpp>
#include <kiln/util/seed.hpp>

namespace kiln::detail {

/// The module's parameters and buffers, its train/eval mode, and torch's and kiln's CPU
/// generators when made; all put back when destroyed.
template <class Module>
class SavedTunerState {
 public:
  explicit SavedTunerState(Module& m) : m_(m), training_(m.is_training()), kiln_rng_(generator()) {
    for (const auto& item : state_dict(m)) weights_.insert(item.key(), item.value().clone());
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    torch_rng_ = gen.get_state();
  }
  SavedTunerState(const SavedTunerState&) = delete;
  ~SavedTunerState() { restore(); }

  void restore() {
    torch::NoGradGuard no_grad;
    for (const auto& item : state_dict(m_)) item.value().copy_(weights_[item.key()]);
    m_.train(training_);
    auto gen = at::detail::getDefaultCPUGenerator();
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(torch_rng_);
    }
    generator() = kiln_rng_;
  }

 private:
  Module& m_;
  TensorDict weights_;
  bool training_;
  at::Tensor torch_rng_;
  std::mt19937_64 kiln_rng_;
};

/// `user`'s options for a tuner's run of at most `steps` optimizer steps: no sanity check, no
/// validation, no progress bar, no fast_dev_run, one batch per step.
inline TrainerConfig trial_config(TrainerConfig c, std::int64_t steps) {
  c.max_epochs = -1;
  c.max_steps = steps;
  c.accumulate_grad_batches = 1;
  c.num_sanity_val_steps = 0;
  c.limit_val_batches = 0;  // a DataModule's validation data is not used
  c.fast_dev_run = 0;
  c.enable_progress_bar = false;
  return c;
}

/// The Trainer a tuner runs: the user's strategy and precision (their tags, default options),
/// the tuner's callbacks, no loggers.
template <class UserTrainer, class... Callbacks_>
using TrialTrainer = Trainer<typename UserTrainer::module_type, Loggers<>, Callbacks<Callbacks_...>,
                             Strategy<typename UserTrainer::strategy_tag>, Precision<typename UserTrainer::precision_tag>>;

}  // namespace kiln::detail
