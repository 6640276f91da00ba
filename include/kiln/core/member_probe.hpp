// SPDX-License-Identifier: Apache-2.0
// kiln/core/member_probe.hpp — whether a class has a member of a given name, whatever its access or signature.
#pragma once
#include <type_traits>

// KILN_DETAIL_MEMBER_PROBE(name) defines, in the namespace where it is used, the concept
// `declares_<name><T>`: T has a member called <name>, private, overloaded or a template included.
// In a class deriving from T and from one that has the name, `&probe::<name>` is ambiguous
// exactly then. It tells a member kiln cannot call (a near miss) from a missing one, so the
// error says which. A final class cannot be probed and counts as not declaring it.
#define KILN_DETAIL_MEMBER_PROBE(name)                                                     \
  struct name##_fallback {                                                                \
    void name();                                                                          \
  };                                                                                      \
  template <class T>                                                                      \
  struct name##_probe : T, name##_fallback {};                                            \
  template <class T>                                                                      \
  concept declares_##name = std::is_class_v<T> && !std::is_final_v<T> && !requires { &name##_probe<T>::name; };
