// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks/progress_bar.hpp — ProgressBar: the default callback that shows training progress.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include <sys/ioctl.h>  // TIOCGWINSZ: the terminal's width
#include <unistd.h>     // isatty

#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/linkage.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/core/state.hpp>

namespace kiln {

namespace detail {
/// `done/total [elapsed<remaining, rate it/s]`, with `?` for what is not known yet. The rate
/// counts the batches after the first `skipped` (a resumed epoch passes over those unprocessed).
KILN_DECL std::string progress_text(std::int64_t done, std::optional<std::int64_t> total, double seconds,
                                    std::int64_t skipped = 0);
}

/// Shows, per epoch, `Epoch 2/10: 417/938 [00:12<00:15, 34.2 it/s] train/loss=0.412`: batches
/// done/total, elapsed<remaining, speed and the values logged with prog_bar=true (4 significant
/// digits); validation, the sanity check, test() and predict() get a `Validation: 3/20 [...]` line.
/// On a terminal it redraws one line ('\r' ... ESC[K) and ends each epoch with '\n', as
/// Lightning's TQDMProgressBar. Elsewhere (CI logs, pipes, files) it writes plain lines: one per
/// epoch, one per evaluation pass, and at most one mid-epoch line every `print_every_s`; a
/// validation's line follows the line of the epoch it ran in. Writes
/// nothing when `config.enable_progress_bar` is false, and nothing on ranks other than 0.
class ProgressBar {
 public:
  struct Options {
    std::FILE* stream = nullptr;     ///< where to write; nullptr: stderr
    std::optional<bool> tty;         ///< redraw one line; default: whether `stream` is a terminal
    std::int64_t refresh_rate = 1;   ///< on a terminal, redraw every n batches; 0 turns the bar off
    double print_every_s = 30;       ///< elsewhere, seconds between mid-epoch lines (epoch ends always print)
  };
  ProgressBar() : ProgressBar(Options{}) {}
  explicit ProgressBar(Options o)
      : opt_(o),
        out_(o.stream ? o.stream : stderr),
        tty_(o.tty.value_or(::isatty(::fileno(out_)) != 0)) {}

  // Every entry point starts with setup: whether a training line exists decides, on a terminal,
  // if an evaluation line is cleared at its end (inside fit) or kept (validate/test/predict).
  template <class T>
  void on(const event::setup& e, T&) {
    in_fit_ = e.stage == Stage::fit;
    in_epoch_ = false;
  }

  template <class T>
  void on(const event::train_epoch_start&, T& t) {
    if (!enabled(t)) return;
    epoch_start_ = last_line_ = Clock::now();
    done_ = 0;
    skipped_ = -1;
    in_epoch_ = true;
    if (tty_) draw_train(t.state(), t.progress_bar_metrics(), false);
  }
  template <class T>
  void on(const event::train_batch_end& e, T& t) {
    if (!enabled(t)) return;
    done_ = e.batch_idx + 1;
    if (skipped_ < 0) skipped_ = e.batch_idx;  // a resumed epoch starts past its first batches
    // Metrics are read (a device sync) only when a line is drawn.
    if (tty_ ? done_ % opt_.refresh_rate == 0 : line_due(t.state().epoch_length))
      draw_train(t.state(), t.progress_bar_metrics(), false);
  }
  template <class T>
  void on(const event::train_epoch_end&, T& t) {
    if (!enabled(t)) return;
    in_epoch_ = false;
    draw_train(t.state(), t.progress_bar_metrics(), true);
  }

  // The sanity check emits validation's events; evaluation_state()->stage tells them apart.
  template <class T> void on(const event::validation_start&, T& t) { eval_start(t); }
  template <class T> void on(const event::test_start&, T& t) { eval_start(t); }
  template <class T> void on(const event::predict_start&, T& t) { eval_start(t); }
  template <class T> void on(const event::validation_batch_end& e, T& t) { eval_batch(t, e.batch_idx); }
  template <class T> void on(const event::test_batch_end& e, T& t) { eval_batch(t, e.batch_idx); }
  template <class T> void on(const event::predict_batch_end& e, T& t) { eval_batch(t, e.batch_idx); }
  template <class T> void on(const event::validation_end&, T& t) { eval_end(t); }
  template <class T> void on(const event::test_end&, T& t) { eval_end(t); }
  template <class T> void on(const event::predict_end&, T& t) { eval_end(t); }

  /// Ends a half-drawn terminal line, so the error message starts on a line of its own.
  template <class T>
  void on(const event::exception&, T&) {
    end_on_exception();
  }

 private:
  using Clock = std::chrono::steady_clock;

  template <class T>
  bool enabled(T& t) const {
    return opt_.refresh_rate > 0 && t.config().enable_progress_bar && t.is_global_zero();
  }
  static double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }
  // Not a terminal: a mid-epoch line once print_every_s has passed, but not for the last batch,
  // whose line train_epoch_end prints.
  bool line_due(std::optional<std::int64_t> total) const {
    return (!total || done_ < *total) && seconds_since(last_line_) >= opt_.print_every_s;
  }

  // The drawing is not a template on the Trainer: it is compiled once with kiln.
  KILN_DECL void draw_train(const State& s, const MetricMap& metrics, bool end_line);

  template <class T>
  void eval_start(T& t) {
    if (!enabled(t)) return;
    eval_start_ = Clock::now();
    eval_done_ = 0;
  }
  template <class T>
  void eval_batch(T& t, std::int64_t batch_idx) {
    if (!enabled(t)) return;
    eval_done_ = batch_idx + 1;
    if (tty_ && eval_done_ % opt_.refresh_rate == 0) draw_eval(t.evaluation_state(), false);
  }
  template <class T>
  void eval_end(T& t) {
    if (enabled(t) && end_eval(t.evaluation_state())) draw_train(t.state(), t.progress_bar_metrics(), false);
  }
  /// Ends the line of an evaluation pass `s`; true when training's line is to be drawn again.
  KILN_DECL bool end_eval(const State* s);
  KILN_DECL void draw_eval(const State* s, bool end_line);
  KILN_DECL std::string eval_text(const State* s) const;
  KILN_DECL void end_on_exception();
  void flush_deferred() {
    if (!deferred_.empty()) write_line(std::exchange(deferred_, {}), true);
  }

  // A terminal gets '\r' + the line cut to its width (a wrapped line could not be redrawn) +
  // ESC[K, which clears what a longer previous line left; anything else gets plain lines only.
  KILN_DECL void write_line(std::string line, bool end_line);
  void write_raw(const std::string& bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), out_);
    std::fflush(out_);
  }

  Options opt_;
  std::FILE* out_;
  bool tty_;
  bool in_fit_ = false, in_epoch_ = false, pending_ = false;
  std::int64_t done_ = 0, eval_done_ = 0, skipped_ = -1;
  std::string deferred_;  ///< not a terminal: a validation line waiting for its epoch's line
  Clock::time_point epoch_start_{}, eval_start_{}, last_line_{};
};

namespace detail {

/// `mm:ss`, or `h:mm:ss` from an hour on (tqdm's format); seconds are truncated.
KILN_DECL std::string format_duration(double seconds);

}  // namespace detail
}  // namespace kiln

#if KILN_DEFINITIONS
namespace kiln {

KILN_DECL void ProgressBar::draw_train(const State& s, const MetricMap& metrics, bool end_line) {
  std::string line = fmt::format("Epoch {}: ", s.epoch);  // 0-based, no "/max": as Lightning shows it
  line += detail::progress_text(done_, s.epoch_length, seconds_since(epoch_start_), std::max<std::int64_t>(skipped_, 0));
  for (const auto& [name, value] : metrics) line += fmt::format(" {}={:.4g}", name, value);
  write_line(line, end_line);
  flush_deferred();
}

KILN_DECL bool ProgressBar::end_eval(const State* s) {
  if (!tty_ && in_epoch_) {
    deferred_ = eval_text(s);  // after the epoch's own line, which the reader looks for first
    return false;
  }
  if (!tty_ || !in_fit_) {
    draw_eval(s, true);  // a line of its own, kept
    return false;
  }
  write_raw("\r\x1b[K");  // inside fit the line is cleared, as Lightning's, and training's comes back
  pending_ = false;
  return in_epoch_;
}

KILN_DECL void ProgressBar::draw_eval(const State* s, bool end_line) {
  if (auto text = eval_text(s); !text.empty()) write_line(std::move(text), end_line);
}

KILN_DECL std::string ProgressBar::eval_text(const State* s) const {
  if (!s) return {};
  const char* label = s->stage == Stage::sanity_check ? "Sanity Checking"
                      : s->stage == Stage::test       ? "Testing"
                      : s->stage == Stage::predict    ? "Predicting"
                                                      : "Validation";
  return fmt::format("{}: {}", label, detail::progress_text(eval_done_, s->epoch_length, seconds_since(eval_start_)));
}

KILN_DECL void ProgressBar::end_on_exception() {
  if (pending_) write_raw("\n");
  flush_deferred();
  pending_ = in_fit_ = in_epoch_ = false;
}

KILN_DECL void ProgressBar::write_line(std::string line, bool end_line) {
  if (!tty_) {
    last_line_ = Clock::now();
    write_raw(line + '\n');
    return;
  }
  winsize w{};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &w) == 0 && w.ws_col > 1 && line.size() >= w.ws_col)
    line.resize(w.ws_col - 1u);
  write_raw('\r' + line + "\x1b[K" + (end_line ? "\n" : ""));
  pending_ = !end_line;
}

namespace detail {

KILN_DECL std::string format_duration(double seconds) {
  const auto s = static_cast<std::int64_t>(seconds > 0 ? seconds : 0);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

KILN_DECL std::string progress_text(std::int64_t done, std::optional<std::int64_t> total, double seconds,
                                    std::int64_t skipped) {
  const double rate = seconds > 0 && done > skipped ? double(done - skipped) / seconds : 0;
  const std::string remaining = total && rate > 0 ? format_duration(double(*total - done) / rate) : "?";
  const std::string speed = rate <= 0 ? "?" : rate >= 100 ? fmt::format("{:.0f}", rate) : fmt::format("{:.3g}", rate);
  return fmt::format("{}/{} [{}<{}, {} it/s]", done, total ? std::to_string(*total) : "?",
                     format_duration(seconds), remaining, speed);
}

}  // namespace detail
}  // namespace kiln
#endif  // KILN_DEFINITIONS
