// SPDX-License-Identifier: Apache-2.0
// kiln/loops/optimization.hpp — one automatic optimizer step: unscale, clip, step, zero_grad, schedulers.
#pragma once
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>

#include <kiln/core/config.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/linkage.hpp>
#include <kiln/core/optimizer_config.hpp>
#include <kiln/trainer/log_buffer.hpp>
#include <kiln/util/torch_compat.hpp>

namespace kiln::detail {

/// All parameters an optimizer updates (every param group), gathered once for clipping.
KILN_DECL std::vector<at::Tensor> optimizer_params(torch::optim::Optimizer& opt);

/// Clips gradients as gradient_clip_val / gradient_clip_algorithm say (after unscaling).
KILN_DECL void clip_gradients(std::vector<at::Tensor>& params, const TrainerConfig& c);

/// Steps a scheduler that monitors a value (ReduceLROnPlateau) with that value from `metrics`;
/// fails naming the key when it was never logged.
KILN_DECL void step_on_metric(OptimizerConfig& cfg, const MetricMap& metrics);

/// Steps `cfg`'s scheduler if its interval and frequency say so; ReduceLROnPlateau reads its
/// monitored value from `get_metrics()` (called only then: reading values syncs the device).
template <class GetMetrics>
void step_scheduler(OptimizerConfig& cfg, Interval when, std::int64_t count, GetMetrics&& get_metrics) {
  if (!cfg.lr_scheduler || cfg.interval != when || cfg.frequency < 1 || count % cfg.frequency != 0)
    return;
  if (!cfg.lr_scheduler->needs_metric()) {
    cfg.lr_scheduler->step();
    return;
  }
  step_on_metric(cfg, get_metrics());
}

}  // namespace kiln::detail

#if KILN_DEFINITIONS
#include <torch/types.h>  // before clip_grad.h, which uses at::Tensor without including it
#include <torch/nn/utils/clip_grad.h>

namespace kiln::detail {

KILN_DECL std::vector<at::Tensor> optimizer_params(torch::optim::Optimizer& opt) {
  std::vector<at::Tensor> out;
  for (auto& group : opt.param_groups())
    for (auto& p : group.params()) out.push_back(p);
  return out;
}

KILN_DECL void clip_gradients(std::vector<at::Tensor>& params, const TrainerConfig& c) {
  if (!c.gradient_clip_val || *c.gradient_clip_val <= 0) return;
  if (c.gradient_clip_algorithm == GradClipAlgorithm::norm)
    torch::nn::utils::clip_grad_norm_(params, *c.gradient_clip_val);
  else
    torch::nn::utils::clip_grad_value_(params, *c.gradient_clip_val);
}

KILN_DECL void step_on_metric(OptimizerConfig& cfg, const MetricMap& metrics) {
  auto it = metrics.find(cfg.monitor);
  if (it == metrics.end()) {
    std::string known;
    for (auto& [k, v] : metrics) known += (known.empty() ? "" : ", ") + k;
    throw Error(fmt::format("kiln: the scheduler monitors \"{}\", which was not logged (logged: {})",
                            cfg.monitor, known.empty() ? "nothing" : known));
  }
  cfg.lr_scheduler->step(it->second);
}

}  // namespace kiln::detail
#endif  // KILN_DEFINITIONS
