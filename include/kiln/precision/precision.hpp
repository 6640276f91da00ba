// SPDX-License-Identifier: Apache-2.0
// kiln/precision/precision.hpp — PrecisionImpl<Tag>: one specialization per precision policy.
#pragma once
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/policies.hpp>

namespace kiln {

/// The implementation of precision tag Tag; each precision specializes it in its own header.
/// Unknown tags land here: the marker below tells detail::is_precision_tag so, and the Trainer
/// says which slot is wrong in one sentence.
/// What a precision offers is the concept kiln::PrecisionPolicy (kiln/core/concepts/precision.hpp).
template <class Tag>
class PrecisionImpl {
 public:
  static constexpr bool kiln_unknown_tag = true;
};

namespace detail {
/// True when PrecisionImpl<T> is specialized, i.e. T is a precision's tag (such as kiln::FP16Mixed).
template <class T>
inline constexpr bool is_precision_tag = !requires { PrecisionImpl<T>::kiln_unknown_tag; };
}  // namespace detail

}  // namespace kiln
