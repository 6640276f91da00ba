// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/detail/averaged_weights.hpp — the averaged copy of a module's weights that EMA and SWA keep, and its swap into the module.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/List.h>
#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/tensor_dict.hpp>

namespace kiln::detail {

/// What is averaged: every parameter, and with `use_buffers` every floating-point buffer (batch
/// norm's running statistics); integer buffers (num_batches_tracked) are never averaged and keep
/// the module's own value. The average lives beside the module, on its device, in its dtype.
class AveragedWeights {
 public:
  /// Ties the average to `m`'s tensors (call at each fit start: the module may be another one).
  /// A restored average must name exactly the tensors `m` averages.
  void attach(torch::nn::Module& m, bool use_buffers, const char* owner) {
    live_.clear();
    const auto params = m.named_parameters(/*recurse=*/true);
    for (const auto& item : state_dict(m))
      if (params.contains(item.key()) || (use_buffers && item.value().is_floating_point()))
        live_.emplace_back(item.key(), item.value());
    if (average_.is_empty()) return;
    std::vector<std::string> want;
    for (const auto& [name, t] : live_) want.push_back(name);
    if (want != average_.keys()) {
      const auto list = [](const std::vector<std::string>& names) {
        std::string out;
        for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
        return out;
      };
      throw Error(fmt::format("kiln: {}: the restored average holds {} tensors ({}), the module averages {} ({})", owner,
                              average_.size(), list(average_.keys()), want.size(), list(want)));
    }
  }

  bool empty() const { return average_.is_empty(); }
  std::int64_t updates() const { return updates_; }
  const TensorDict& average() const { return average_; }

  /// The first update copies the weights; each later one calls `step(average, current)` per tensor.
  template <class Step>
  void update(Step&& step) {
    torch::NoGradGuard no_grad;
    if (average_.is_empty()) {
      for (const auto& [name, t] : live_) average_.insert(name, t.clone());
    } else {
      for (const auto& [name, t] : live_) step(average_[name], t);
    }
    ++updates_;
  }

  /// Puts the average into the module, keeping its own weights to put back (swap_out).
  void swap_in() {
    if (average_.is_empty() || backup_) return;
    torch::NoGradGuard no_grad;
    backup_.emplace();
    for (const auto& [name, t] : live_) {
      backup_->insert(name, t.clone());
      t.copy_(average_[name]);
    }
  }
  void swap_out() {
    if (!backup_) return;
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : live_) t.copy_((*backup_)[name]);
    backup_.reset();
  }
  bool swapped() const { return backup_.has_value(); }

  /// Puts the average into the module for good (the end of fit).
  void apply() {
    swap_out();
    torch::NoGradGuard no_grad;
    if (!average_.is_empty())
      for (const auto& [name, t] : live_) t.copy_(average_[name]);
  }

  /// The module's own (training) weights while the average is swapped in: what a checkpoint
  /// written then needs to resume training exactly.
  void save(torch::serialize::OutputArchive& a) const {
    a.write("updates", at::scalar_tensor(updates_, at::kLong));
    write(a, "average", average_);
    if (backup_) write(a, "training", *backup_);
  }
  /// Restores what save wrote; the training weights, if any, are kept for the next attach.
  void load(torch::serialize::InputArchive& a, const char* owner) {
    at::Tensor n;
    if (!a.try_read("updates", n) || n.numel() != 1)
      throw Error(fmt::format("kiln: the checkpoint's {} state is incomplete (key \"updates\")", owner));
    updates_ = n.item<std::int64_t>();
    average_ = read(a, "average", owner);
    pending_training_.reset();
    if (auto t = read(a, "training", owner); !t.is_empty()) pending_training_ = std::move(t);
  }
  /// After attach: the weights training had when the restored checkpoint was written.
  void restore_training() {
    if (!pending_training_) return;
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : live_)
      if (const auto* w = pending_training_->find(name)) t.copy_(*w);
    pending_training_.reset();
  }

 private:
  static void write(torch::serialize::OutputArchive& a, const std::string& key, const TensorDict& d) {
    c10::List<std::string> names;
    c10::List<at::Tensor> tensors;
    for (const auto& item : d) {
      names.push_back(item.key());
      tensors.push_back(item.value());
    }
    a.write(key + "_names", c10::IValue(names));
    a.write(key, c10::IValue(tensors));
  }
  static TensorDict read(torch::serialize::InputArchive& a, const std::string& key, const char* owner) {
    c10::IValue names, tensors;
    TensorDict out;
    if (!a.try_read(key + "_names", names)) return out;
    if (!a.try_read(key, tensors) || !names.isList() || !tensors.isTensorList() ||
        names.toList().size() != tensors.toTensorList().size())
      throw Error(fmt::format("kiln: the checkpoint's {} state is incomplete (key \"{}\")", owner, key));
    const auto n = names.toList();
    const auto t = tensors.toTensorList();
    for (std::size_t i = 0; i < n.size(); ++i) out.insert(n.get(i).toStringRef(), t.get(i));
    return out;
  }

  std::vector<std::pair<std::string, at::Tensor>> live_;  // the module's averaged tensors (detached aliases), by name
  TensorDict average_;
  std::optional<TensorDict> backup_, pending_training_;
  std::int64_t updates_ = 0;
};

}  // namespace kiln::detail
