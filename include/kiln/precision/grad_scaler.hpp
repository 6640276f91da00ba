// SPDX-License-Identifier: Apache-2.0
// kiln/precision/grad_scaler.hpp — GradScaler: dynamic loss scaling for float16 mixed precision.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>

namespace kiln {

/// PyTorch's GradScaler defaults.
struct GradScalerOptions {
  double init_scale = 65536.0;  ///< 2^16
  double growth_factor = 2.0;   ///< scale *= growth_factor after growth_interval clean steps
  double backoff_factor = 0.5;  ///< scale *= backoff_factor on a step with inf/NaN gradients
  std::int64_t growth_interval = 2000;
};

/// Multiplies the loss by a scale so small float16 gradients do not flush to zero, divides the
/// gradients by it before clipping and the optimizer step, skips a step whose gradients hold
/// inf/NaN and then backs the scale off; after growth_interval clean steps it grows the scale.
/// Behaves as torch.cuda.amp.GradScaler: found-inf is tracked per optimizer, and update() runs
/// once per iteration after every optimizer has stepped.
///
/// On CUDA it uses LibTorch's fused kernels; elsewhere (CPU on LibTorch 1.13 has none) the same
/// arithmetic in ordinary tensor ops. The state stays on the device; step() reads one flag.
class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions o = {}) : o_(validate(o)) {
    scale_ = at::full({}, o_.init_scale, at::kFloat);
    tracker_ = at::zeros({}, at::kInt);
  }

  /// `o` if every option is in range, else an Error naming the first that is not.
  static const GradScalerOptions& validate(const GradScalerOptions& o) {
    auto bad = [](const char* key, auto v, const char* want) {
      throw Error(fmt::format("kiln: GradScalerOptions::{}={} must be {}", key, v, want));
    };
    if (!(o.init_scale > 0) || !std::isfinite(o.init_scale)) bad("init_scale", o.init_scale, "finite and > 0");
    if (!(o.growth_factor > 1) || !std::isfinite(o.growth_factor)) bad("growth_factor", o.growth_factor, "finite and > 1");
    if (!(o.backoff_factor > 0 && o.backoff_factor < 1)) bad("backoff_factor", o.backoff_factor, "in (0, 1)");
    if (o.growth_interval < 1) bad("growth_interval", o.growth_interval, ">= 1");
    return o;
  }

  /// Keeps the state on `device` (where the gradients are).
  void to(const c10::Device& device) {
    scale_ = scale_.to(device);
    tracker_ = tracker_.to(device);
  }

  /// loss * scale.
  at::Tensor scale(const at::Tensor& loss) const { return loss * scale_.to(loss.device(), /*non_blocking=*/true); }

  /// Divides `opt`'s gradients by the scale in place and records whether any is inf/NaN.
  void unscale(torch::optim::Optimizer& opt) {
    auto& e = entry(opt);
    if (e.unscaled) throw Error("kiln: GradScaler: unscale() was called twice for one optimizer before update()");
    if (e.stepped) throw Error("kiln: GradScaler: unscale() was called after step() for one optimizer before update()");
    e.unscaled = true;
    const at::Tensor inv_scale = scale_.to(at::kDouble).reciprocal().to(at::kFloat);
    e.found_inf = at::zeros({}, scale_.options().dtype(at::kFloat));
    std::vector<at::Tensor> grads;
    for (auto& group : opt.param_groups())
      for (auto& p : group.params())
        if (p.grad().defined()) {
          if (p.grad().is_sparse())
            throw Error("kiln: GradScaler supports dense gradients only; a parameter has a sparse gradient");
          grads.push_back(p.mutable_grad());
        }
    if (grads.empty()) return;
    if (scale_.is_cuda()) {
      for (auto& [dtype, list] : by_dtype(grads)) at::_amp_foreach_non_finite_check_and_unscale_(list, e.found_inf, inv_scale);
      return;
    }
    std::vector<at::Tensor> bad;
    bad.reserve(grads.size());
    for (auto& g : grads) {
      bad.push_back(at::logical_not(at::isfinite(g)).any());
      g.mul_(inv_scale);
    }
    e.found_inf = at::stack(bad).any().to(at::kFloat);
  }

  /// Unscales (unless done) and steps `opt` unless its gradients hold inf/NaN; returns whether it stepped.
  bool step(torch::optim::Optimizer& opt) {
    auto& e = entry(opt);
    if (e.stepped) throw Error("kiln: GradScaler: step() was called twice for one optimizer before update()");
    if (!e.unscaled) unscale(opt);
    e.stepped = true;
    const bool clean = e.found_inf.item<float>() == 0.0f;  // the one device sync per step, as in PyTorch
    if (clean) opt.step();
    return clean;
  }

  /// Backs the scale off if any optimizer unscaled inf/NaN since the last update, else counts a
  /// clean step and grows the scale every growth_interval of them. Does nothing when no
  /// optimizer was unscaled (an accumulation micro-batch).
  void update() {
    if (per_optimizer_.empty()) return;
    at::Tensor found;
    for (auto& [opt, e] : per_optimizer_)
      if (e.found_inf.defined()) found = found.defined() ? found + e.found_inf : e.found_inf;
    per_optimizer_.clear();
    if (!found.defined()) return;
    if (scale_.is_cuda()) {
      at::_amp_update_scale_(scale_, tracker_, found, o_.growth_factor, o_.backoff_factor, o_.growth_interval);
      return;
    }
    const at::Tensor inf = found > 0;
    const at::Tensor successful = tracker_ + 1;
    const at::Tensor grow = successful == o_.growth_interval;
    const at::Tensor grown = scale_ * o_.growth_factor;
    const at::Tensor next = at::where(inf, scale_ * o_.backoff_factor,
                                      at::where(at::logical_and(grow, at::isfinite(grown)), grown, scale_));
    tracker_.copy_(at::where(at::logical_or(inf, grow), at::zeros_like(successful), successful));
    scale_.copy_(next);
  }

  /// The current scale (reads the device).
  double get_scale() const { return scale_.item<double>(); }
  /// Clean steps since the scale last changed (reads the device).
  std::int64_t growth_tracker() const { return tracker_.item<std::int64_t>(); }
  const GradScalerOptions& options() const { return o_; }

  /// Writes scale, growth tracker and options (PyTorch's GradScaler.state_dict keys).
  template <class Archive>
  void save(Archive& a) const {
    a.write("scale", scale_.cpu());
    a.write("_growth_tracker", tracker_.cpu());
    a.write("growth_factor", at::scalar_tensor(o_.growth_factor, at::kDouble));
    a.write("backoff_factor", at::scalar_tensor(o_.backoff_factor, at::kDouble));
    a.write("growth_interval", at::scalar_tensor(o_.growth_interval, at::kLong));
  }
  /// Restores what save() wrote; a missing key is an Error naming it.
  template <class Archive>
  void load(Archive& a) {
    auto read = [&](const char* key) -> at::Tensor {
      at::Tensor t;
      if (!a.try_read(key, t) || t.numel() != 1)
        throw Error(fmt::format("kiln: the loss scaler's state has no valid key \"{}\"", key));
      return t;
    };
    const at::Tensor scale = read("scale"), tracker = read("_growth_tracker"), growth = read("growth_factor"),
                     backoff = read("backoff_factor"), interval = read("growth_interval");
    GradScalerOptions o{.init_scale = o_.init_scale,
                        .growth_factor = growth.item<double>(),
                        .backoff_factor = backoff.item<double>(),
                        .growth_interval = interval.item<std::int64_t>()};
    o_ = validate(o);
    scale_.copy_(scale.to(at::kFloat).reshape({}));
    tracker_.copy_(tracker.to(at::kInt).reshape({}));
    per_optimizer_.clear();
  }

 private:
  struct PerOptimizer {
    bool unscaled = false, stepped = false;
    at::Tensor found_inf;
  };
  PerOptimizer& entry(const torch::optim::Optimizer& opt) {
    for (auto& [o, e] : per_optimizer_)
      if (o == &opt) return e;
    return per_optimizer_.emplace_back(&opt, PerOptimizer{}).second;
  }
  static std::vector<std::pair<at::ScalarType, std::vector<at::Tensor>>> by_dtype(const std::vector<at::Tensor>& grads) {
    std::vector<std::pair<at::ScalarType, std::vector<at::Tensor>>> out;
    for (auto& g : grads) {
      auto it = std::find_if(out.begin(), out.end(), [&](auto& p) { return p.first == g.scalar_type(); });
      if (it == out.end()) out.emplace_back(g.scalar_type(), std::vector<at::Tensor>{g});
      else it->second.push_back(g);
    }
    return out;
  }

  GradScalerOptions o_;
  at::Tensor scale_, tracker_;
  std::vector<std::pair<const torch::optim::Optimizer*, PerOptimizer>> per_optimizer_;
};

}  // namespace kiln
