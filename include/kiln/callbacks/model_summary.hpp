// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/model_summary.hpp — ModelSummary: parameter counts per submodule, printed when fit starts.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>

namespace kiln {

/// "64", "18.8 K", "1.2 M", "3.4 B" (Lightning's get_human_readable_count).
inline std::string human_count(std::int64_t n) {
  const char* units[] = {"", " K", " M", " B", " T"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? std::to_string(n) : fmt::format("{:.1f}{}", v, units[u]);
}

/// A table of `m`'s submodules down to `max_depth` levels (1: its direct children; -1: all)
/// with their type and parameter count, then the trainable, non-trainable and total counts and
/// the parameters' size in MB (Lightning's ModelSummary layout).
inline std::string summarize(const torch::nn::Module& m, int max_depth = 1) {
  struct Row {
    std::string name, type, params;
  };
  auto count = [](const torch::nn::Module& mod, bool* trainable_only = nullptr) {
    std::int64_t n = 0;
    for (const auto& p : mod.parameters(true))
      if (!trainable_only || p.requires_grad() == *trainable_only) n += p.numel();
    return n;
  };
  auto type_of = [](const torch::nn::Module& mod) {
    std::string t = mod.name();
    if (t.rfind("torch::nn::", 0) == 0) t = t.substr(11);
    if (t.size() > 4 && t.ends_with("Impl")) t.resize(t.size() - 4);
    return t;
  };
  std::vector<Row> rows;
  for (const auto& item : m.named_modules("", /*include_self=*/false)) {
    const auto depth = std::count(item.key().begin(), item.key().end(), '.') + 1;
    if (max_depth >= 0 && depth > max_depth) continue;
    rows.push_back({item.key(), type_of(*item.value()), human_count(count(*item.value()))});
  }
  std::size_t wi = std::to_string(rows.size()).size(), wn = 4, wt = 4, wp = 6;
  for (const auto& r : rows) {
    wn = std::max(wn, r.name.size());
    wt = std::max(wt, r.type.size());
    wp = std::max(wp, r.params.size());
  }
  std::string out = fmt::format("{:<{}} | {:<{}} | {:<{}} | {:>{}}\n", "", wi, "Name", wn, "Type", wt, "Params", wp);
  const std::string rule(wi + wn + wt + wp + 9, '-');
  out += rule + "\n";
  for (std::size_t i = 0; i < rows.size(); ++i)
    out += fmt::format("{:<{}} | {:<{}} | {:<{}} | {:>{}}\n", i, wi, rows[i].name, wn, rows[i].type, wt, rows[i].params, wp);
  out += rule + "\n";
  bool yes = true, no = false;
  const std::int64_t trainable = count(m, &yes), frozen = count(m, &no), total = trainable + frozen;
  std::int64_t bytes = 0;
  for (const auto& p : m.parameters(true)) bytes += p.numel() * static_cast<std::int64_t>(p.element_size());
  out += fmt::format("{:<10}Trainable params\n{:<10}Non-trainable params\n{:<10}Total params\n{:<10.3f}Total estimated model params size (MB)\n",
                     human_count(trainable), human_count(frozen), human_count(total), double(bytes) / 1e6);
  return out;
}

/// Prints summarize(module, max_depth) to stdout when fit starts (global rank 0).
class ModelSummary {
 public:
  struct Options {
    int max_depth = 1;
  };
  ModelSummary() = default;
  explicit ModelSummary(Options o) : opt_(o) {}

  template <class T>
  void on(const event::fit_start&, T& t) {
    if (!t.is_global_zero() || !t.module()) return;
    std::fputs(summarize(*t.module(), opt_.max_depth).c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  Options opt_;
};

}  // namespace kiln
