// SPDX-License-Identifier: Apache-2.0
// kiln/core/batch_size.hpp — batch_size_of: how many samples a batch holds, for weighting epoch means.
#pragma once
#include <cstdint>
#include <iterator>
#include <tuple>
#include <type_traits>

#include <ATen/core/Tensor.h>

namespace kiln::detail {

// A concept's conjunction stops at the first unmet part, so tuple_size<B>::value is only
// looked at when it exists (an `&&` inside `if constexpr` would instantiate it regardless).
template <class B>
concept nonempty_tuple_like = requires { std::tuple_size<B>::value; } && (std::tuple_size<B>::value > 0);

/// The size of the first dimension of the first tensor found in `batch` (Lightning's
/// extract_batch_size): a tensor; `.data` of a torch::data::Example; the first element of a
/// pair or tuple; the first element of a range. 1 when there is none (a 0-d tensor, an empty
/// range, a type without tensors): the value then counts as one sample.
template <class B>
std::int64_t batch_size_of(const B& batch) {
  if constexpr (std::is_same_v<B, at::Tensor>) {
    return batch.defined() && batch.dim() > 0 ? batch.size(0) : 1;
  } else if constexpr (requires { { batch.data } -> std::convertible_to<const at::Tensor&>; }) {
    return batch_size_of<at::Tensor>(batch.data);
  } else if constexpr (nonempty_tuple_like<B>) {
    return batch_size_of(std::get<0>(batch));
  } else if constexpr (requires { std::begin(batch); std::end(batch); }) {
    return std::begin(batch) == std::end(batch) ? 1 : batch_size_of(*std::begin(batch));
  } else {
    return 1;
  }
}

}  // namespace kiln::detail
