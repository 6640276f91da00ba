// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/detail/grad_buckets.hpp — DDP's gradient buckets: all-reduced as backward fills them (overlap), or after it.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/strategy/collectives.hpp>
#include <kiln/util/torch_compat.hpp>

namespace kiln::detail {

/// Parameters grouped into buckets (one dtype each), in reverse order of registration, the order
/// in which backward usually produces their gradients. A bucket closes once it holds `cap` bytes
/// (`first_cap` for the first), as PyTorch's DDP does: a small first bucket can start
/// communicating while the earlier, often costlier layers still run backward. With `overlap`,
/// a hook after each parameter's gradient accumulation counts the bucket down; a full bucket's
/// all_reduce starts at once (buckets start in index order on every rank, as Gloo needs) and
/// runs while backward goes on. finish() waits for them and writes the averages back; buckets
/// not started (a gradient missing) are reduced there.
class GradBuckets {
 public:
  GradBuckets(std::vector<at::Tensor> params, std::vector<std::string> names, std::size_t first_cap, std::size_t cap,
              bool overlap)
      : params_(std::move(params)), names_(std::move(names)), overlap_(overlap) {
    std::size_t bytes = 0;
    bool open = false;
    for (std::size_t i = params_.size(); i-- > 0;) {
      const auto& p = params_[i];
      if (!p.requires_grad()) continue;
      if (!open || p.scalar_type() != params_[buckets_.back().members.front()].scalar_type()) {
        buckets_.emplace_back();
        bytes = 0;
      }
      buckets_.back().members.push_back(i);
      bytes += p.nbytes();
      open = bytes < (buckets_.size() == 1 ? first_cap : cap);
    }
    bucket_of_.assign(params_.size(), -1);
    for (std::size_t b = 0; b < buckets_.size(); ++b)
      for (auto i : buckets_[b].members) bucket_of_[i] = static_cast<int>(b);
    arm(false);
  }
  /// Buckets with their hooks; a hook holds the buckets weakly, so buckets replaced by a later
  /// setup leave only inert hooks behind.
  static std::shared_ptr<GradBuckets> make(std::vector<at::Tensor> params, std::vector<std::string> names,
                                           std::size_t first_cap, std::size_t cap, bool overlap) {
    auto b = std::make_shared<GradBuckets>(std::move(params), std::move(names), first_cap, cap, overlap);
    if (overlap) {
      for (std::size_t i = 0; i < b->params_.size(); ++i) {
        if (b->bucket_of_[i] < 0) continue;
        auto acc = torch::autograd::impl::grad_accumulator(b->params_[i]);  // kept: the parameter holds it weakly
        acc->add_post_hook(std::make_unique<Hook>(b, i));
        b->accumulators_.push_back(std::move(acc));
      }
    }
    return b;
  }
  GradBuckets(const GradBuckets&) = delete;
  GradBuckets& operator=(const GradBuckets&) = delete;

  /// Called before each backward: `sync` when an optimizer step follows it (else the gradients
  /// only accumulate locally, Lightning's no_sync).
  void arm(bool sync) {
    sync_ = sync && overlap_;
    next_ = 0;
    for (auto& b : buckets_) {
      b.waiting = b.members.size();
      b.work.reset();
      b.flat = at::Tensor();
    }
  }

  /// Averages every gradient over the ranks (waiting for buckets already under way). `global`,
  /// if not empty, says per parameter whether any rank has its gradient: those missing here are
  /// zeros, those missing everywhere stay undefined. Without it a missing gradient is an error.
  void finish(const std::vector<char>& global = {}) {
    for (auto& b : buckets_) {
      if (!b.work) launch(b, global);
      dist::detail::wait(b.work, "DDP gradient all_reduce");
      b.flat.div_(dist::world_size());
      std::int64_t at = 0;
      for (auto i : b.used) {
        auto& g = params_[i].mutable_grad();
        g.copy_(b.flat.narrow(0, at, g.numel()).view_as(g));
        at += g.numel();
      }
    }
    arm(false);
  }

  /// Whether each parameter has a gradient here (1) or not (0).
  std::vector<char> local_mask() const {
    std::vector<char> m(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) m[i] = params_[i].grad().defined();
    return m;
  }
  std::size_t size() const { return params_.size(); }

  const std::vector<at::Tensor>& params() const { return params_; }

 private:
  struct Bucket {
    std::vector<std::size_t> members, used;  ///< used: those with a gradient in the last launch
    std::size_t waiting = 0;
    at::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  struct Hook : torch::autograd::FunctionPostHook {
    Hook(const std::shared_ptr<GradBuckets>& o, std::size_t i) : owner(o), index(i) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list&) override {
      if (auto o = owner.lock()) o->ready(index);
      return outputs;
    }
    std::weak_ptr<GradBuckets> owner;
    std::size_t index;
  };

  void ready(std::size_t i) {
    if (!sync_) return;
    auto& b = buckets_[bucket_of_[i]];
    if (b.waiting > 0) --b.waiting;
    while (next_ < buckets_.size() && buckets_[next_].waiting == 0 && !buckets_[next_].work) launch(buckets_[next_++]);
  }

  void launch(Bucket& b, const std::vector<char>& global = {}) {
    std::vector<at::Tensor> grads;
    b.used.clear();
    for (auto i : b.members) {
      auto& g = params_[i].mutable_grad();
      if (!g.defined()) {
        if (global.empty())
          throw Error(fmt::format("kiln: rank {}: parameter {} got no gradient in this step; with Strategy<DDP> every "
                                  "rank must produce the same gradients, or set DDP{{.find_unused_parameters = true}}",
                                  dist::rank(), names_[i]));
        if (!global[i]) continue;  // no rank has it: it stays undefined, as without DDP
        g = at::zeros_like(params_[i]);
      }
      grads.push_back(g.reshape({-1}));
      b.used.push_back(i);
    }
    b.flat = grads.empty() ? at::zeros({0}, params_[b.members.front()].options()) : at::cat(grads);
    std::vector<at::Tensor> v{b.flat};
    b.work = dist::detail::group().allreduce(v);
  }

  std::vector<at::Tensor> params_;
  std::vector<std::string> names_;
  bool overlap_, sync_ = false;
  std::vector<Bucket> buckets_;
  std::vector<int> bucket_of_;
  std::size_t next_ = 0;
  std::vector<compat::GradAccumulatorPtr> accumulators_;
};

}  // namespace kiln::detail
