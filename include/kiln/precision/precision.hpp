// SPDX-License-Identifier: Apache-2.0
// kiln/precision/precision.hpp — PrecisionImpl<Tag>: one specialization per precision policy.
#pragma once
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/policies.hpp>

namespace kiln {

/// The implementation of precision tag Tag. Unknown tags land here and fail with one sentence.
/// What a precision offers is the concept kiln::PrecisionPolicy (kiln/core/concepts/precision.hpp).
template <class Tag>
class PrecisionImpl {
  static_assert(detail::always_false<Tag>::value, KILN_ERR_UNKNOWN_PRECISION);
};

}  // namespace kiln
