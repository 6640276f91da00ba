// SPDX-License-Identifier: Apache-2.0
// kiln/checkpoint/state_key.hpp — the stable name a callback's state is stored under in a checkpoint.
#pragma once
#include <concepts>
#include <string>
#include <typeinfo>

#include <kiln/util/type_name.hpp>

namespace kiln::detail {

/// The callback's state_key() when it has one (Lightning's Callback.state_key), else its type's
/// declared name ("kiln::EarlyStopping"): the same under every compiler, unlike typeid names.
template <class C>
std::string state_key_of(const C& c) {
  if constexpr (requires { { c.state_key() } -> std::convertible_to<std::string>; }) return std::string(c.state_key());
  else return type_name<C>();
}

/// The key checkpoints written before state keys existed used: the compiler's mangled type name.
/// Read as a fallback, never written.
template <class C>
const char* legacy_state_key() { return typeid(C).name(); }

}  // namespace kiln::detail
