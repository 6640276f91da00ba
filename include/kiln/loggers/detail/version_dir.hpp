// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/detail/version_dir.hpp — versioned_log_dir: Lightning's <save_dir>/<name>/version_<N> folder of a run.
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include <kiln/core/format.hpp>
#include <kiln/core/linkage.hpp>

namespace kiln::detail {

/// `<save_dir>/<name>/version_<version>`. An unset `version` is chosen here, once: one more than
/// the highest `version_<N>` already in `<save_dir>/<name>` (0 when there is none), so each run
/// gets a new folder and loggers that choose at the same moment (setup) agree on N.
KILN_DECL std::filesystem::path versioned_log_dir(const std::optional<std::filesystem::path>& save_dir, const std::string& name,
                                                  std::optional<std::int64_t>& version);

}  // namespace kiln::detail

#if KILN_DEFINITIONS
namespace kiln::detail {

KILN_DECL std::filesystem::path versioned_log_dir(const std::optional<std::filesystem::path>& save_dir, const std::string& name,
                                                  std::optional<std::int64_t>& version) {
  const auto base = save_dir.value_or(".") / name;
  if (!version) {
    std::int64_t next = 0;
    std::error_code ec;  // no folder yet: version 0
    for (auto& e : std::filesystem::directory_iterator(base, ec)) {
      const auto n = e.path().filename().string();
      if (n.rfind("version_", 0) != 0) continue;
      try {
        next = std::max<std::int64_t>(next, std::stoll(n.substr(8)) + 1);
      } catch (...) {  // "version_x": not one of ours
      }
    }
    version = next;
  }
  return base / fmt::format("version_{}", *version);
}

}  // namespace kiln::detail
#endif  // KILN_DEFINITIONS
