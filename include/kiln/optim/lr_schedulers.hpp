// SPDX-License-Identifier: Apache-2.0
// kiln/optim/lr_schedulers.hpp — learning-rate schedulers LibTorch's C++ API lacks (PyTorch semantics).
#pragma once

#include <torch/optim/optimizer.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <kiln/core/error.hpp>
#include <kiln/core/linkage.hpp>

namespace kiln {

/// When the Trainer steps a scheduler: after every optimizer step or after every epoch (Lightning's "interval").
enum class Interval { step, epoch };

/// Whether a monitored value improves by going down or up; shared with the callbacks that monitor metrics.
enum class Mode { min, max };

namespace detail {
inline constexpr double kPi = 3.14159265358979323846;
// Messages print the offending value through ostringstream so 1e-05 stays readable (std::to_string gives 0.000010).
KILN_DECL void sched_require(bool ok, const char* sched, const char* what, double got);
}  // namespace detail

/// Base of all schedulers: owns the step count and writes lr_at(count, base_lr) into every param group.
/// Type-erased on purpose: it is stepped once per step or epoch, never in a hot loop.
class LRScheduler {
 public:
  /// Binds to `optimizer` and records each param group's current lr as its base lr.
  explicit LRScheduler(torch::optim::Optimizer& optimizer) : optimizer_(&optimizer) {
    for (auto& group : optimizer.param_groups()) base_lrs_.push_back(group.options().get_lr());
  }
  virtual ~LRScheduler() = default;
  // Tied to one optimizer and one position in its schedule; a copy would fork that state silently.
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one step; as in PyTorch, after k calls each group's lr equals lr_at(k, base_lr).
  void step() { on_step(); }
  /// Advances one step given a monitored value; schedules that ignore metrics just call step().
  virtual void step(double /*metric*/) { step(); }
  /// True when step(metric) must be used (ReduceLROnPlateau), so the Trainer knows to pass the monitored value.
  virtual bool needs_metric() const { return false; }

  /// The current lr of each param group, read back from the optimizer.
  std::vector<double> get_last_lr() const {
    std::vector<double> out;
    for (const auto& group : optimizer_->param_groups()) out.push_back(group.options().get_lr());
    return out;
  }
  /// Number of step() calls so far.
  std::int64_t last_step() const { return count_; }
  /// What a checkpoint keeps: the step count, then what a schedule with history adds. The lrs
  /// themselves are in the optimizer's state.
  virtual std::vector<double> state() const { return {static_cast<double>(count_)}; }
  /// Restores state(); a vector of the wrong length is an Error.
  KILN_DECL virtual void load_state(const std::vector<double>& s);
  /// The optimizer whose param groups this scheduler drives.
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  /// The per-group lrs the schedule is expressed relative to.
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 protected:
  /// Writes lr_at(t, base_lrs[i]) into group i; all lrs are computed first, so a throwing lr_at changes nothing.
  KILN_DECL void apply(std::int64_t t);
  /// The closed-form lr at step t for a group whose base lr is base_lr.
  virtual double lr_at(std::int64_t t, double base_lr) const = 0;
  /// Evaluates another scheduler's closed form (for LinearWarmup): a derived class may not call a protected member
  /// through a base reference, but a static member of the base may.
  static double lr_at_of(const LRScheduler& s, std::int64_t t, double base_lr) { return s.lr_at(t, base_lr); }
  /// Counts a step for schedulers that set the lr themselves (ReduceLROnPlateau).
  void bump_count() { ++count_; }

  std::vector<double> base_lrs_;

 private:
  // step() stays non-virtual so step()/step(double) never hide each other in derived classes; this hook is what
  // varies (ReduceLROnPlateau makes it throw). The count moves only once apply succeeded.
  virtual void on_step() {
    apply(count_ + 1);
    ++count_;
  }

  torch::optim::Optimizer* optimizer_;
  std::int64_t count_ = 0;
};

/// base_lr * gamma^(t / step_size), integer division: decays by gamma every step_size steps (PyTorch's StepLR).
class StepLR : public LRScheduler {
 public:
  StepLR(torch::optim::Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1)
      : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
    detail::sched_require(step_size > 0, "StepLR", "step_size must be positive", static_cast<double>(step_size));
    detail::sched_require(gamma > 0.0 && std::isfinite(gamma), "StepLR", "gamma must be positive", gamma);
    apply(0);
  }

 protected:
  double lr_at(std::int64_t t, double base_lr) const override {
    return base_lr * std::pow(gamma_, static_cast<double>(t / step_size_));
  }

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// base_lr * gamma^(number of milestones <= t) (PyTorch's MultiStepLR); milestones positive, strictly increasing.
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(torch::optim::Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1)
      : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
    for (std::size_t i = 0; i < milestones_.size(); ++i) {
      const auto m = static_cast<double>(milestones_[i]);
      detail::sched_require(milestones_[i] > 0, "MultiStepLR", "milestones must be positive", m);
      detail::sched_require(i == 0 || milestones_[i] > milestones_[i - 1], "MultiStepLR",
                            "milestones must be strictly increasing", m);
    }
    detail::sched_require(gamma > 0.0 && std::isfinite(gamma), "MultiStepLR", "gamma must be positive", gamma);
    apply(0);
  }

 protected:
  double lr_at(std::int64_t t, double base_lr) const override {
    const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
    return base_lr * std::pow(gamma_, static_cast<double>(passed));  // bisect_right, as PyTorch's closed form
  }

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

/// base_lr * gamma^t (PyTorch's ExponentialLR).
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(torch::optim::Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
    detail::sched_require(gamma > 0.0 && std::isfinite(gamma), "ExponentialLR", "gamma must be positive", gamma);
    apply(0);
  }

 protected:
  double lr_at(std::int64_t t, double base_lr) const override {
    return base_lr * std::pow(gamma_, static_cast<double>(t));
  }

 private:
  double gamma_;
};

/// eta_min + (base_lr - eta_min) * (1 + cos(pi t / T_max)) / 2, PyTorch's closed form; past T_max the cosine goes on.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(torch::optim::Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0)
      : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
    detail::sched_require(T_max > 0, "CosineAnnealingLR", "T_max must be positive", static_cast<double>(T_max));
    detail::sched_require(eta_min >= 0.0, "CosineAnnealingLR", "eta_min must be non-negative", eta_min);
    apply(0);
  }

 protected:
  double lr_at(std::int64_t t, double base_lr) const override {
    const double angle = detail::kPi * static_cast<double>(t) / static_cast<double>(T_max_);
    return eta_min_ + (base_lr - eta_min_) * (1.0 + std::cos(angle)) / 2.0;
  }

 private:
  std::int64_t T_max_;
  double eta_min_;
};

/// Ramps linearly from base_lr * start_factor to base_lr over warmup_steps, then follows `after` shifted by
/// warmup_steps (or holds base_lr). LinearWarmup owns `after` and evaluates its closed form: do not step it yourself.
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(torch::optim::Optimizer& optimizer, std::int64_t warmup_steps, double start_factor,
               std::unique_ptr<LRScheduler> after = nullptr)
      : LRScheduler(optimizer), warmup_(warmup_steps), start_factor_(start_factor), after_(std::move(after)) {
    detail::sched_require(warmup_steps > 0, "LinearWarmup", "warmup_steps must be positive",
                          static_cast<double>(warmup_steps));
    detail::sched_require(start_factor > 0.0 && start_factor <= 1.0, "LinearWarmup", "start_factor must be in (0, 1]",
                          start_factor);
    if (after_) {
      if (&after_->optimizer() != &optimizer)
        throw Error("kiln: LinearWarmup after must be built on the same optimizer as the warmup");
      if (after_->needs_metric())
        throw Error("kiln: LinearWarmup after must be a closed-form schedule, not a metric-driven one");
      // The inner constructor already wrote its lr_at(0) into the optimizer, so what our base read is not the
      // user's lr; the inner scheduler's base lrs are.
      base_lrs_ = after_->base_lrs();
    }
    apply(0);
  }

 protected:
  double lr_at(std::int64_t t, double base_lr) const override {
    if (t < warmup_)
      return base_lr * (start_factor_ + (1.0 - start_factor_) * static_cast<double>(t) / static_cast<double>(warmup_));
    return after_ ? lr_at_of(*after_, t - warmup_, base_lr) : base_lr;
  }

 private:
  std::int64_t warmup_;
  double start_factor_;
  std::unique_ptr<LRScheduler> after_;
};

/// PyTorch's OneCycleLR (two phases; momentum is not cycled): max_lr/div_factor up to max_lr over the first pct_start
/// of total_steps, then down to max_lr/div_factor/final_div_factor. Like PyTorch it ignores the optimizer's lrs.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(torch::optim::Optimizer& optimizer, double max_lr, std::int64_t total_steps, double pct_start = 0.3,
             double div_factor = 25.0, double final_div_factor = 1e4, bool cos = true)
      : LRScheduler(optimizer), max_lr_(max_lr), total_steps_(total_steps), cos_(cos) {
    const char* name = "OneCycleLR";
    detail::sched_require(max_lr > 0.0 && std::isfinite(max_lr), name, "max_lr must be positive", max_lr);
    detail::sched_require(total_steps > 0, name, "total_steps must be positive", static_cast<double>(total_steps));
    detail::sched_require(pct_start >= 0.0 && pct_start < 1.0, name, "pct_start must be in [0, 1)", pct_start);
    detail::sched_require(div_factor > 0.0, name, "div_factor must be positive", div_factor);
    detail::sched_require(final_div_factor > 0.0, name, "final_div_factor must be positive", final_div_factor);
    initial_lr_ = max_lr / div_factor;
    min_lr_ = initial_lr_ / final_div_factor;
    phase1_end_ = pct_start * static_cast<double>(total_steps) - 1.0;
    // PyTorch divides by each phase's length; an empty first phase would be 0/0 at step 0 (ZeroDivisionError there).
    detail::sched_require(phase1_end_ != 0.0, name, "pct_start * total_steps must not equal 1",
                          pct_start * static_cast<double>(total_steps));
    base_lrs_.assign(base_lrs_.size(), initial_lr_);  // PyTorch's base_lrs are each group's initial_lr
    apply(0);
  }

 protected:
  double lr_at(std::int64_t t, double /*base_lr*/) const override {
    // PyTorch raises only once step_num > total_steps, so step number total_steps itself is still allowed.
    if (t > total_steps_)
      throw Error("kiln: OneCycleLR tried to step " + std::to_string(t + 1) + " times; total_steps is " +
                  std::to_string(total_steps_));
    const auto step = static_cast<double>(t);
    if (step <= phase1_end_) return anneal(initial_lr_, max_lr_, step / phase1_end_);
    const double phase2_end = static_cast<double>(total_steps_) - 1.0;
    return anneal(max_lr_, min_lr_, (step - phase1_end_) / (phase2_end - phase1_end_));
  }

 private:
  double anneal(double start, double end, double pct) const {
    return cos_ ? end + (start - end) / 2.0 * (std::cos(detail::kPi * pct) + 1.0) : (end - start) * pct + start;
  }

  double max_lr_;
  std::int64_t total_steps_;
  bool cos_;
  double initial_lr_ = 0.0;
  double min_lr_ = 0.0;
  double phase1_end_ = 0.0;
};

/// Multiplies every group's lr by factor once the monitored value has not improved for more than `patience` steps
/// (PyTorch's ReduceLROnPlateau). Needs step(metric); step() alone throws.
class ReduceLROnPlateau : public LRScheduler {
 public:
  /// PyTorch's keyword arguments; threshold_rel = false is PyTorch's threshold_mode = "abs".
  struct Options {
    Mode mode = Mode::min;
    double factor = 0.1;
    std::int64_t patience = 10;
    double threshold = 1e-4;
    bool threshold_rel = true;
    std::int64_t cooldown = 0;
    double min_lr = 0.0;
    double eps = 1e-8;
  };

  // Two constructors rather than `Options o = {}`: GCC rejects a nested struct's default member initializers in a
  // default argument of the enclosing class, which is still incomplete there.
  explicit ReduceLROnPlateau(torch::optim::Optimizer& optimizer) : ReduceLROnPlateau(optimizer, Options{}) {}
  ReduceLROnPlateau(torch::optim::Optimizer& optimizer, Options o) : LRScheduler(optimizer), o_(o) {
    const char* name = "ReduceLROnPlateau";
    detail::sched_require(o.factor >= 0.0 && o.factor < 1.0, name, "factor must be in [0, 1)", o.factor);
    detail::sched_require(o.patience >= 0, name, "patience must be non-negative", static_cast<double>(o.patience));
    detail::sched_require(o.threshold >= 0.0, name, "threshold must be non-negative", o.threshold);
    detail::sched_require(o.cooldown >= 0, name, "cooldown must be non-negative", static_cast<double>(o.cooldown));
    detail::sched_require(o.min_lr >= 0.0, name, "min_lr must be non-negative", o.min_lr);
    detail::sched_require(o.eps >= 0.0, name, "eps must be non-negative", o.eps);
    best_ = o.mode == Mode::min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }

  using LRScheduler::step;  // keeps step() callable, so misuse reaches the throwing hook instead of failing to compile
  /// One PyTorch ReduceLROnPlateau.step(metrics): track the best value, count bad steps, reduce after patience.
  void step(double metric) override {
    bump_count();
    if (is_better(metric)) {
      best_ = metric;
      num_bad_ = 0;
    } else {
      ++num_bad_;  // NaN is never better, as in PyTorch
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_ = 0;  // bad steps during cooldown do not count
    }
    if (num_bad_ > o_.patience) {
      for (auto& group : optimizer().param_groups()) {
        const double old_lr = group.options().get_lr();
        const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
        if (old_lr - new_lr > o_.eps) group.options().set_lr(new_lr);
      }
      cooldown_counter_ = o_.cooldown;
      num_bad_ = 0;
    }
  }
  bool needs_metric() const override { return true; }
  /// Best monitored value seen so far.
  double best() const { return best_; }
  /// Consecutive steps without improvement, as PyTorch counts them.
  std::int64_t num_bad_epochs() const { return num_bad_; }
  std::vector<double> state() const override {
    return {static_cast<double>(last_step()), best_, static_cast<double>(num_bad_), static_cast<double>(cooldown_counter_)};
  }
  void load_state(const std::vector<double>& s) override {
    if (s.size() != 4) throw Error("kiln: ReduceLROnPlateau state has " + std::to_string(s.size()) + " values, expected 4");
    LRScheduler::load_state({s[0]});
    best_ = s[1];
    num_bad_ = static_cast<std::int64_t>(s[2]);
    cooldown_counter_ = static_cast<std::int64_t>(s[3]);
  }

 protected:
  // No closed form: the lr depends on the metric history. LinearWarmup rejects metric-driven inners, so this is only
  // reachable by misuse.
  double lr_at(std::int64_t, double) const override {
    throw Error("kiln: ReduceLROnPlateau has no closed-form schedule");
  }

 private:
  void on_step() override { throw Error("kiln: ReduceLROnPlateau needs a monitored value: call step(metric)"); }
  bool is_better(double a) const {
    if (o_.mode == Mode::min) return o_.threshold_rel ? a < best_ * (1.0 - o_.threshold) : a < best_ - o_.threshold;
    return o_.threshold_rel ? a > best_ * (1.0 + o_.threshold) : a > best_ + o_.threshold;
  }

  Options o_;
  double best_;
  std::int64_t num_bad_ = 0;
  std::int64_t cooldown_counter_ = 0;
};

}  // namespace kiln

#if KILN_DEFINITIONS
namespace kiln {
namespace detail {

KILN_DECL void sched_require(bool ok, const char* sched, const char* what, double got) {
  if (ok) return;
  std::ostringstream os;
  os << "kiln: " << sched << ' ' << what << " (got " << got << ')';
  throw Error(os.str());
}

}  // namespace detail

KILN_DECL void LRScheduler::load_state(const std::vector<double>& s) {
  if (s.size() != 1) throw Error("kiln: scheduler state has " + std::to_string(s.size()) + " values, expected 1");
  count_ = static_cast<std::int64_t>(s[0]);
}

KILN_DECL void LRScheduler::apply(std::int64_t t) {
  auto& groups = optimizer_->param_groups();
  if (groups.size() != base_lrs_.size())
    throw Error("kiln: LRScheduler optimizer has " + std::to_string(groups.size()) +
                " param groups but the scheduler was built for " + std::to_string(base_lrs_.size()));
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(lr_at(t, base));
  for (std::size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lrs[i]);
}

}  // namespace kiln
#endif  // KILN_DEFINITIONS
