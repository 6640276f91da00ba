// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/timer.hpp — Timer: stops fit after a training-time budget, with a checkpoint to resume from.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/optim/lr_schedulers.hpp>

namespace kiln {

/// Measures the time fit() spends training (Lightning's Timer) and stops it once `duration`
/// has passed: at the next boundary between optimizer steps (interval step), or at the end of
/// the epoch (interval epoch). Either way it writes <checkpoint dir>/last.pt first, so the run
/// continues exactly with `fit(..., {.ckpt_path = ...})`; the elapsed time is in that
/// checkpoint, so the budget covers the resumed run too.
class Timer {
 public:
  struct Options {
    std::chrono::duration<double> duration;  ///< the training-time budget
    Interval interval = Interval::step;      ///< check after each batch, or at each epoch end
  };
  explicit Timer(Options o) : opt_(o) {
    if (opt_.duration.count() <= 0) throw Error(fmt::format("kiln: Timer duration must be > 0 (got {} s)", opt_.duration.count()));
  }

  /// Training time so far, including the part before a resume.
  std::chrono::duration<double> time_elapsed() const {
    return before_ + (start_ ? std::chrono::steady_clock::now() - *start_ : std::chrono::steady_clock::duration{});
  }
  std::chrono::duration<double> time_remaining() const { return opt_.duration - time_elapsed(); }

  template <class T>
  void on(const event::train_start&, T&) { start_ = std::chrono::steady_clock::now(); }
  template <class T>
  void on(const event::train_end&, T&) {
    before_ = time_elapsed();
    start_.reset();
  }
  template <class T>
  void on(const event::train_batch_end&, T& t) {
    if (opt_.interval == Interval::step && expired()) t.stop_with_checkpoint(reason());
  }
  template <class T>
  void on(const event::train_epoch_end&, T& t) {
    if (opt_.interval != Interval::epoch || !expired() || t.state().should_stop) return;
    const auto path = t.checkpoint_dir() / "last.pt";
    t.save_checkpoint(path);
    t.state().request_stop(fmt::format("{}; checkpoint {} (end of epoch {})", reason(), path.string(), t.state().epoch));
  }

  void state_dict(torch::serialize::OutputArchive& a) const {
    a.write("time_elapsed", at::scalar_tensor(time_elapsed().count(), at::kDouble));
  }
  void load_state_dict(torch::serialize::InputArchive& a) {
    at::Tensor v;
    if (!a.try_read("time_elapsed", v) || v.numel() != 1)
      throw Error("kiln: the checkpoint's Timer state is incomplete (key \"time_elapsed\")");
    before_ = std::chrono::duration<double>(v.to(at::kDouble).item<double>());
  }

 private:
  bool expired() const { return time_elapsed() >= opt_.duration; }
  std::string reason() const {
    return fmt::format("Timer: the training time budget of {:.3f} s is used up ({:.3f} s elapsed)", opt_.duration.count(),
                       time_elapsed().count());
  }

  Options opt_;
  std::chrono::duration<double> before_{0};
  std::optional<std::chrono::steady_clock::time_point> start_;
};

}  // namespace kiln
