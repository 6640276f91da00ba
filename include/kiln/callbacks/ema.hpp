// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/ema.hpp — EMA: an exponential moving average of the weights, used for validation, checkpoints and the end of fit.
#pragma once
#include <algorithm>
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <kiln/callbacks/detail/averaged_weights.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>

namespace kiln {

/// Keeps an exponential moving average of the module's weights (Lightning's EMAWeightAveraging,
/// torch's AveragedModel with get_ema_avg_fn): after optimizer step s (1, 2, ...; global_step)
/// with s >= update_starting_at_step and s a multiple of update_every_n_steps, the first time
/// average = weights, then average = d * average + (1 - d) * weights, with d = decay, or with
/// `warmup` d = min(decay, (1 + n) / (10 + n)) for the n-th update (n = 1, 2, ...).
/// Parameters are averaged, and with use_buffers floating-point buffers (batch norm statistics);
/// integer buffers keep the module's value.
///
/// - Validation inside fit runs on the average (`evaluate_averaged`), training goes on from the
///   module's own weights.
/// - A checkpoint holds the average as the module's weights (`checkpoint_averaged`), so
///   kiln::load_weights gives the averaged model, and the training weights in EMA's own state:
///   resuming continues exactly, average included.
/// - At the end of fit the module keeps the average (`apply_at_fit_end`).
class EMA {
 public:
  struct Options {
    double decay = 0.999;
    std::int64_t update_every_n_steps = 1;
    std::int64_t update_starting_at_step = 0;
    bool warmup = false;
    bool use_buffers = true;
    bool evaluate_averaged = true;
    bool checkpoint_averaged = true;
    bool apply_at_fit_end = true;
  };
  EMA() : EMA(Options{}) {}
  explicit EMA(Options o) : opt_(o) {
    if (!(opt_.decay >= 0 && opt_.decay <= 1)) throw Error(fmt::format("kiln: EMA decay must be in [0, 1] (got {})", opt_.decay));
    if (opt_.update_every_n_steps < 1)
      throw Error(fmt::format("kiln: EMA update_every_n_steps must be >= 1 (got {})", opt_.update_every_n_steps));
    if (opt_.update_starting_at_step < 0)
      throw Error(fmt::format("kiln: EMA update_starting_at_step must be >= 0 (got {})", opt_.update_starting_at_step));
  }

  /// The averaged tensors by name (empty before the first update), and how many updates made them.
  const TensorDict& averaged() const { return avg_.average(); }
  std::int64_t num_updates() const { return avg_.updates(); }
  /// The decay of the n-th update (n >= 1; the 0-th copies).
  double decay_at(std::int64_t n) const {
    return opt_.warmup ? std::min(opt_.decay, (1.0 + static_cast<double>(n)) / (10.0 + static_cast<double>(n))) : opt_.decay;
  }

  template <class T>
  void on(const event::fit_start&, T& t) {
    avg_.attach(*t.module(), opt_.use_buffers, "EMA");
    avg_.restore_training();  // a checkpoint written with the average swapped in
  }
  template <class T>
  void on(const event::train_batch_end&, T& t) {
    const std::int64_t step = t.state().global_step;
    if (step == last_step_) return;  // this batch ended without an optimizer step (accumulation)
    last_step_ = step;
    if (step < opt_.update_starting_at_step || step % opt_.update_every_n_steps != 0) return;
    const double d = decay_at(avg_.updates());
    avg_.update([d](at::Tensor& average, const at::Tensor& weights) { average.mul_(d).add_(weights, 1 - d); });
  }
  template <class T>
  void on(const event::validation_start&, T&) {
    if (opt_.evaluate_averaged) avg_.swap_in();
  }
  template <class T>
  void on(const event::validation_end&, T&) { avg_.swap_out(); }
  template <class T>
  void on(const event::fit_end&, T&) {
    if (opt_.apply_at_fit_end) avg_.apply();
    else avg_.swap_out();
  }

  /// Around every checkpoint the Trainer writes (kiln/trainer/checkpoint_connector.hpp).
  void begin_checkpoint_write() {
    if (!opt_.checkpoint_averaged || avg_.swapped()) return;  // inside validation it is in already
    avg_.swap_in();
    swapped_for_checkpoint_ = true;
  }
  void end_checkpoint_write() {
    if (swapped_for_checkpoint_) avg_.swap_out();
    swapped_for_checkpoint_ = false;
  }

  void state_dict(torch::serialize::OutputArchive& a) const {
    avg_.save(a);
    a.write("last_step", at::scalar_tensor(last_step_, at::kLong));
  }
  void load_state_dict(torch::serialize::InputArchive& a) {
    avg_.load(a, "EMA");
    at::Tensor s;
    if (!a.try_read("last_step", s) || s.numel() != 1)
      throw Error("kiln: the checkpoint's EMA state is incomplete (key \"last_step\")");
    last_step_ = s.item<std::int64_t>();
  }

 private:
  Options opt_;
  detail::AveragedWeights avg_;
  std::int64_t last_step_ = 0;
  bool swapped_for_checkpoint_ = false;
};

}  // namespace kiln
