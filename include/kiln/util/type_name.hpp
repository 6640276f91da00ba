// SPDX-License-Identifier: Apache-2.0
// kiln/util/type_name.hpp — a type's declared name ("kiln::EarlyStopping"), the same under GCC and Clang.
#pragma once
#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>

#include <kiln/core/linkage.hpp>

namespace kiln::detail {

/// The demangled name of a std::type_info name (the mangled text itself if it cannot be demangled).
KILN_DECL std::string demangle(const char* mangled);

/// T's declared name with its namespaces, e.g. "kiln::Every<Probe>".
template <class T>
std::string type_name() { return demangle(typeid(T).name()); }

}  // namespace kiln::detail

#if KILN_DEFINITIONS
#include <cxxabi.h>

namespace kiln::detail {
KILN_DECL std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(mangled);
}
}  // namespace kiln::detail
#endif  // KILN_DEFINITIONS
