// SPDX-License-Identifier: Apache-2.0
// kiln/metrics/regression.hpp — MeanSquaredError (and RMSE), MeanAbsoluteError, R2Score, ExplainedVariance.
#pragma once
#include <cstdint>
#include <string_view>

#include <ATen/ATen.h>

#include <kiln/core/error.hpp>
#include <kiln/metrics/metric.hpp>

namespace kiln::metrics {
namespace detail {

/// Sums over samples, per output, kept in double: n, Σy, Σy², Σe, Σe², Σ|e| with e = y − ŷ.
/// Every regression metric is a formula of them, so sync is one all_reduce per sum. Preds and
/// target are [N] (one output) or [N, D] (num_outputs D, averaged uniformly as scikit-learn's default).
template <class Derived>
class ErrorSums : public MetricBase<Derived> {
 public:
  explicit ErrorSums(std::int64_t num_outputs) {
    if (num_outputs < 1)
      throw Error(fmt::format("kiln: {} needs num_outputs >= 1, got {}", Derived::metric_name, num_outputs));
    auto z = at::zeros({num_outputs}, at::kDouble);
    n_ = this->add_state("n", at::zeros({}, at::kDouble), Sync::sum);
    sy_ = this->add_state("sum_target", z, Sync::sum);
    syy_ = this->add_state("sum_target_sq", z, Sync::sum);
    se_ = this->add_state("sum_error", z, Sync::sum);
    see_ = this->add_state("sum_error_sq", z, Sync::sum);
    sae_ = this->add_state("sum_abs_error", z, Sync::sum);
  }

  void update_state(const at::Tensor& preds, const at::Tensor& target) {
    if (preds.sizes() != target.sizes() || preds.dim() < 1 || preds.dim() > 2)
      throw Error(fmt::format("kiln: {} needs preds and target of one shape, [N] or [N, D]; got {} and {}",
                              Derived::metric_name, preds.sizes(), target.sizes()));
    auto y = target.to(at::kDouble).reshape({target.size(0), -1});
    auto e = y - preds.to(at::kDouble).reshape({preds.size(0), -1});
    if (y.size(1) != this->value(sy_).size(0))
      throw Error(fmt::format("kiln: {} was made for {} outputs, got preds {}", Derived::metric_name,
                              this->value(sy_).size(0), preds.sizes()));
    this->value(n_) += y.size(0);
    this->value(sy_) += y.sum(0);
    this->value(syy_) += (y * y).sum(0);
    this->value(se_) += e.sum(0);
    this->value(see_) += (e * e).sum(0);
    this->value(sae_) += e.abs().sum(0);
  }

 protected:
  struct Sums {
    double n;
    at::Tensor sy, syy, se, see, sae;
  };
  Sums sums() const {
    const double n = this->value(n_).template item<double>();
    if (n == 0)
      throw Error(fmt::format("kiln: {}.compute() needs at least one sample; none was given since reset()", Derived::metric_name));
    return {n, this->value(sy_), this->value(syy_), this->value(se_), this->value(see_), this->value(sae_)};
  }
  /// 1 − num/den per output, with scikit-learn's force_finite: a constant target gives 1 for a
  /// perfect fit and 0 otherwise. `den` is the target's variance from the one-pass sums, which
  /// for a constant target leaves a rounding residue (2.8e-14 seen for 200 samples of 0.7) instead
  /// of 0; a variance below 1e-12 of `y_sq` (the same scale's mean or sum of squared targets) is
  /// taken as that zero.
  static at::Tensor one_minus_ratio(const at::Tensor& num, const at::Tensor& den, const at::Tensor& y_sq) {
    const auto constant = den <= y_sq * 1e-12;
    auto r = 1 - num / at::where(constant, at::ones_like(den), den);
    r = at::where(constant, at::where(num == 0, at::ones_like(r), at::zeros_like(r)), r);
    return r.mean();
  }

 private:
  int n_, sy_, syy_, se_, see_, sae_;
};
}  // namespace detail

/// Mean squared error over all samples and outputs; `squared = false` gives its root (RMSE).
class MeanSquaredError : public detail::ErrorSums<MeanSquaredError> {
 public:
  static constexpr std::string_view metric_name = "MeanSquaredError";
  explicit MeanSquaredError(bool squared = true, std::int64_t num_outputs = 1) : ErrorSums(num_outputs), squared_(squared) {}
  at::Tensor compute_state() const {
    auto s = sums();
    auto mse = (s.see / s.n).mean();  // scikit-learn: the mean over outputs of per-output MSE
    return squared_ ? mse : (s.see / s.n).sqrt().mean();
  }

 private:
  bool squared_;
};

/// Root mean squared error (scikit-learn's mean_squared_error(squared=False)).
class RootMeanSquaredError : public MeanSquaredError {
 public:
  explicit RootMeanSquaredError(std::int64_t num_outputs = 1) : MeanSquaredError(false, num_outputs) {}
};

/// Mean absolute error.
class MeanAbsoluteError : public detail::ErrorSums<MeanAbsoluteError> {
 public:
  static constexpr std::string_view metric_name = "MeanAbsoluteError";
  explicit MeanAbsoluteError(std::int64_t num_outputs = 1) : ErrorSums(num_outputs) {}
  at::Tensor compute_state() const {
    auto s = sums();
    return (s.sae / s.n).mean();
  }
};

/// Coefficient of determination, 1 − Σe² / Σ(y − ȳ)², per output then averaged.
class R2Score : public detail::ErrorSums<R2Score> {
 public:
  static constexpr std::string_view metric_name = "R2Score";
  explicit R2Score(std::int64_t num_outputs = 1) : ErrorSums(num_outputs) {}
  at::Tensor compute_state() const {
    auto s = sums();
    return one_minus_ratio(s.see, s.syy - s.sy * s.sy / s.n, s.syy);
  }
};

/// Explained variance, 1 − Var(e) / Var(y), per output then averaged.
class ExplainedVariance : public detail::ErrorSums<ExplainedVariance> {
 public:
  static constexpr std::string_view metric_name = "ExplainedVariance";
  explicit ExplainedVariance(std::int64_t num_outputs = 1) : ErrorSums(num_outputs) {}
  at::Tensor compute_state() const {
    auto s = sums();
    auto var_e = s.see / s.n - (s.se / s.n).pow(2), var_y = s.syy / s.n - (s.sy / s.n).pow(2);
    return one_minus_ratio(var_e, var_y, s.syy / s.n);
  }
};

}  // namespace kiln::metrics
