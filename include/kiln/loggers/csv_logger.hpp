// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/csv_logger.hpp — CsvLogger: metrics.csv and hparams.yaml under <root>/lightning_logs/version_N.
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/linkage.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/loggers/detail/version_dir.hpp>

namespace kiln {

/// Writes logged metrics as CSV (Lightning's CSVLogger, the default logger): one row per logging
/// step, a column per metric (the union of every key logged), `step` first; the file is
/// rewritten when a new metric appears, else appended to. Hyper-parameters go to hparams.yaml
/// beside it. Layout: <save_dir>/<name>/version_<N>/, a new N for each logger (each run).
class CsvLogger {
 public:
  struct Options {
    std::optional<std::filesystem::path> save_dir;  ///< default: the Trainer's default_root_dir
    std::string name = "lightning_logs";  ///< Lightning's folder name, so its tools find the runs
    std::optional<std::int64_t> version;  ///< default: one more than the highest existing
    /// Rows are written when this many steps passed since the last write; 0 (default): at every
    /// log interval (log_every_n_steps), so a crash loses nothing. Also written at the end of
    /// each epoch and stage, and when the run fails.
    std::int64_t flush_logs_every_n_steps = 0;
  };
  CsvLogger() = default;
  explicit CsvLogger(Options o) : opt_(std::move(o)) {}

  template <class T>
  void on(const event::setup&, T& t) {
    if (!opt_.save_dir) opt_.save_dir = t.config().default_root_dir;
    log_dir();  // choose the version now, before any logger creates a folder (all agree on N)
  }

  /// Writes hparams.yaml (one `name: value` line each).
  KILN_DECL void log_hyperparams(const HParams& hparams);

  KILN_DECL void log_metrics(const MetricMap& values, std::int64_t step);

  /// Writes pending rows to metrics.csv.
  KILN_DECL void save();

  template <class T>
  void on(const event::exception&, T&) {
    try { save(); } catch (...) {}  // keep what was logged; the original error propagates
  }

  /// <save_dir>/<name>/version_<N>; the version is chosen on first use.
  std::filesystem::path log_dir() { return detail::versioned_log_dir(opt_.save_dir, opt_.name, opt_.version); }

 private:
  KILN_DECL static void create_parent(const std::filesystem::path& path);
  // YAML 1.2 plain scalars where that is unambiguous, else double-quoted with escapes.
  KILN_DECL static std::string yaml_scalar(const std::string& s);
  static std::string yaml_value(bool b) { return b ? "true" : "false"; }
  static std::string yaml_value(std::int64_t i) { return std::to_string(i); }
  KILN_DECL static std::string yaml_value(double d);
  static std::string yaml_value(const std::string& s) { return yaml_scalar(s); }

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

#if KILN_DEFINITIONS
#include <fstream>

namespace kiln {

KILN_DECL void CsvLogger::log_hyperparams(const HParams& hparams) {
  const auto path = log_dir() / "hparams.yaml";
  create_parent(path);
  std::ofstream out(path, std::ios::trunc);
  for (auto& [k, v] : hparams) out << yaml_scalar(k) << ": " << std::visit([](auto& x) { return yaml_value(x); }, v) << '\n';
  out.flush();
  if (!out) throw Error(fmt::format("kiln: CsvLogger cannot write {}", path.string()));
}

KILN_DECL void CsvLogger::log_metrics(const MetricMap& values, std::int64_t step) {
  std::map<std::string, double> row(values.begin(), values.end());
  for (auto& [k, v] : row) {
    if (k == "step") continue;
    if (columns_.insert(k).second) header_changed_ = true;
  }
  rows_.push_back({step, std::move(row)});
  if (step - flushed_step_ >= opt_.flush_logs_every_n_steps) save();
}

KILN_DECL void CsvLogger::save() {
  if (rows_.empty() && !header_changed_) return;
  const auto path = log_dir() / "metrics.csv";
  create_parent(path);
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

KILN_DECL void CsvLogger::create_parent(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw Error(fmt::format("kiln: CsvLogger cannot create {}: {}", path.parent_path().string(), ec.message()));
}

KILN_DECL std::string CsvLogger::yaml_scalar(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") == std::string::npos &&
                     s != "true" && s != "false" && s != "null" && s != "~" && s.find_first_of("0123456789.-") != 0;
  if (plain) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\', q += c;
    else if (c == '\n') q += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) q += fmt::format("\\x{:02x}", c);
    else q += c;
  }
  return q + '"';
}

KILN_DECL std::string CsvLogger::yaml_value(double d) {
  if (!std::isfinite(d)) return std::isnan(d) ? ".nan" : d > 0 ? ".inf" : "-.inf";
  auto t = fmt::format("{}", d);  // shortest round-trip form; keep a '.' so YAML reads a float
  return t.find_first_of(".e") == std::string::npos ? t + ".0" : t;
}

}  // namespace kiln
#endif  // KILN_DEFINITIONS
