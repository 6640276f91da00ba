// SPDX-License-Identifier: Apache-2.0
// kiln/core/step_context.hpp — what a step sees: progress, rank, logging, and (manual mode) optimizers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/core/optimizer_config.hpp>
#include <kiln/core/state.hpp>
#include <kiln/util/torch_compat.hpp>

namespace kiln {

/// StepContext::manual_backward's options.
struct BackwardOptions {
  /// Under Strategy<DDP>: average the gradients over the ranks after this backward.
  bool sync = true;
};

/// Passed to every step and module hook. Not a template, so user signatures stay plain:
/// `torch::Tensor training_step(const Batch& batch, kiln::StepContext& ctx)`.
class StepContext {
 public:
  std::int64_t batch_idx() const { return state_->batch_idx; }
  std::int64_t epoch() const { return state_->epoch; }
  std::int64_t global_step() const { return state_->global_step; }
  Stage stage() const { return stage_; }
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const State& state() const { return *state_; }
  /// Ask the trainer to stop after this batch.
  void request_stop(std::string reason = {}) { state_->request_stop(std::move(reason)); }

  /// Logs a value (Lightning's self.log). Tensors stay on their device until read.
  void log(std::string_view name, const at::Tensor& value, const LogOptions& opt = {}) {
    if (logs_) log_(logs_, name, value, opt, stage_, batch_size_);
  }
  /// Logs a metric object (kiln::metrics): its forward value on step, compute() (synced over
  /// ranks) at epoch end, then reset(). The metric must outlive the epoch (a module member).
  template <class M>
    requires requires(M& m) { { m.compute() } -> std::convertible_to<at::Tensor>; m.reset(); }
  void log(std::string_view name, M& metric, const LogOptions& opt = {}) {
    if (logs_) log_metric_(logs_, name, MetricRef::of(metric), opt, stage_);
  }
  void log(std::string_view name, double value, const LogOptions& opt = {}) {
    if (logs_) log_(logs_, name, at::scalar_tensor(value, at::kDouble), opt, stage_, batch_size_);
  }
  /// The samples in the running step's batch (detail::batch_size_of), which weighs logged values
  /// in epoch means; the loops set it before each step.
  std::int64_t batch_size() const { return batch_size_; }
  void set_batch_size(std::int64_t n) { batch_size_ = n; }

  // Manual optimization (module declares `static constexpr bool automatic_optimization = false`).
  std::size_t num_optimizers() const { return optimizers_ ? optimizers_->size() : 0; }
  /// The i-th optimizer from configure_optimizers().
  torch::optim::Optimizer& optimizer(std::size_t i = 0) { return *config(i).optimizer; }
  /// The i-th optimizer's scheduler, or nullptr.
  LRScheduler* lr_scheduler(std::size_t i = 0) { return config(i).lr_scheduler.get(); }
  /// backward() through the precision policy (loss scaling etc.). Under Strategy<DDP> the
  /// gradients are then averaged over the ranks, as Lightning's manual_backward does; give
  /// `{.sync = false}` for backwards whose gradients only accumulate before a later synced one
  /// (Lightning's no_backward_sync): the average of the sum is taken once, at the synced one.
  void manual_backward(const at::Tensor& loss, const BackwardOptions& opt = {}) { backward_(owner_, loss, opt.sync); }
  /// Divides optimizer i's gradients by the loss scale (FP16Mixed; nothing otherwise): call it
  /// before clipping or inspecting gradients, at most once per optimizer step.
  void unscale_gradients(std::size_t i = 0) { unscale_(precision_, optimizer(i)); }
  /// Steps optimizer i through the precision policy, zeroes its gradients and counts a global
  /// step. Returns false when the loss scaler skipped the step (inf/NaN gradients): a scheduler
  /// you step yourself should then not step either.
  bool optimizer_step(std::size_t i = 0) {
    auto& opt = optimizer(i);
    const bool stepped = step_(precision_, opt);
    compat::zero_grad_to_none(opt);
    ++state_->global_step;
    return stepped;
  }

  // Wiring, used by the Trainer and the Engine.
  struct Wiring {
    State* state;
    Stage stage;
    void* logs = nullptr;  ///< the loop's LogBuffer, reached through log / log_metric
    void (*log)(void*, std::string_view, const at::Tensor&, const LogOptions&, Stage, std::int64_t) = nullptr;
    void (*log_metric)(void*, std::string_view, const MetricRef&, const LogOptions&, Stage) = nullptr;
    std::vector<OptimizerConfig>* optimizers = nullptr;
    void* precision = nullptr;
    void* owner = nullptr;  ///< the Trainer (backward also involves its strategy)
    void (*backward)(void*, const at::Tensor&, bool sync) = nullptr;
    bool (*step)(void*, torch::optim::Optimizer&) = nullptr;
    void (*unscale)(void*, torch::optim::Optimizer&) = nullptr;
    int rank = 0, world_size = 1;
  };
  explicit StepContext(const Wiring& w)
      : state_(w.state), stage_(w.stage), logs_(w.logs), log_(w.log), log_metric_(w.log_metric), optimizers_(w.optimizers),
        precision_(w.precision), owner_(w.owner), backward_(w.backward), step_(w.step), unscale_(w.unscale), rank_(w.rank),
        world_size_(w.world_size) {}

 private:
  OptimizerConfig& config(std::size_t i) {
    if (!optimizers_ || i >= optimizers_->size())
      throw Error(fmt::format("kiln: optimizer index {} out of range: configure_optimizers() gave {}",
                              i, num_optimizers()));
    return (*optimizers_)[i];
  }
  State* state_;
  Stage stage_;
  void* logs_;
  void (*log_)(void*, std::string_view, const at::Tensor&, const LogOptions&, Stage, std::int64_t);
  void (*log_metric_)(void*, std::string_view, const MetricRef&, const LogOptions&, Stage);
  std::vector<OptimizerConfig>* optimizers_;
  void* precision_;
  void* owner_;
  void (*backward_)(void*, const at::Tensor&, bool);
  bool (*step_)(void*, torch::optim::Optimizer&);
  void (*unscale_)(void*, torch::optim::Optimizer&);
  int rank_, world_size_;
  std::int64_t batch_size_ = 1;
};

}  // namespace kiln
