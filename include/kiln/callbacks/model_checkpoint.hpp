// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/model_checkpoint.hpp — ModelCheckpoint: keeps the best (top-k) and last checkpoints on disk.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/stage.hpp>

namespace kiln {

/// Saves a full checkpoint (Trainer::save_checkpoint: weights, optimizers, schedulers, loss
/// scaler, loop progress, generators) when a monitored value improves (Lightning's
/// ModelCheckpoint). Checks after each validation during fit, or at the end of a training epoch
/// without one. Files are written atomically; a file that falls out of the top k is removed only
/// after the new one is on disk. Resume with `fit(..., {.ckpt_path = path | "last" | "best"})`;
/// load only the weights with `kiln::load_weights(module, path)`.
class ModelCheckpoint {
 public:
  struct Options {
    std::optional<std::filesystem::path> dirpath;  ///< default: <first logger's log_dir>/checkpoints, else <default_root_dir>/checkpoints
    /// `{epoch}`, `{step}` and `{<metric name>}` (optionally `{<name>:.4f}`) are replaced;
    /// ".pt" is appended. Lightning's default.
    std::string filename = "epoch={epoch}-step={step}";
    std::optional<std::string> monitor;  ///< none: keep the latest only
    std::string mode = "min";            ///< "min" or "max"
    std::int64_t save_top_k = 1;         ///< -1: keep all; 0: none (save_last still works)
    bool save_last = false;              ///< also keep last.pt, the latest weights
  };
  ModelCheckpoint() = default;
  explicit ModelCheckpoint(Options o) : opt_(std::move(o)) {
    if (opt_.mode != "min" && opt_.mode != "max")
      throw Error(fmt::format("kiln: ModelCheckpoint mode must be \"min\" or \"max\" (got \"{}\")", opt_.mode));
    if (opt_.save_top_k < -1) throw Error(fmt::format("kiln: ModelCheckpoint save_top_k must be >= -1 (got {})", opt_.save_top_k));
  }

  /// The best file so far and its monitored value ("" and nullopt before the first save).
  const std::string& best_model_path() const { return best_path_; }
  std::optional<double> best_model_score() const { return best_score_; }
  const std::string& last_model_path() const { return last_path_; }
  /// The folder checkpoints are written to (known from the start of fit).
  const std::filesystem::path& dirpath() const { return dir_; }

  template <class T>
  void on(const event::fit_start&, T& t) {
    dir_ = opt_.dirpath ? *opt_.dirpath : t.log_dir() / "checkpoints";
    validated_ = false;
  }
  template <class T>
  void on(const event::validation_end&, T& t) {
    if (t.state().stage != Stage::fit || t.config().fast_dev_run) return;  // not the sanity check, not a dev run
    validated_ = true;
    check(t);
  }
  template <class T>
  void on(const event::train_epoch_end&, T& t) {
    if (!validated_ && !t.config().fast_dev_run) check(t);
    validated_ = false;
  }

 private:
  struct Kept {
    double score;
    std::string path;
  };

  template <class T>
  void check(T& t) {
    if (!t.is_global_zero() || !t.module()) return;
    std::optional<double> score;
    if (opt_.monitor) {
      const auto& m = t.callback_metrics();
      auto it = m.find(*opt_.monitor);
      if (it == m.end())
        throw Error(fmt::format("kiln: ModelCheckpoint monitors \"{}\", which was not logged (logged: {})", *opt_.monitor, names(m)));
      score = it->second;
    }
    if (opt_.save_top_k != 0) {
      if (!opt_.monitor) {  // no monitor: the latest is the best
        const auto path = file(t);
        t.save_checkpoint(path);
        if (!best_path_.empty() && best_path_ != path.string()) std::filesystem::remove(best_path_);
        best_path_ = path.string();
      } else if (!std::isnan(*score) && improves(*score)) {
        const auto path = file(t);
        t.save_checkpoint(path);
        kept_.push_back({*score, path.string()});
        std::stable_sort(kept_.begin(), kept_.end(), [&](auto& a, auto& b) { return better(a.score, b.score); });
        if (opt_.save_top_k > 0 && std::int64_t(kept_.size()) > opt_.save_top_k) {
          if (kept_.back().path != path.string()) std::filesystem::remove(kept_.back().path);
          kept_.pop_back();
        }
        best_path_ = kept_.front().path;
        best_score_ = kept_.front().score;
      }
    }
    if (opt_.save_last) {
      const auto path = dir_ / "last.pt";
      t.save_checkpoint(path);
      last_path_ = path.string();
    }
  }

  bool better(double a, double b) const { return opt_.mode == "min" ? a < b : a > b; }
  bool improves(double s) const {
    return opt_.save_top_k < 0 || std::int64_t(kept_.size()) < opt_.save_top_k || better(s, kept_.back().score);
  }

  template <class T>
  std::filesystem::path file(T& t) const {
    std::string out, name = opt_.filename;
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (name[i] != '{') { out += name[i]; continue; }
      const auto close = name.find('}', i);
      if (close == std::string::npos) throw Error(fmt::format("kiln: ModelCheckpoint filename \"{}\" has an unclosed '{{'", name));
      const std::string field = name.substr(i + 1, close - i - 1);
      const auto colon = field.find(':');
      const std::string key = field.substr(0, colon);
      const std::string spec = colon == std::string::npos ? "" : field.substr(colon);
      if (key == "epoch") out += std::to_string(t.state().epoch);
      else if (key == "step") out += std::to_string(t.state().global_step);
      else {
        const auto& m = t.callback_metrics();
        auto it = m.find(key);
        if (it == m.end()) throw Error(fmt::format("kiln: ModelCheckpoint filename names \"{}\", which was not logged", key));
        // Lightning writes "name=value"; '/' in a metric name would make a folder.
        std::string shown = key;
        std::replace(shown.begin(), shown.end(), '/', '_');
        out += shown + "=" + fmt::format(fmt::runtime("{" + spec + "}"), it->second);
      }
      i = close;
    }
    return dir_ / (out + ".pt");
  }

  template <class Map>
  static std::string names(const Map& m) {
    std::string s;
    for (auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k;
    return s.empty() ? "nothing" : s;
  }

  Options opt_;
  std::filesystem::path dir_;
  std::vector<Kept> kept_;
  std::string best_path_, last_path_;
  std::optional<double> best_score_;
  bool validated_ = false;
};

}  // namespace kiln
