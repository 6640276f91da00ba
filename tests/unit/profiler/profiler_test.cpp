// SPDX-License-Identifier: Apache-2.0
// tests/unit/profiler/profiler_test.cpp — Profiler<Simple> counts every phase and handler and writes its table;
// Profiler<Torch> writes a Chrome trace that parses, with LibTorch's operators and kiln's ranges in its window.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <type_traits>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <kiln/loggers/csv_logger.hpp>
#include <kiln/profiler.hpp>

#include "../linear_module.hpp"

namespace profiler_test {  // named: the profiler's rows name handlers by their full type names
/// Counts the training batches it sees.
struct BatchCounter {
  int batches = 0;
  template <class T>
  void on(const kiln::event::train_batch_end&, T&) { ++batches; }
};
}  // namespace profiler_test

namespace {

using profiler_test::BatchCounter;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

/// "action" -> number of calls, from the Simple profiler's table.
std::map<std::string, long> calls_in(const std::string& table) {
  std::map<std::string, long> out;
  const std::regex row(R"(^\| (\S.*?) +\| +\S+ \| +(\d+) \| +[0-9.]+ \| +[0-9.]+ \|$)");
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);)
    if (std::smatch m; std::regex_match(line, m, row)) out[m[1]] = std::stol(m[2]);
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("kiln_profiler_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("without a profiler every probe is empty", "[profiler]") {
  using Plain = kiln_test::Quiet<>;
  STATIC_REQUIRE_FALSE(Plain::profiler_type::enabled);
  STATIC_REQUIRE(std::is_empty_v<Plain::profiler_type> && std::is_empty_v<Plain::profiler_type::Scope>);
  STATIC_REQUIRE(kiln::Trainer<kiln_test::Linear, kiln::Profiler<kiln::Simple>>::profiler_type::enabled);
}

TEST_CASE("Profiler<Simple> times every phase, handler and hook, and writes its table per stage", "[profiler]") {
  const auto dir = fresh_dir("simple");
  const auto data = kiln_test::linear_data(6, 4);
  std::vector<std::string> hook_log;
  kiln_test::HookedLinear m;
  m.log = &hook_log;
  kiln::Trainer<kiln_test::HookedLinear, kiln::Profiler<kiln::Simple>, kiln::Callbacks<BatchCounter>,
                kiln::Loggers<kiln::CsvLogger>>
      t(kiln_test::quiet({.max_epochs = 2, .accumulate_grad_batches = 2, .default_root_dir = dir}),
        kiln::Simple{.print = false});
  t.fit(m, data, data);
  const fs::path report = t.log_dir() / "fit-profiler.txt";
  REQUIRE(fs::exists(report));
  const std::string table = read_all(report);
  CHECK_THAT(table, Contains("FIT Profiler Report"));
  const auto calls = calls_in(table);
  CHECK(calls.at("Total") == 1);
  CHECK(calls.at("run_training_epoch") == 2);
  CHECK(calls.at("run_training_batch") == 12);
  CHECK(calls.at("train_dataloader_next") == 12);
  CHECK(calls.at("training_step") == 12);
  CHECK(calls.at("backward") == 12);
  CHECK(calls.at("optimizer_step") == 6);  // accumulate_grad_batches = 2
  CHECK(calls.at("validation_step") == 12);
  CHECK(calls.at("[Callback]profiler_test::BatchCounter.on_train_batch_end") == 12);
  CHECK(calls.at("[Logger]kiln::CsvLogger.on_setup") == 1);
  CHECK(calls.at("[LightningModule]kiln_test::HookedLinear.on_train_epoch_end") == 2);
  CHECK(calls.count("[Callback]profiler_test::BatchCounter.on_fit_start") == 0);  // a handler it does not have costs nothing
  CHECK(t.callback<BatchCounter>().batches == 12);
  // The rows come largest total first, after Total.
  CHECK(table.find("| run_training_epoch") < table.find("| run_training_batch"));
  CHECK(table.find("| run_training_batch") < table.find("| training_step"));

  t.validate(m, data);
  const auto val = calls_in(read_all(t.log_dir() / "validate-profiler.txt"));
  CHECK(val.at("validation_step") == 6);
  CHECK(val.count("training_step") == 0);  // each stage's table starts afresh
  fs::remove_all(dir);
}

TEST_CASE("Profiler<Torch> writes a Chrome trace of its window of steps", "[profiler]") {
  const auto dir = fresh_dir("torch");
  const auto data = kiln_test::linear_data(5, 4);
  kiln_test::Linear m;
  kiln::Trainer<kiln_test::Linear, kiln::Loggers<>, kiln::Profiler<kiln::Torch>> t(
      kiln_test::quiet({.max_epochs = 2, .default_root_dir = dir}), kiln::Torch{.skip_first = 3, .active = 4});
  t.fit(m, data);
  const auto path = dir / "fit-trace.json";
  REQUIRE(fs::exists(path));
  const auto trace = nlohmann::json::parse(read_all(path));  // throws if it is not JSON
  REQUIRE(trace.is_array());
  std::map<std::string, int> count;
  for (const auto& e : trace) {
    REQUIRE(e.at("ph") == "X");  // complete events: name, start and duration, as chrome://tracing reads them
    REQUIRE(e.at("dur").get<double>() >= 0);
    REQUIRE(e.at("ts").is_number());
    ++count[e.at("name").get<std::string>()];
  }
  // Steps 4 to 7 (the window), each with its step, backward and optimizer step, and the operators under them.
  CHECK(count["run_training_batch"] == 4);
  CHECK(count["training_step"] == 4);
  CHECK(count["backward"] == 4);
  CHECK(count["optimizer_step"] == 4);
  CHECK(count["aten::addmm"] >= 4);
  CHECK(count["aten::mse_loss"] == 4);
  fs::remove_all(dir);
}

TEST_CASE("Profiler<Torch> options out of range are an error", "[profiler][errors]") {
  CHECK_THROWS_WITH(kiln::ProfilerImpl<kiln::Torch>(kiln::Torch{.active = 0}),
                    Contains("Torch profiler needs skip_first >= 0 and active >= 1 (got 1 and 0)"));
}
