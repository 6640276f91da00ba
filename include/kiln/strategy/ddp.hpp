// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/ddp.hpp — DDP: data-parallel training over a c10d process group (one process per device).
#pragma once
#include <chrono>
#include <cstdlib>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/ranges.h>
#include <torch/cuda.h>
#include <torch/nn/module.h>

#include <kiln/core/config.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/strategy/collectives.hpp>
#include <kiln/strategy/detail/channels_last.hpp>
#include <kiln/strategy/detail/grad_buckets.hpp>
#include <kiln/strategy/environment.hpp>
#include <kiln/strategy/launcher.hpp>
#include <kiln/strategy/process_group.hpp>
#include <kiln/strategy/strategy.hpp>

namespace kiln {

/// Strategy tag and options: every process trains a replica on its shard of the data; gradients
/// are averaged over the ranks before each optimizer step, so the replicas stay identical.
/// Rank, world size and rendezvous come from the launcher's environment (process_environment():
/// torchrun, mpirun, SLURM); with none, `config.devices = N` starts N ranks on this host itself.
struct DDP {
  /// How long a collective waits for the other ranks before failing with a kiln::Error.
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  /// Parameters may get no gradient on some ranks in a step (branches, frozen parts): one extra
  /// small all_reduce per step agrees which gradients exist. Off: every parameter that needs a
  /// gradient must get one on every rank, else a kiln::Error names it.
  bool find_unused_parameters = false;
  /// Gradients are averaged in buckets (one all_reduce each) that close once they hold this
  /// many MiB; the first, which backward fills first, closes at first_bucket_cap_mb, so its
  /// all_reduce starts early (PyTorch's DDP has the same two defaults).
  std::size_t bucket_cap_mb = 25;
  double first_bucket_cap_mb = 1;
  /// Start a bucket's all_reduce as soon as backward has filled it, overlapping communication
  /// with the rest of backward; off (and with find_unused_parameters): all buckets after backward.
  bool overlap = true;
};

template <>
class StrategyImpl<DDP> {
 public:
  StrategyImpl() = default;
  explicit StrategyImpl(DDP o) : opt_(o) {}

  void setup(const TrainerConfig& config) {
    const bool cuda = torch::cuda::is_available();
    if (config.accelerator == "cuda" && !cuda)
      throw Error("kiln: TrainerConfig.accelerator is \"cuda\" but no CUDA device is available");
    const bool on_gpu = config.accelerator == "cuda" || (config.accelerator == "auto" && cuda);
#if !KILN_HAS_NCCL
    if (on_gpu)
      throw Error("kiln: Strategy<DDP> on CUDA needs the NCCL process group, and kiln was configured against a "
                  "LibTorch without NCCL (KILN_HAS_NCCL is 0); use accelerator = \"cpu\"");
#endif
    if (!dist::is_initialized()) {
      if (process_environment().world_size == 1 && config.devices > 1 && !std::getenv("KILN_LAUNCHED"))
        detail::launch_local_ranks(static_cast<int>(config.devices));  // kiln's own launcher: this process is rank 0
      // a no-op for a world of one; NCCL also makes cuda:LOCAL_RANK this process's device
      dist::init_process_group({.backend = on_gpu ? "nccl" : "gloo", .timeout = opt_.timeout});
    }
    device_ = on_gpu ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dist::local_rank())) : torch::Device(torch::kCPU);
    channels_last_ = config.cpu_channels_last;
  }
  torch::Device device() const { return device_; }

  /// Moves the module to the device and gives every rank rank 0's parameters and buffers.
  void setup_module(torch::nn::Module& m) {
    if (!device_.is_cpu()) m.to(device_);
    else if (channels_last_) detail::conv2d_weights_channels_last(m);  // as SingleDevice
    if (world_size() == 1) return;
    torch::NoGradGuard no_grad;
    check_same_shapes(m);
    // once per setup: one broadcast per tensor is cheap next to training
    for (auto& p : m.parameters()) dist::broadcast(p.detach(), 0);
    for (auto& b : m.buffers()) dist::broadcast(b.detach(), 0);
    std::vector<at::Tensor> params;
    std::vector<std::string> names;
    for (auto& item : m.named_parameters()) {
      params.push_back(item.value());
      names.push_back(item.key());
    }
    // With unused parameters a bucket may fill on one rank and not on another; the buckets then
    // all start after backward, in one order on every rank (Gloo pairs collectives by order).
    buckets_ = detail::GradBuckets::make(std::move(params), std::move(names),
                                         static_cast<std::size_t>(opt_.first_bucket_cap_mb * double(1 << 20)),
                                         opt_.bucket_cap_mb << 20, opt_.overlap && !opt_.find_unused_parameters);
  }

  /// Called before each backward: `sync` when an optimizer step follows (gradients are then
  /// all-reduced bucket by bucket while backward runs); else they accumulate locally (no_sync).
  void before_backward(bool sync) {
    if (buckets_) buckets_->arm(sync);
  }

  /// After a synced backward (Trainer::backward): averages the gradients over the ranks, waiting
  /// for the buckets backward started.
  void reduce_gradients() {
    if (!buckets_) return;
    std::vector<char> global;
    if (opt_.find_unused_parameters) {
      auto mask = buckets_->local_mask();
      auto t = at::tensor(std::vector<std::uint8_t>(mask.begin(), mask.end()), at::kByte).to(at::kInt);
      dist::all_reduce(t, dist::ReduceOp::max);
      global.assign(t.data_ptr<int>(), t.data_ptr<int>() + t.numel());
    }
    buckets_->finish(global);
  }

  /// As SingleDevice: the batch itself on CPU, else a copy on this rank's GPU.
  template <class Batch, class F>
  decltype(auto) with_batch_on_device(Batch& batch, F&& f) {
    return detail::with_batch_on(device_, batch, std::forward<F>(f));
  }
  int rank() const { return dist::rank(); }
  int local_rank() const { return dist::local_rank(); }
  int world_size() const { return dist::world_size(); }
  bool is_global_zero() const { return dist::rank() == 0; }
  void barrier() { dist::barrier(); }
  /// For LogBuffer: log(..., {.sync_dist = true}) values combined over the ranks.
  static void reduce_for_logs(at::Tensor& t, Reduce r) {
    dist::all_reduce(t, r == Reduce::max ? dist::ReduceOp::max : r == Reduce::min ? dist::ReduceOp::min : dist::ReduceOp::sum);
  }
  /// Rank 0's `t` on every rank, in place (ModelCheckpoint follows rank 0's score with it).
  void broadcast_from_zero(at::Tensor& t) { dist::broadcast(t, 0); }
  /// Element-wise max over the ranks, in place (the loops agree on stop decisions with it).
  void all_reduce_max(at::Tensor& t) { dist::all_reduce(t, dist::ReduceOp::max); }
  const DDP& options() const { return opt_; }

 private:
  /// Every rank must hold the same model: compares a digest of the parameter shapes with rank 0's.
  void check_same_shapes(torch::nn::Module& m) {
    std::vector<std::int64_t> shape_list;
    for (auto& p : m.parameters()) {
      shape_list.push_back(p.dim());
      for (auto s : p.sizes()) shape_list.push_back(s);
    }
    auto mine = at::tensor(shape_list, at::kLong);
    auto all = dist::all_gather(mine);
    for (int r = 0; r < world_size(); ++r)
      if (!at::equal(all[r], all[0]))
        throw Error(fmt::format("kiln: Strategy<DDP>: rank {} has a model with other parameter shapes than rank 0 "
                                "(rank {}: {}; rank 0: {})", r, r, shapes_text(all[r]), shapes_text(all[0])));
  }

  /// "[8, 32] [32] ..." from the (dims, sizes...) list check_same_shapes exchanges.
  static std::string shapes_text(const at::Tensor& list) {
    std::string out;
    const auto* p = list.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < list.numel();) {
      const auto d = p[i++];
      out += fmt::format("{}[{}]", out.empty() ? "" : " ", fmt::join(p + i, p + i + d, ", "));
      i += d;
    }
    return out;
  }

  DDP opt_;
  std::shared_ptr<detail::GradBuckets> buckets_;
  torch::Device device_{torch::kCPU};
  bool channels_last_ = true;
};

}  // namespace kiln
