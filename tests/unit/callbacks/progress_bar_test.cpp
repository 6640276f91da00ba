// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/progress_bar_test.cpp — ProgressBar's bytes on a terminal, a pseudo-terminal, a pipe and a file.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks/lambda_callback.hpp>
#include <kiln/callbacks/progress_bar.hpp>
#include <kiln/trainer.hpp>

#include "../shell.hpp"
#include "progress_bar_fixture.hpp"

namespace {

using progress_bar_fixture::Batch;
using progress_bar_fixture::data;
using progress_bar_fixture::Net;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

// 3 epochs of 20 training and 20 validation batches, after a 2-batch sanity check.
kiln::TrainerConfig config(const char* dir) {
  const auto root = std::filesystem::temp_directory_path() / dir;
  std::filesystem::remove_all(root);
  return {.max_epochs = 3, .default_root_dir = root, .logger = false};
}

// A file the bar writes to; text() reads back every byte.
struct Capture {
  std::FILE* file = std::tmpfile();
  Capture() = default;
  Capture(const Capture&) = delete;
  ~Capture() { std::fclose(file); }
  std::string text() const {
    std::string out;
    std::rewind(file);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file)) > 0;) out.append(buf, n);
    return out;
  }
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (std::size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + 1) out.push_back(s.substr(from, at - from));
  out.push_back(s.substr(from));
  return out;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

using kiln_test::run_shell;

}  // namespace

TEST_CASE("ProgressBar formats durations and progress as tqdm does", "[callbacks][progress_bar]") {
  using kiln::detail::format_duration, kiln::detail::progress_text;
  REQUIRE(format_duration(0) == "00:00");
  REQUIRE(format_duration(75.9) == "01:15");
  REQUIRE(format_duration(3599) == "59:59");
  REQUIRE(format_duration(3661) == "1:01:01");
  REQUIRE(progress_text(0, 938, 0) == "0/938 [00:00<?, ? it/s]");
  REQUIRE(progress_text(417, 938, 12.2) == "417/938 [00:12<00:15, 34.2 it/s]");
  REQUIRE(progress_text(5, std::nullopt, 2) == "5/? [00:02<?, 2.5 it/s]");
  REQUIRE(progress_text(2000, 2000, 4) == "2000/2000 [00:04<00:00, 500 it/s]");
  // A resumed epoch that passed over its first 10 batches trained 5 in 5 s: 1 it/s, not 3.
  REQUIRE(progress_text(15, 20, 5, 10) == "15/20 [00:05<00:05, 1 it/s]");
}

TEST_CASE("A resumed epoch's speed counts only the batches trained since the resume", "[callbacks][progress_bar][resume]") {
  auto train = data(10);
  const auto ckpt = std::filesystem::temp_directory_path() / "kiln_progress_bar_resume.pt";
  {
    Net net;
    auto stop = kiln::lambda_callback([&](const kiln::event::train_batch_end& e, auto& t) {
      if (e.batch_idx != 7) return;
      t.save_checkpoint(ckpt);
      t.state().request_stop("stopped by the test");
    });
    kiln::Trainer<Net, kiln::Callbacks<decltype(stop)>, kiln::Loggers<>> t({.max_epochs = 1, .enable_progress_bar = false}, stop);
    t.fit(net, train);
  }
  // Two batches remain, 100 ms each: about 10 it/s. Counting the 8 skipped ones would show ~50.
  Capture out;
  Net net;
  auto slow = kiln::lambda_callback([](const kiln::event::train_batch_start&, auto&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  });
  kiln::Trainer<Net, kiln::Callbacks<decltype(slow)>, kiln::Loggers<>> t({.max_epochs = 1}, slow,
                                                                         kiln::ProgressBar({.stream = out.file, .tty = false}));
  t.fit(net, train, {.ckpt_path = ckpt});
  const std::string text = out.text();
  INFO(text);
  const auto at = text.find("Epoch 0: 10/10 [");
  REQUIRE(at != std::string::npos);
  const auto comma = text.find(", ", at), unit = text.find(" it/s]", at);
  REQUIRE((comma != std::string::npos && unit != std::string::npos && comma < unit));
  CHECK(std::stod(text.substr(comma + 2, unit - comma - 2)) < 25);
}

TEST_CASE("ProgressBar writes plain lines when the stream is not a terminal", "[callbacks][progress_bar]") {
  auto train = data(20), val = data(20);
  Capture out;
  Net net;

  SECTION("one line per epoch and per validation pass, no escape codes") {
    kiln::Trainer<Net> t(config("kiln_progress_bar_plain"), kiln::ProgressBar({.stream = out.file, .tty = false}));
    t.fit(net, train, val);
    const std::string text = out.text();
    REQUIRE(text.find('\r') == std::string::npos);
    REQUIRE(text.find('\x1b') == std::string::npos);
    REQUIRE_THAT(text, EndsWith("\n"));
    const auto lines = split(text.substr(0, text.size() - 1), '\n');
    REQUIRE(lines.size() == 1 + 3 * 2);
    CHECK_THAT(lines[0], StartsWith("Sanity Checking: 2/2 [") && Contains(" it/s]"));
    // Each epoch's line, then the line of the validation that ran at its end.
    for (int epoch = 0; epoch < 3; ++epoch) {
      CHECK_THAT(lines[1 + 2 * epoch], StartsWith(fmt::format("Epoch {}: 20/20 [", epoch)) && Contains(" it/s]") &&
                                           Contains(" train/loss=") && Contains(" val/loss="));
      CHECK_THAT(lines[2 + 2 * epoch], StartsWith("Validation: 20/20 [") && Contains(" it/s]"));
    }
    // The last epoch's line shows the values the trainer holds, with 4 significant digits.
    const auto& bar = t.progress_bar_metrics();
    CHECK_THAT(lines[lines.size() - 2], EndsWith(fmt::format("] train/loss={:.4g} val/loss={:.4g}", bar.at("train/loss"), bar.at("val/loss"))));
  }

  SECTION("print_every_s=0: a line after every batch, the last one once") {
    kiln::Trainer<Net> t({.max_epochs = 1, .num_sanity_val_steps = 0, .default_root_dir = config("kiln_progress_bar_every").default_root_dir,
                          .logger = false},
                         kiln::ProgressBar({.stream = out.file, .tty = false, .print_every_s = 0}));
    t.fit(net, train);
    const std::string text = out.text();
    const auto lines = split(text.substr(0, text.size() - 1), '\n');
    REQUIRE(lines.size() == 20);
    for (int i = 0; i < 20; ++i) CHECK_THAT(lines[i], StartsWith(fmt::format("Epoch 0: {}/20 [", i + 1)));
  }

  SECTION("validate(), test() and predict() print one line each") {
    kiln::Trainer<Net> t(config("kiln_progress_bar_eval"), kiln::ProgressBar({.stream = out.file, .tty = false}));
    t.validate(net, val);
    t.test(net, val);
    t.predict(net, val);
    const std::string text = out.text();
    const auto lines = split(text.substr(0, text.size() - 1), '\n');
    REQUIRE(lines.size() == 3);
    CHECK_THAT(lines[0], StartsWith("Validation: 20/20 ["));
    CHECK_THAT(lines[1], StartsWith("Testing: 20/20 ["));
    CHECK_THAT(lines[2], StartsWith("Predicting: 20/20 ["));
  }
}

TEST_CASE("ProgressBar redraws one line on a terminal", "[callbacks][progress_bar]") {
  auto train = data(20), val = data(20);
  Capture out;
  Net net;

  SECTION("every batch, one kept line per epoch") {
    kiln::Trainer<Net> t(config("kiln_progress_bar_tty"), kiln::ProgressBar({.stream = out.file, .tty = true}));
    t.fit(net, train, val);
    const std::string text = out.text();
    REQUIRE_THAT(text, Contains("\r") && Contains("\x1b[K"));
    // The sanity check and validation lines are cleared; the training line comes back after each.
    CHECK(count(text, "\r\x1b[K\rEpoch ") == 1 + 3);
    CHECK(count(text, "\n") == 3);
    const auto epochs = split(text, '\n');
    REQUIRE(epochs.size() == 4);
    REQUIRE(epochs.back().empty());
    for (int epoch = 0; epoch < 3; ++epoch) {
      const auto& redraws = epochs[epoch];
      const std::string last = redraws.substr(redraws.rfind('\r') + 1);  // what stays on screen
      CHECK_THAT(last, StartsWith(fmt::format("Epoch {}: 20/20 [", epoch)) && Contains(" val/loss=") && EndsWith("\x1b[K"));
      for (int batch = 1; batch <= 20; ++batch)
        CHECK_THAT(redraws, Contains(fmt::format("\rEpoch {}: {}/20 [", epoch, batch)));
      CHECK_THAT(redraws, Contains("\rValidation: 20/20 ["));
    }
    CHECK_THAT(epochs[0], Contains("\rSanity Checking: 2/2 ["));
  }

  SECTION("refresh_rate=5 redraws every fifth batch") {
    kiln::Trainer<Net> t(config("kiln_progress_bar_rate"), kiln::ProgressBar({.stream = out.file, .tty = true, .refresh_rate = 5}));
    t.fit(net, train, val);
    const std::string text = out.text();
    CHECK_THAT(text, Contains("\rEpoch 0: 5/20 [") && Contains("\rEpoch 2: 15/20 [") && Contains("\rValidation: 10/20 ["));
    CHECK_THAT(text, !Contains("\rEpoch 0: 3/20 [") && !Contains("\rEpoch 1: 19/20 [") && !Contains("\rValidation: 7/20 ["));
  }

  SECTION("test() keeps its line") {
    kiln::Trainer<Net> t(config("kiln_progress_bar_tty_test"), kiln::ProgressBar({.stream = out.file, .tty = true}));
    t.test(net, val);
    const std::string text = out.text();
    REQUIRE(count(text, "\n") == 1);
    CHECK_THAT(text.substr(text.rfind('\r')), StartsWith("\rTesting: 20/20 [") && EndsWith("\x1b[K\n"));
  }
}

TEST_CASE("ProgressBar writes nothing when turned off", "[callbacks][progress_bar]") {
  auto train = data(20), val = data(20);
  Capture out;
  Net net;
  const bool tty = GENERATE(false, true);
  SECTION("enable_progress_bar=false") {
    auto c = config("kiln_progress_bar_off");
    c.enable_progress_bar = false;
    kiln::Trainer<Net> t(c, kiln::ProgressBar({.stream = out.file, .tty = tty}));
    t.fit(net, train, val);
    t.test(net, val);
    CHECK(out.text().empty());
  }
  SECTION("refresh_rate=0") {
    kiln::Trainer<Net> t(config("kiln_progress_bar_rate0"), kiln::ProgressBar({.stream = out.file, .tty = tty, .refresh_rate = 0}));
    t.fit(net, train, val);
    t.test(net, val);
    CHECK(out.text().empty());
  }
  // Ranks other than 0 stay silent through is_global_zero(); a test of that needs two ranks, which these in-process cases do not start.
}

#ifdef KILN_PROGRESS_BAR_PTY_EXE
TEST_CASE("ProgressBar on stderr redraws on a pseudo-terminal and prints plain lines into a pipe", "[callbacks][progress_bar]") {
  const std::string exe = KILN_PROGRESS_BAR_PTY_EXE;
  SECTION("pseudo-terminal (util-linux script)") {
    // script copies what the child writes to the pty to its stdout; the pty turns '\n' into
    // "\r\n", so '\r' alone proves nothing and the redraw is checked as "\rEpoch".
    auto [bytes, status] = run_shell("script -qfec '" + exe + "' /dev/null </dev/null");
    REQUIRE(status == 0);
    CHECK_THAT(bytes, Contains("\x1b[K") && Contains("\rEpoch 0: 3/10 [") && Contains("\rEpoch 1: 10/10 ["));
    CHECK_THAT(bytes, Contains("\rValidation: 5/5 [") && Contains("\r\x1b[K\rEpoch 1: 10/10 ["));
  }
  SECTION("a 40-column pseudo-terminal: lines are cut to 39 columns, so they never wrap") {
    auto [bytes, status] = run_shell("script -qfec \"stty cols 40 && '" + exe + "'\" /dev/null </dev/null");
    REQUIRE(status == 0);
    REQUIRE(count(bytes, "\x1b[K") > 20);
    for (std::size_t end = bytes.find("\x1b[K"); end != std::string::npos; end = bytes.find("\x1b[K", end + 1))
      CHECK(end - bytes.rfind('\r', end) - 1 <= 39);
  }
  SECTION("pipe") {
    auto [bytes, status] = run_shell("'" + exe + "' 2>&1");
    REQUIRE(status == 0);
    CHECK(bytes.find('\r') == std::string::npos);
    CHECK(bytes.find('\x1b') == std::string::npos);
    CHECK_THAT(bytes, Contains("\nEpoch 0: 10/10 [") && Contains("\nEpoch 1: 10/10 [") && Contains("\nValidation: 5/5 ["));
    CHECK(count(bytes, "\nEpoch ") == 2);
  }
}
#endif
