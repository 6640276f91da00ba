// SPDX-License-Identifier: Apache-2.0
// kiln/core/optimizer_config.hpp — what configure_optimizers() may return, normalised.
#pragma once
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <torch/optim/optimizer.h>

#include <kiln/optim/lr_schedulers.hpp>

namespace kiln {

/// An optimizer with its optional scheduler (Lightning's optimizer/lr_scheduler dict).
struct OptimizerConfig {
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<LRScheduler> lr_scheduler;  ///< may be null
  Interval interval = Interval::epoch;        ///< when the scheduler steps
  std::int64_t frequency = 1;                 ///< every `frequency` intervals
  std::string monitor;                        ///< logged value for ReduceLROnPlateau
};

namespace detail {
template <class T>
struct is_optimizer_ptr : std::false_type {};
template <class O>
struct is_optimizer_ptr<std::unique_ptr<O>> : std::bool_constant<std::derived_from<O, torch::optim::Optimizer>> {};

/// Return types of configure_optimizers() kiln accepts.
template <class R>
concept optimizers_return = is_optimizer_ptr<R>::value || std::same_as<R, OptimizerConfig> ||
                            std::same_as<R, std::vector<OptimizerConfig>>;

template <class R>
std::vector<OptimizerConfig> to_optimizer_configs(R&& r) {
  std::vector<OptimizerConfig> out;
  if constexpr (is_optimizer_ptr<std::remove_cvref_t<R>>::value) {
    out.push_back(OptimizerConfig{.optimizer = std::move(r)});
  } else if constexpr (std::same_as<std::remove_cvref_t<R>, OptimizerConfig>) {
    out.push_back(std::move(r));
  } else {
    out = std::move(r);
  }
  return out;
}
}  // namespace detail

}  // namespace kiln
