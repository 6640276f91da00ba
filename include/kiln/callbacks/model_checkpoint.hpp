// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/model_checkpoint.hpp — ModelCheckpoint: keeps the best (top-k) and last checkpoints on disk.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <typeinfo>
#include <vector>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <kiln/checkpoint/checkpoint_io.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/stage.hpp>

namespace kiln {

/// Saves a full checkpoint (Trainer::save_checkpoint: weights, optimizers, schedulers, loss
/// scaler, loop progress, generators, callbacks) when a monitored value improves (Lightning's
/// ModelCheckpoint). Checks at the end of every n-th epoch (after its validation, or at the end
/// of the training epoch without one), every n optimizer steps, or every time interval. Files
/// are written atomically; a file that falls out of the top k is removed only after the new one
/// is on disk. Resume with `fit(..., {.ckpt_path = path | "last" | "best"})`; load only the
/// weights with `kiln::load_weights(module, path)`.
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
    bool save_last = false;              ///< also keep last.pt, the latest state
    /// Check at the end of every n-th epoch; 0: never. Default: 1, or 0 when one of the two
    /// below is set (Lightning's rule).
    std::optional<std::int64_t> every_n_epochs;
    std::int64_t every_n_train_steps = 0;  ///< check after every n-th optimizer step; 0: never
    /// Check after the first training batch that ends this long after the last check; 0: never.
    std::chrono::duration<double> train_time_interval{0};
  };
  ModelCheckpoint() = default;
  explicit ModelCheckpoint(Options o) : opt_(std::move(o)) {
    auto bad = [](std::string what) { throw Error("kiln: ModelCheckpoint " + what); };
    if (opt_.mode != "min" && opt_.mode != "max") bad(fmt::format("mode must be \"min\" or \"max\" (got \"{}\")", opt_.mode));
    if (opt_.save_top_k < -1) bad(fmt::format("save_top_k must be >= -1 (got {})", opt_.save_top_k));
    if (opt_.every_n_epochs && *opt_.every_n_epochs < 0) bad(fmt::format("every_n_epochs must be >= 0 (got {})", *opt_.every_n_epochs));
    if (opt_.every_n_train_steps < 0) bad(fmt::format("every_n_train_steps must be >= 0 (got {})", opt_.every_n_train_steps));
    if (opt_.train_time_interval.count() < 0) bad(fmt::format("train_time_interval must be >= 0 (got {} s)", opt_.train_time_interval.count()));
    if (opt_.every_n_train_steps > 0 && opt_.train_time_interval.count() > 0)
      bad("takes at most one of every_n_train_steps and train_time_interval");
    if (!opt_.every_n_epochs) opt_.every_n_epochs = opt_.every_n_train_steps > 0 || opt_.train_time_interval.count() > 0 ? 0 : 1;
  }

  /// The best file so far and its monitored value ("" and nullopt before the first save; kept
  /// in checkpoints, so a resumed run knows them).
  const std::string& best_model_path() const { return best_path_; }
  std::optional<double> best_model_score() const { return best_score_; }
  const std::string& last_model_path() const { return last_path_; }
  /// The folder checkpoints are written to (known from the start of fit).
  const std::filesystem::path& dirpath() const { return dir_; }

  /// The folder this callback writes to in trainer `t`'s run.
  template <class T>
  std::filesystem::path dirpath_in(T& t) const { return opt_.dirpath ? *opt_.dirpath : t.log_dir() / "checkpoints"; }

  /// What `fit(..., {.ckpt_path = "last" | "best"})` means: this process's last or best file,
  /// else, in a new process, last.pt in the folder (or its newest .pt file), and for "best" the
  /// best file that checkpoint recorded. Empty when there is none; `looked` says where it looked.
  template <class T>
  std::filesystem::path find(std::string_view which, T& t, std::string& looked) const {
    const std::string& known = which == "last" ? last_path_ : best_path_;
    if (!known.empty()) return known;
    const auto dir = dirpath_in(t);
    looked = dir.string();
    if (!opt_.dirpath && t.log_dir() != t.config().default_root_dir)
      looked += " (this run's own log version: give ModelCheckpoint a fixed dirpath to resume across processes)";
    std::filesystem::path last;
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / "last.pt", ec)) last = dir / "last.pt";
    else {
      std::filesystem::file_time_type newest{};
      for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".pt" && e.is_regular_file(ec) && (last.empty() || e.last_write_time(ec) > newest)) {
          last = e.path();
          newest = e.last_write_time(ec);
        }
    }
    if (which == "last" || last.empty()) return last;
    torch::serialize::InputArchive root, callbacks, mine;
    detail::read_archive(root, last);
    c10::IValue best;
    if (root.try_read("callbacks", callbacks) && (callbacks.try_read(state_key(), mine) || callbacks.try_read(typeid(ModelCheckpoint).name(), mine)) && mine.try_read("best_model_path", best) &&
        best.isString() && !best.toStringRef().empty())
      return best.toStringRef();
    looked += fmt::format(" (its latest checkpoint {} records no best file)", last.string());
    return {};
  }

  template <class T>
  void on(const event::fit_start&, T& t) {
    dir_ = dirpath_in(t);
    validated_ = false;
    // A checkpoint from another folder keeps its best/last paths (for "best"), but files there
    // are not this run's to remove.
    if (restored_dir_ && *restored_dir_ != dir_) kept_.clear();
    restored_dir_.reset();
  }
  template <class T>
  void on(const event::train_start&, T&) {
    last_check_ = std::chrono::steady_clock::now();
  }
  template <class T>
  void on(const event::train_batch_end&, T& t) {
    if (t.config().fast_dev_run || t.state().global_step == last_step_saved_) return;
    bool due = false;
    if (opt_.every_n_train_steps > 0) due = t.state().global_step % opt_.every_n_train_steps == 0;
    else if (opt_.train_time_interval.count() > 0) due = std::chrono::steady_clock::now() - last_check_ >= opt_.train_time_interval;
    if (due) {
      last_check_ = std::chrono::steady_clock::now();
      check(t);
    }
  }
  template <class T>
  void on(const event::validation_end&, T& t) {
    if (t.state().stage != Stage::fit || t.config().fast_dev_run) return;  // not the sanity check, not a dev run
    validated_ = true;
    if (epoch_due(t)) check(t);
  }
  template <class T>
  void on(const event::train_epoch_end&, T& t) {
    if (!validated_ && !t.config().fast_dev_run && epoch_due(t)) check(t);
    validated_ = false;
  }

  /// Kept in the full checkpoint: the kept files with their scores, best and last.
  void state_dict(torch::serialize::OutputArchive& a) const {
    c10::List<std::string> paths;
    std::vector<double> scores;
    for (const auto& k : kept_) {
      paths.push_back(k.path);
      scores.push_back(k.score);
    }
    a.write("dirpath", c10::IValue(dir_.string()));
    a.write("kept_paths", c10::IValue(paths));
    a.write("kept_scores", at::tensor(scores, at::kDouble));
    a.write("best_model_path", c10::IValue(best_path_));
    a.write("best_model_score", at::tensor(std::vector<double>(best_score_ ? 1 : 0, best_score_.value_or(0)), at::kDouble));
    a.write("last_model_path", c10::IValue(last_path_));
  }
  void load_state_dict(torch::serialize::InputArchive& a) {
    c10::IValue dir, paths, best, last;
    at::Tensor scores, best_score;
    if (!a.try_read("dirpath", dir) || !a.try_read("kept_paths", paths) || !a.try_read("kept_scores", scores) ||
        !a.try_read("best_model_path", best) || !a.try_read("best_model_score", best_score) || !a.try_read("last_model_path", last) ||
        !dir.isString() || !paths.isList() || !best.isString() || !last.isString() ||
        scores.numel() != static_cast<std::int64_t>(paths.toList().size()) || best_score.numel() > 1)
      throw Error("kiln: the checkpoint's ModelCheckpoint state is incomplete (keys dirpath, kept_paths, kept_scores, "
                  "best_model_path, best_model_score, last_model_path)");
    const auto list = paths.toList();
    const auto s = scores.to(at::kDouble).contiguous();
    kept_.clear();
    for (std::size_t i = 0; i < list.size(); ++i) kept_.push_back({s.data_ptr<double>()[i], list.get(i).toStringRef()});
    best_path_ = best.toStringRef();
    best_score_ = best_score.numel() ? std::optional<double>(best_score.to(at::kDouble).item<double>()) : std::nullopt;
    last_path_ = last.toStringRef();
    restored_dir_ = dir.toStringRef();
  }
  /// The key of this callback's state in a checkpoint (Lightning's Callback.state_key).
  /// Checkpoints written before state keys existed used the mangled type name; find() and
  /// restoring read that too.
  static std::string state_key() { return "ModelCheckpoint"; }

 private:
  struct Kept {
    double score;
    std::string path;
  };

  template <class T>
  bool epoch_due(T& t) const {
    return *opt_.every_n_epochs > 0 && (t.state().epoch + 1) % *opt_.every_n_epochs == 0;
  }

  template <class T>
  void check(T& t) {
    if (!t.module()) return;
    last_step_saved_ = t.state().global_step;
    std::optional<double> score;
    if (opt_.monitor) {
      const auto& m = t.callback_metrics();
      auto it = m.find(*opt_.monitor);
      if (it == m.end())
        throw Error(fmt::format("kiln: ModelCheckpoint monitors \"{}\", which was not logged (logged: {})", *opt_.monitor, names(m)));
      score = it->second;
      // Under DDP every rank follows rank 0's score (rank 0 writes and keeps the files), so all
      // take the same branch into save_checkpoint, whose barrier would otherwise pair with
      // another collective when a monitored value is not synced.
      if (t.strategy().world_size() > 1) {
        auto v = at::scalar_tensor(*score, at::kDouble);
        t.strategy().broadcast_from_zero(v);
        score = v.item<double>();
      }
    }
    if (opt_.save_top_k != 0 && (!opt_.monitor || (!std::isnan(*score) && improves(*score)))) {
      // The bookkeeping is updated before the write, so the file records itself as kept (a new
      // process finds "best" in it), and put back if the write fails.
      const auto path = file(t).string();
      const auto before = std::tuple(kept_, best_path_, best_score_);
      std::string evicted;
      if (!opt_.monitor) {  // no monitor: the latest is the best
        if (best_path_ != path) evicted = best_path_;
        best_path_ = path;
      } else {
        std::erase_if(kept_, [&](const Kept& k) { return k.path == path; });  // the same name again: overwritten
        kept_.push_back({*score, path});
        std::stable_sort(kept_.begin(), kept_.end(), [&](auto& a, auto& b) { return better(a.score, b.score); });
        if (opt_.save_top_k > 0 && std::int64_t(kept_.size()) > opt_.save_top_k) {
          if (kept_.back().path != path) evicted = kept_.back().path;
          kept_.pop_back();
        }
        best_path_ = kept_.front().path;
        best_score_ = kept_.front().score;
      }
      try {
        t.save_checkpoint(path);
      } catch (...) {
        std::tie(kept_, best_path_, best_score_) = before;
        throw;
      }
      // Only now that the new file is on disk.
      if (!evicted.empty() && t.is_global_zero()) std::filesystem::remove(evicted);
    }
    if (opt_.save_last) {
      const auto path = dir_ / "last.pt";
      const auto before = std::exchange(last_path_, path.string());  // the file records itself as the last
      try {
        t.save_checkpoint(path);
      } catch (...) {
        last_path_ = before;
        throw;
      }
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
        if (it == m.end()) throw Error(fmt::format("kiln: ModelCheckpoint filename names \"{}\", which was not logged (logged: {})", key, names(m)));
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
  std::optional<std::filesystem::path> restored_dir_;
  bool validated_ = false;
  std::int64_t last_step_saved_ = -1;
  std::chrono::steady_clock::time_point last_check_{};
};

}  // namespace kiln
