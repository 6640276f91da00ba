// SPDX-License-Identifier: Apache-2.0
// kiln/core/concepts/precision.hpp — what a precision policy must offer the Trainer, member by member.
#pragma once
#include <concepts>
#include <string_view>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <kiln/core/diagnostics.hpp>

namespace kiln {
namespace detail::precision_member {
template <class P>
concept setup = requires(P& p, torch::nn::Module& m, const c10::Device& d) {
  p.setup(m, d);
  { p.setup_notice() } -> std::convertible_to<std::string_view>;
};
template <class P>
concept autocast = requires(P& p) { p.autocast(); };
template <class P>
concept with_batch = requires(P& p, at::Tensor& b) { p.with_batch(b, [](at::Tensor&) {}); };
template <class P>
concept backward = requires(P& p, const at::Tensor& loss) { p.backward(loss); };
template <class P>
concept optimizer_step = requires(P& p, torch::optim::Optimizer& o) {
  p.unscale(o);
  { p.optimizer_step(o) } -> std::convertible_to<bool>;
  p.update();
};
template <class P>
concept state = requires(P& p, torch::serialize::OutputArchive& out, torch::serialize::InputArchive& in) {
  p.save(out);
  p.load(in);
};
}  // namespace detail::precision_member

/// The numeric precision of a Trainer's loop (Lightning's Precision plugin): the implementation
/// `PrecisionImpl<Tag>` of a tag given as `Precision<Tag>`. Derive from
/// kiln::detail::PrecisionDefaults (float32 behaviour) and override what changes.
///
/// *Requires*: `setup(torch::nn::Module&, const c10::Device&)` and `setup_notice()`; `autocast()`
/// (an RAII guard around forward and loss); `with_batch(batch, f)`; `backward(loss)`;
/// `unscale(optimizer)`, `optimizer_step(optimizer)` returning whether the step was taken, and
/// `update()` once per iteration; `save(OutputArchive&)` / `load(InputArchive&)` (its checkpoint state).
/// *Models*: PrecisionImpl<FP32>, <FP64>, <BF16Mixed>, <FP16Mixed>, <BF16True>, <FP16True>.
template <class P>
concept PrecisionPolicy = detail::precision_member::setup<P> && detail::precision_member::autocast<P> &&
                          detail::precision_member::with_batch<P> && detail::precision_member::backward<P> &&
                          detail::precision_member::optimizer_step<P> && detail::precision_member::state<P>;

namespace detail {
/// One static_assert per member, most basic first; only the first missing one is reported.
template <class P>
constexpr bool check_precision() {
  using namespace precision_member;
  constexpr std::size_t missing =
      first_unmet({setup<P>, autocast<P>, with_batch<P>, backward<P>, optimizer_step<P>, state<P>});
  static_assert(missing != 0, KILN_ERR_PRECISION_MEMBER("setup(torch::nn::Module&, const c10::Device&) and setup_notice()"));
  static_assert(missing != 1, KILN_ERR_PRECISION_MEMBER("autocast()"));
  static_assert(missing != 2, KILN_ERR_PRECISION_MEMBER("with_batch(batch, f)"));
  static_assert(missing != 3, KILN_ERR_PRECISION_MEMBER("backward(const at::Tensor& loss)"));
  static_assert(missing != 4,
                KILN_ERR_PRECISION_MEMBER("unscale(optimizer), optimizer_step(optimizer) returning bool and update()"));
  static_assert(missing != 5, KILN_ERR_PRECISION_MEMBER("save(OutputArchive&) and load(InputArchive&)"));
  return true;  // a static_assert above said what is missing: one mistake, one error
}
}  // namespace detail
}  // namespace kiln
