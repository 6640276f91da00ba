// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/csv_logger.hpp — CsvLogger: metrics.csv under <root>/kiln_logs/version_N (the default logger).
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/log_buffer.hpp>

namespace kiln {

/// Writes logged metrics as CSV (Lightning's CSVLogger): one row per logging step, a column per
/// metric, `step` first; the file is rewritten when a new metric appears, else appended to.
class CsvLogger {
 public:
  struct Options {
    std::optional<std::filesystem::path> save_dir;  ///< default: the Trainer's default_root_dir
    std::string name = "kiln_logs";
    std::optional<std::int64_t> version;  ///< default: one more than the highest existing
    std::int64_t flush_logs_every_n_steps = 100;  ///< bounds what a crash can lose (Lightning's default)
  };
  CsvLogger() = default;
  explicit CsvLogger(Options o) : opt_(std::move(o)) {}

  template <class T>
  void on(const event::setup&, T& t) {
    if (!opt_.save_dir) opt_.save_dir = t.config().default_root_dir;
  }

  void log_metrics(const MetricMap& values, std::int64_t step) {
    std::map<std::string, double> row(values.begin(), values.end());
    for (auto& [k, v] : row) {
      if (k == "step") continue;
      if (columns_.insert(k).second) header_changed_ = true;
    }
    rows_.push_back({step, std::move(row)});
    if (step - flushed_step_ >= opt_.flush_logs_every_n_steps) save();
  }

  /// Writes pending rows to metrics.csv.
  void save() {
    if (rows_.empty() && !header_changed_) return;
    const auto path = log_dir() / "metrics.csv";
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw Error(fmt::format("kiln: CsvLogger cannot create {}: {}", path.parent_path().string(), ec.message()));
    std::ofstream out(path, header_changed_ ? std::ios::trunc : std::ios::app);
    if (!out) throw Error(fmt::format("kiln: CsvLogger cannot write {}", path.string()));
    auto write = [&](const std::vector<Row>& rows) {
      for (auto& r : rows) {
        out << r.step;
        for (auto& c : columns_) {
          out << ',';
          if (auto it = r.values.find(c); it != r.values.end()) out << fmt::format("{}", it->second);
        }
        out << '\n';
      }
    };
    if (header_changed_) {  // a new column: rewrite the whole file under the new header
      out << "step";
      for (auto& c : columns_) out << ',' << c;
      out << '\n';
      write(written_);
    }
    write(rows_);
    out.flush();
    if (!out) throw Error(fmt::format("kiln: CsvLogger failed writing {}", path.string()));
    written_.insert(written_.end(), rows_.begin(), rows_.end());
    if (!rows_.empty()) flushed_step_ = rows_.back().step;
    rows_.clear();
    header_changed_ = false;
  }

  template <class T>
  void on(const event::exception&, T&) {
    try { save(); } catch (...) {}  // keep what was logged; the original error propagates
  }

  /// <save_dir>/<name>/version_<N>; the version is chosen on first use.
  std::filesystem::path log_dir() {
    const auto base = opt_.save_dir.value_or(".") / opt_.name;
    if (!opt_.version) {
      std::int64_t next = 0;
      std::error_code ec;
      for (auto& e : std::filesystem::directory_iterator(base, ec)) {
        auto n = e.path().filename().string();
        if (n.rfind("version_", 0) == 0) {
          try { next = std::max<std::int64_t>(next, std::stoll(n.substr(8)) + 1); } catch (...) {}
        }
      }
      opt_.version = next;
    }
    return base / fmt::format("version_{}", *opt_.version);
  }

 private:
  struct Row {
    std::int64_t step;
    std::map<std::string, double> values;
  };
  Options opt_;
  std::set<std::string> columns_;
  std::vector<Row> rows_, written_;
  bool header_changed_ = false;
  std::int64_t flushed_step_ = 0;
};

}  // namespace kiln
