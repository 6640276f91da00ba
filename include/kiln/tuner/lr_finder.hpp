// SPDX-License-Identifier: Apache-2.0
// kiln/tuner/lr_finder.hpp — lr_find: Lightning's learning-rate range test, leaving the module and the generators as they were.
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/tuner/detail/trial.hpp>

namespace kiln {

struct LRFinderOptions {
  double min_lr = 1e-8;
  double max_lr = 1;
  std::int64_t num_training = 100;    ///< optimizer steps (learning rates tried)
  enum class Mode { exponential, linear } mode = Mode::exponential;
  double early_stop_threshold = 4.0;  ///< stop once the smoothed loss exceeds this times its best; <= 0: never
  bool update_attr = true;            ///< set the module's `lr` (or `learning_rate`) to the suggestion
  std::optional<std::filesystem::path> csv_path;  ///< write "lr,loss" rows there (for a plot)
};

/// What lr_find measured: the learning rate of each step and the loss after it, smoothed as
/// Lightning smooths it (an exponential average with beta 0.98, bias-corrected).
struct LRFinderResult {
  std::vector<double> lrs, losses;

  /// Lightning's suggestion: the learning rate where the smoothed loss falls fastest (the least
  /// numpy.gradient of the losses), skipping the first `skip_begin` and last `skip_end` points;
  /// none with fewer than two finite points left.
  std::optional<double> suggestion(std::size_t skip_begin = 10, std::size_t skip_end = 1) const {
    if (losses.size() <= skip_begin + skip_end) return std::nullopt;
    std::vector<double> l, r;  // finite points only, as Lightning filters them
    for (std::size_t i = skip_begin; i < losses.size() - skip_end; ++i)
      if (std::isfinite(losses[i])) l.push_back(losses[i]), r.push_back(lrs[i]);
    if (l.size() < 2) return std::nullopt;
    std::size_t best = 0;
    double best_grad = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < l.size(); ++i) {
      const double g = i == 0               ? l[1] - l[0]
                       : i + 1 == l.size() ? l[i] - l[i - 1]
                                           : (l[i + 1] - l[i - 1]) / 2;
      if (g < best_grad) best_grad = g, best = i;
    }
    return r[best];
  }

  /// "lr,loss" and one row per step, full precision.
  void to_csv(const std::filesystem::path& path) const {
    std::ofstream out(path);
    out << "lr,loss\n";
    for (std::size_t i = 0; i < lrs.size(); ++i) out << fmt::format("{:.17g},{:.17g}\n", lrs[i], losses[i]);
    if (!out.good()) throw Error(fmt::format("kiln: lr_find cannot write {}", path.string()));
  }
};

namespace detail {

/// Sets each step's learning rate and records the smoothed loss after it.
class LRFinderCallback {
 public:
  explicit LRFinderCallback(LRFinderOptions o = {}) : o_(std::move(o)) {}
  double lr_at(std::int64_t step) const {
    const double r = static_cast<double>(step) / static_cast<double>(o_.num_training);
    return o_.mode == LRFinderOptions::Mode::linear ? o_.min_lr + r * (o_.max_lr - o_.min_lr)
                                                    : o_.min_lr * std::pow(o_.max_lr / o_.min_lr, r);
  }
  template <class T>
  void on(const event::train_batch_start&, T& t) {
    lr_ = lr_at(t.state().global_step);
    for (auto& o : t.optimizers())
      for (auto& g : o.optimizer->param_groups()) g.options().set_lr(lr_);
  }
  template <class T>
  void on(const event::train_batch_end& e, T& t) {
    const double loss = e.loss.template item<double>();
    avg_ = beta * avg_ + (1 - beta) * loss;
    const double smoothed = avg_ / (1 - std::pow(beta, static_cast<double>(result.losses.size() + 1)));
    result.lrs.push_back(lr_);
    result.losses.push_back(smoothed);
    if (result.losses.size() == 1 || smoothed < best_) best_ = smoothed;
    if (o_.early_stop_threshold > 0 && result.losses.size() > 1 &&
        (!std::isfinite(smoothed) || smoothed > o_.early_stop_threshold * best_))
      t.state().request_stop(fmt::format("lr_find: the loss diverged at lr {:.3g}", lr_));
  }
  LRFinderResult result;

 private:
  static constexpr double beta = 0.98;
  LRFinderOptions o_;
  double lr_ = 0, avg_ = 0, best_ = 0;
};

}  // namespace detail

/// Lightning's learning-rate finder (Tuner.lr_find): trains `module` on `data` for up to
/// `num_training` steps with the learning rate rising from min_lr to max_lr (exponentially or
/// linearly, lr_i = min_lr * (max_lr / min_lr)^(i / num_training)), records the smoothed loss after
/// each step, and stops early once it diverges. `trainer` gives the options, strategy and
/// precision; the run uses none of its callbacks or loggers, no validation and no checkpoints.
/// Afterwards the module's parameters and buffers, torch's and kiln's generators, and the
/// trainer are exactly as before; with update_attr the module's `lr` (or `learning_rate`) is
/// set to the suggestion.
template <class TrainerT, class Module, class Data>
LRFinderResult lr_find(TrainerT& trainer, Module& module, Data&& data, LRFinderOptions o = {}) {
  if (!(o.min_lr > 0 && o.max_lr > o.min_lr))
    throw Error(fmt::format("kiln: lr_find needs 0 < min_lr < max_lr (got {} and {})", o.min_lr, o.max_lr));
  if (o.num_training < 2) throw Error(fmt::format("kiln: lr_find needs num_training >= 2 (got {})", o.num_training));
  detail::SavedTunerState<Module> saved(module);  // put back when this returns, or throws
  detail::TrialTrainer<TrainerT, detail::LRFinderCallback> finder(detail::trial_config(trainer.config(), o.num_training),
                                                                  detail::LRFinderCallback(o));
  finder.fit(module, std::forward<Data>(data));
  LRFinderResult result = std::move(finder.template callback<detail::LRFinderCallback>().result);
  if (o.csv_path) result.to_csv(*o.csv_path);
  if (o.update_attr) {
    if (const auto lr = result.suggestion()) {
      if constexpr (requires { module.lr = *lr; }) module.lr = *lr;
      else if constexpr (requires { module.learning_rate = *lr; }) module.learning_rate = *lr;
    }
  }
  return result;
}

}  // namespace kiln
