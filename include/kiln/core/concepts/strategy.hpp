// SPDX-License-Identifier: Apache-2.0
// kiln/core/concepts/strategy.hpp — what a strategy must offer the Trainer, member by member.
#pragma once
#include <concepts>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <kiln/core/config.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/logging.hpp>

namespace kiln {
namespace detail::strategy_member {
// One concept per member, so a missing one is named in its own sentence.
template <class S>
concept setup = requires(S& s, const TrainerConfig& c) { s.setup(c); };
template <class S>
concept device = requires(const S& s) { { s.device() } -> std::convertible_to<c10::Device>; };
template <class S>
concept setup_module = requires(S& s, torch::nn::Module& m) { s.setup_module(m); };
template <class S>
concept with_batch_on_device = requires(S& s, at::Tensor& b) { s.with_batch_on_device(b, [](at::Tensor&) {}); };
template <class S>
concept ranks = requires(const S& s) {
  { s.rank() } -> std::convertible_to<int>;
  { s.local_rank() } -> std::convertible_to<int>;
  { s.world_size() } -> std::convertible_to<int>;
  { s.is_global_zero() } -> std::convertible_to<bool>;
};
template <class S>
concept barrier = requires(S& s) { s.barrier(); };
template <class S>
concept gradient_sync = requires(S& s, bool sync) {
  s.before_backward(sync);
  s.reduce_gradients();
};
template <class S>
concept collectives = requires(S& s, at::Tensor& t) {
  s.broadcast_from_zero(t);
  s.all_reduce_max(t);
  S::reduce_for_logs(t, Reduce::sum);
};
}  // namespace detail::strategy_member

/// Where and on how many processes a Trainer runs (Lightning's Strategy): the implementation
/// `StrategyImpl<Tag>` of a tag given as `Strategy<Tag>`.
///
/// *Requires*: `setup(const TrainerConfig&)`, `device()`, `setup_module(torch::nn::Module&)`,
/// `with_batch_on_device(batch, f)` (calls f with the batch on device()), `rank()`,
/// `local_rank()`, `world_size()`, `is_global_zero()`, `barrier()`.
/// *Models*: StrategyImpl<SingleDevice>, StrategyImpl<DDP>.
template <class S>
concept StrategyPolicy = detail::strategy_member::setup<S> && detail::strategy_member::device<S> &&
                         detail::strategy_member::setup_module<S> && detail::strategy_member::with_batch_on_device<S> &&
                         detail::strategy_member::ranks<S> && detail::strategy_member::barrier<S>;

/// A strategy over a world of ranks, which is what the Trainer takes: every strategy is one, and a
/// single process is a world of one whose collectives are identities (StrategyImpl<SingleDevice>).
///
/// *Requires* (beyond StrategyPolicy): `before_backward(bool sync)` and `reduce_gradients()`
/// (gradients averaged over the ranks when an optimizer step follows), `broadcast_from_zero(at::Tensor&)`,
/// `all_reduce_max(at::Tensor&)` (stop decisions) and a static `reduce_for_logs(at::Tensor&, Reduce)`
/// (log(..., {.sync_dist = true})).
/// *Models*: StrategyImpl<SingleDevice>, StrategyImpl<DDP>.
template <class S>
concept DistributedStrategy =
    StrategyPolicy<S> && detail::strategy_member::gradient_sync<S> && detail::strategy_member::collectives<S>;

namespace detail {
/// One static_assert per member, most basic first; only the first missing one is reported.
template <class S>
constexpr bool check_strategy() {
  using namespace strategy_member;
  constexpr std::size_t missing = first_unmet({setup<S>, device<S>, setup_module<S>, with_batch_on_device<S>,
                                               ranks<S>, barrier<S>, gradient_sync<S>, collectives<S>});
  static_assert(missing != 0, KILN_ERR_STRATEGY_MEMBER("setup(const kiln::TrainerConfig&)"));
  static_assert(missing != 1, KILN_ERR_STRATEGY_MEMBER("device() returning a c10::Device"));
  static_assert(missing != 2, KILN_ERR_STRATEGY_MEMBER("setup_module(torch::nn::Module&)"));
  static_assert(missing != 3, KILN_ERR_STRATEGY_MEMBER("with_batch_on_device(batch, f)"));
  static_assert(missing != 4, KILN_ERR_STRATEGY_MEMBER("rank(), local_rank(), world_size() and is_global_zero()"));
  static_assert(missing != 5, KILN_ERR_STRATEGY_MEMBER("barrier()"));
  static_assert(missing != 6, KILN_ERR_STRATEGY_MEMBER("before_backward(bool) and reduce_gradients()"));
  static_assert(missing != 7,
                KILN_ERR_STRATEGY_MEMBER("broadcast_from_zero(at::Tensor&), all_reduce_max(at::Tensor&) and a static reduce_for_logs(at::Tensor&, kiln::Reduce)"));
  return true;  // a static_assert above said what is missing: one mistake, one error
}
}  // namespace detail
}  // namespace kiln
