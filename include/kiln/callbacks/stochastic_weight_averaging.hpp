// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/stochastic_weight_averaging.hpp — StochasticWeightAveraging: Lightning's SWA, with its learning-rate annealing and batch-norm update.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <kiln/callbacks/detail/averaged_weights.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>

namespace kiln {

/// Stochastic Weight Averaging (Lightning's StochasticWeightAveraging; Izmailov et al., 2018).
/// From the `swa_epoch_start`-th epoch on (counted from 1, as in Lightning; a fraction f of
/// max_epochs means the int(f * max_epochs)-th):
/// - the learning rate of every param group anneals from its value at that epoch's start (lr0)
///   to its swa_lr over `annealing_epochs` epochs, as torch's SWALR stepped each epoch:
///   lr = swa_lr * a + lr0 * (1 - a), a = t (linear) or (1 - cos(pi t)) / 2 (cos),
///   t = min(1, (epoch - start) / annealing_epochs); it is set at every batch, so the SWA
///   schedule replaces the module's own scheduler from then on;
/// - after each epoch the parameters join an equal-weight average (the first is copied).
/// At the end of training the module takes the average, and its batch-norm statistics are
/// computed afresh for it: running statistics reset, then a cumulative average (momentum None)
/// over one forward pass of training_step over the training data, without gradients (Lightning's
/// extra epoch; torch's update_bn). The state is in checkpoints, so a resumed run is exact.
class StochasticWeightAveraging {
 public:
  enum class Annealing { cos, linear };
  struct Options {
    std::vector<double> swa_lrs;  ///< one learning rate for every param group, or one per group
    std::variant<std::int64_t, double> swa_epoch_start = 0.8;
    std::int64_t annealing_epochs = 10;
    Annealing annealing_strategy = Annealing::cos;
  };
  explicit StochasticWeightAveraging(Options o) : opt_(std::move(o)) {
    if (opt_.swa_lrs.empty()) throw Error("kiln: StochasticWeightAveraging needs swa_lrs (one, or one per param group)");
    for (const double lr : opt_.swa_lrs)
      if (!(lr > 0)) throw Error(fmt::format("kiln: StochasticWeightAveraging swa_lrs must be > 0 (got {})", lr));
    if (opt_.annealing_epochs < 0)
      throw Error(fmt::format("kiln: StochasticWeightAveraging annealing_epochs must be >= 0 (got {})", opt_.annealing_epochs));
    if (const auto* f = std::get_if<double>(&opt_.swa_epoch_start); f && !(*f > 0 && *f <= 1))
      throw Error(fmt::format("kiln: StochasticWeightAveraging swa_epoch_start as a fraction must be in (0, 1] (got {})", *f));
    if (const auto* e = std::get_if<std::int64_t>(&opt_.swa_epoch_start); e && *e < 1)
      throw Error(fmt::format("kiln: StochasticWeightAveraging swa_epoch_start must be >= 1 (the first epoch is 1; got {})", *e));
  }

  const TensorDict& averaged() const { return avg_.average(); }
  std::int64_t num_averaged() const { return avg_.updates(); }
  /// The index (from 0) of the first epoch that averages, once fit has started.
  std::int64_t swa_start() const { return start_; }
  /// The learning rate of a group in `epoch` (>= swa_start) that began SWA at `lr0`.
  double lr_at(std::int64_t epoch, double lr0, double swa_lr) const {
    const double t = opt_.annealing_epochs == 0
                         ? 1.0
                         : std::min(1.0, static_cast<double>(epoch - start_) / static_cast<double>(opt_.annealing_epochs));
    const double a = opt_.annealing_strategy == Annealing::linear ? t : (1 - std::cos(std::numbers::pi * t)) / 2;
    return swa_lr * a + lr0 * (1 - a);
  }

  template <class T>
  void on(const event::fit_start&, T& t) {
    avg_.attach(*t.module(), /*use_buffers=*/false, "StochasticWeightAveraging");
    std::int64_t nth = 0;
    if (const auto* e = std::get_if<std::int64_t>(&opt_.swa_epoch_start)) {
      nth = *e;
    } else {
      const auto max_epochs = t.config().max_epochs;
      if (max_epochs < 0)
        throw Error("kiln: StochasticWeightAveraging swa_epoch_start as a fraction needs max_epochs; give an epoch number");
      nth = static_cast<std::int64_t>(std::get<double>(opt_.swa_epoch_start) * static_cast<double>(max_epochs));
    }
    start_ = std::max<std::int64_t>(nth - 1, 0);
  }
  template <class T>
  void on(const event::train_epoch_start&, T& t) {
    if (t.state().epoch < start_ || !lr0_.empty()) return;
    for (auto& o : t.optimizers())
      for (auto& g : o.optimizer->param_groups()) lr0_.push_back(g.options().get_lr());
    if (opt_.swa_lrs.size() != 1 && opt_.swa_lrs.size() != lr0_.size())
      throw Error(fmt::format("kiln: StochasticWeightAveraging has {} swa_lrs for {} param groups; give one, or one per group",
                              opt_.swa_lrs.size(), lr0_.size()));
  }
  template <class T>
  void on(const event::train_batch_start&, T& t) {
    const std::int64_t epoch = t.state().epoch;
    if (epoch < start_ || lr0_.empty()) return;
    std::size_t i = 0;
    for (auto& o : t.optimizers())
      for (auto& g : o.optimizer->param_groups()) {
        g.options().set_lr(lr_at(epoch, lr0_[i], opt_.swa_lrs[opt_.swa_lrs.size() == 1 ? 0 : i]));
        ++i;
      }
  }
  template <class T>
  void on(const event::train_epoch_end&, T& t) {
    if (t.state().epoch >= start_)
      avg_.update([n = avg_.updates()](at::Tensor& average, const at::Tensor& weights) {
        average.add_((weights - average) / static_cast<double>(n + 1));
      });
  }
  template <class T>
  void on(const event::train_end&, T& t) {
    if (avg_.empty()) return;
    avg_.apply();
    update_batch_norm(*t.module(), [&] { t.forward_over_train_data(); });
  }

  void state_dict(torch::serialize::OutputArchive& a) const {
    avg_.save(a);
    a.write("lr0", at::tensor(lr0_, at::kDouble));
  }
  void load_state_dict(torch::serialize::InputArchive& a) {
    avg_.load(a, "StochasticWeightAveraging");
    at::Tensor lr0;
    if (!a.try_read("lr0", lr0)) throw Error("kiln: the checkpoint's StochasticWeightAveraging state is incomplete (key \"lr0\")");
    lr0 = lr0.to(at::kDouble).contiguous();
    lr0_.assign(lr0.data_ptr<double>(), lr0.data_ptr<double>() + lr0.numel());
  }

  /// torch.optim.swa_utils.update_bn: resets the running statistics of every batch-norm layer
  /// of `m`, then `forward()` (which runs the module over data in train mode) fills them as a
  /// cumulative average; momenta and the train/eval mode are put back.
  template <class Forward>
  static void update_batch_norm(torch::nn::Module& m, Forward&& forward) {
    struct Saved {
      torch::nn::BatchNormOptions* options;
      std::decay_t<decltype(std::declval<torch::nn::BatchNormOptions&>().momentum())> momentum;  // an optional
    };
    std::vector<Saved> saved;
    const auto visit = [&](auto* bn) {
      if (!bn || !bn->options.track_running_stats()) return;
      bn->reset_running_stats();
      saved.push_back({&bn->options, bn->options.momentum()});
      bn->options.momentum({});  // none: a cumulative average
    };
    const auto visit_any = [&](torch::nn::Module& sub) {
      visit(dynamic_cast<torch::nn::BatchNorm1dImpl*>(&sub));
      visit(dynamic_cast<torch::nn::BatchNorm2dImpl*>(&sub));
      visit(dynamic_cast<torch::nn::BatchNorm3dImpl*>(&sub));
    };
    visit_any(m);  // modules(include_self) would need `m` in a shared_ptr
    for (const auto& sub : m.modules(/*include_self=*/false)) visit_any(*sub);
    if (saved.empty()) return;
    const bool training = m.is_training();
    struct Restore {
      std::vector<Saved>& saved;
      torch::nn::Module& m;
      bool training;
      ~Restore() {
        for (auto& s : saved) s.options->momentum(s.momentum);
        m.train(training);
      }
    } restore{saved, m, training};
    m.train();
    forward();
  }

 private:
  Options opt_;
  detail::AveragedWeights avg_;
  std::int64_t start_ = 0;
  std::vector<double> lr0_;  // each param group's learning rate when SWA began
};

}  // namespace kiln
