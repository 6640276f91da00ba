// SPDX-License-Identifier: Apache-2.0
// kiln/profiler/simple.hpp — Simple: wall time of every hook and phase, a table at the end of each stage.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <kiln/checkpoint/checkpoint_io.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/profiler/profiler.hpp>

namespace kiln {

/// Times every callback and logger handler, every module hook and the loops' phases
/// (train_dataloader_next, training_step, backward, optimizer_step, run_training_batch,
/// run_training_epoch, validation_step, ...), as Lightning's SimpleProfiler. At the end of each
/// stage, global rank 0 prints a table (mean, calls, total, share of the stage's time, the
/// largest total first) and writes it to `<dirpath>/<stage>-<filename>.txt`, dirpath defaulting
/// to the log folder.
struct Simple {
  std::optional<std::filesystem::path> dirpath;
  std::string filename = "profiler";
  bool print = true;  ///< also to stdout
};

template <>
class ProfilerImpl<Simple> {
  using Clock = std::chrono::steady_clock;

 public:
  static constexpr bool enabled = true;
  ProfilerImpl() = default;
  explicit ProfilerImpl(Simple o) : opt_(std::move(o)) {}

  struct Stats {
    std::int64_t calls = 0;
    double total = 0;  // seconds
  };

  class Scope {
   public:
    Scope(ProfilerImpl& p, std::size_t id) : p_(p), id_(id), start_(Clock::now()) {}
    Scope(const Scope&) = delete;
    ~Scope() { p_.record(id_, std::chrono::duration<double>(Clock::now() - start_).count()); }

   private:
    ProfilerImpl& p_;
    std::size_t id_;
    Clock::time_point start_;
  };
  Scope scope(std::size_t id) { return Scope(*this, id); }
  void train_batch(std::int64_t, bool) {}

  void record(std::size_t id, double seconds) {
    if (id >= stats_.size()) stats_.resize(id + 1);
    ++stats_[id].calls;
    stats_[id].total += seconds;
  }

  void start(Stage) {
    stats_.clear();
    started_ = Clock::now();
  }
  /// The table of this stage (also what stop() prints and writes).
  std::string report(Stage stage) const {
    const double wall = std::chrono::duration<double>(Clock::now() - started_).count();
    std::vector<std::pair<std::string, Stats>> rows;
    for (std::size_t i = 0; i < stats_.size(); ++i)
      if (stats_[i].calls) rows.emplace_back(detail::ProfilerActions::name(i), stats_[i]);
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.total > b.second.total; });
    std::size_t width = 6;
    for (const auto& r : rows) width = std::max(width, r.first.size());
    std::string out = fmt::format("{} Profiler Report\n\n", upper(stage));
    const auto line = [&](const std::string& action, const std::string& mean, std::int64_t calls, double total) {
      out += fmt::format("| {:<{}} | {:>17} | {:>9} | {:>14.6f} | {:>12.3f} |\n", action, width, mean, calls, total,
                         wall > 0 ? 100 * total / wall : 0.0);
    };
    out += fmt::format("| {:<{}} | {:>17} | {:>9} | {:>14} | {:>12} |\n", "Action", width, "Mean duration (s)", "Num calls",
                       "Total time (s)", "Percentage %");
    out += fmt::format("|{:-<{}}|\n", "", width + 66);
    line("Total", "-", 1, wall);
    for (const auto& [name, s] : rows) line(name, fmt::format("{:.6g}", s.total / double(s.calls)), s.calls, s.total);
    return out;
  }
  void stop(Stage stage, const std::filesystem::path& log_dir, bool rank_zero) {
    if (!rank_zero || stage == Stage::sanity_check) return;
    const std::string table = report(stage);
    if (opt_.print) std::fputs(("\n" + table).c_str(), stdout);
    const auto dir = opt_.dirpath.value_or(log_dir);
    detail::write_file_atomically(dir / fmt::format("{}-{}.txt", to_string(stage), opt_.filename),
                                  [&](const detail::ByteSink& sink) { sink(table.data(), table.size()); }, false,
                                  "the profiler report");
  }
  const std::vector<Stats>& stats() const { return stats_; }

 private:
  static std::string upper(Stage s) {
    std::string n(to_string(s));
    for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return n;
  }

  Simple opt_;
  std::vector<Stats> stats_;  // by action number
  Clock::time_point started_ = Clock::now();
};

}  // namespace kiln
