// SPDX-License-Identifier: Apache-2.0
// kiln/precision/detail/autocast_guard.hpp — an autocast region (torch.autocast) as an RAII guard.
#pragma once
#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <kiln/util/torch_compat.hpp>

namespace kiln::detail {

/// Inside, eligible ops on `device` run in `dtype` (matmul, conv) or float32 (losses,
/// reductions), as autocast's op lists say. An inactive guard does nothing. On leaving the
/// outermost region the cast cache is cleared: it holds low-precision copies of the weights,
/// which the next optimizer step makes stale.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, at::ScalarType dtype, bool active = true)
      : device_(device), active_(active) {
    if (!active_) return;
    was_enabled_ = compat::autocast_enabled(device_);
    previous_dtype_ = compat::autocast_dtype(device_);
    compat::set_autocast(device_, true, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    compat::set_autocast(device_, was_enabled_, previous_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool active_;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

}  // namespace kiln::detail
