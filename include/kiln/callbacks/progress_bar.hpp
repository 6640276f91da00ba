// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/progress_bar.hpp — ProgressBar: the default callback that shows training progress.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include <fmt/core.h>
#include <unistd.h>

#include <kiln/core/events.hpp>

namespace kiln {

/// Shows epoch, batch, speed and the values logged with prog_bar=true on stderr. On a terminal
/// it redraws one line every `refresh_rate` batches; otherwise (CI logs, files) it prints one
/// line per epoch. Off when `config.enable_progress_bar` is false, and on ranks other than 0.
class ProgressBar {
 public:
  struct Options {
    std::int64_t refresh_rate = 1;  ///< redraw every n batches on a terminal; 0 turns the bar off
  };
  ProgressBar() = default;
  explicit ProgressBar(Options o) : opt_(o) {}

  template <class T>
  void on(const event::train_epoch_start&, T& t) {
    if (!enabled(t)) return;
    start_ = std::chrono::steady_clock::now();
  }
  template <class T>
  void on(const event::train_batch_end& e, T& t) {
    if (!enabled(t) || !tty_ || opt_.refresh_rate <= 0 || (e.batch_idx + 1) % opt_.refresh_rate != 0) return;
    draw(t, e.batch_idx + 1, '\r');
  }
  template <class T>
  void on(const event::train_epoch_end&, T& t) {
    if (!enabled(t)) return;
    draw(t, t.state().batch_idx, '\r');
    std::fputc('\n', stderr);
  }
 private:
  template <class T>
  bool enabled(T& t) const {
    return opt_.refresh_rate > 0 && t.config().enable_progress_bar && t.is_global_zero();
  }

  template <class T>
  static std::string metrics(T& t) {
    std::string out;
    for (auto& [k, v] : t.progress_bar_metrics()) out += fmt::format(" {}={:.4g}", k, v);
    return out;
  }

  template <class T>
  void draw(T& t, std::int64_t done, char lead) {
    const auto& s = t.state();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const std::string total = s.epoch_length ? std::to_string(*s.epoch_length) : "?";
    fmt::print(stderr, "{}Epoch {}: {}/{} [{:.1f}s, {:.1f} it/s]{}", tty_ ? std::string(1, lead) : "",
               s.epoch, done, total, secs, secs > 0 ? double(done) / secs : 0.0, metrics(t));
    std::fflush(stderr);
  }

  Options opt_{};
  bool tty_ = ::isatty(2) != 0;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace kiln
