// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/single_device.hpp — SingleDevice: one process, one device (the default strategy).
#pragma once
#include <string>
#include <tuple>
#include <utility>

#include <torch/cuda.h>
#include <torch/nn/module.h>

#include <kiln/core/config.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/strategy/detail/channels_last.hpp>
#include <kiln/strategy/strategy.hpp>

namespace kiln {

/// Strategy tag: train in this process on one device (config.accelerator: cpu, cuda or auto).
struct SingleDevice {};

template <>
class StrategyImpl<SingleDevice> {
 public:
  void setup(const TrainerConfig& config) {
    const bool cuda = torch::cuda::is_available();
    if (config.accelerator == "cuda" && !cuda)
      throw Error("kiln: TrainerConfig.accelerator is \"cuda\" but no CUDA device is available");
    device_ = (config.accelerator == "cuda" || (config.accelerator == "auto" && cuda))
                  ? torch::Device(torch::kCUDA, 0)
                  : torch::Device(torch::kCPU);
    channels_last_ = config.cpu_channels_last;
  }
  torch::Device device() const { return device_; }
  /// Moves the module to the device; on CPU, Conv2d weights become channels-last (see
  /// TrainerConfig::cpu_channels_last).
  void setup_module(torch::nn::Module& m) {
    if (!device_.is_cpu()) m.to(device_);
    else if (channels_last_) detail::conv2d_weights_channels_last(m);
  }
  /// Calls f(batch) with the batch on this strategy's device: the batch itself on CPU (no copy),
  /// else a copy moved non-blocking.
  template <class Batch, class F>
  decltype(auto) with_batch_on_device(Batch& batch, F&& f) {
    return detail::with_batch_on(device_, batch, std::forward<F>(f));
  }
  int rank() const { return 0; }
  int local_rank() const { return 0; }
  int world_size() const { return 1; }
  bool is_global_zero() const { return true; }
  void barrier() {}
  // A world of one: the gradients are already the average, every collective is the identity.
  void before_backward(bool) {}
  void reduce_gradients() {}
  static void reduce_for_logs(at::Tensor&, Reduce) {}
  void broadcast_from_zero(at::Tensor&) {}
  void all_reduce_max(at::Tensor&) {}

 private:
  torch::Device device_{torch::kCPU};
  bool channels_last_ = true;
};

}  // namespace kiln
