// SPDX-License-Identifier: Apache-2.0
// tests/unit/trainer/logging_hub_test.cpp — loggers' finalize(RunStatus): once per fit/validate/test call, with how it ended.
#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"

namespace {

namespace fs = std::filesystem;

// Records each finalize() call by name; what it was given to log is not looked at here.
struct StatusLogger {
  std::vector<std::string> statuses;
  void log_metrics(const kiln::MetricMap&, std::int64_t) {}
  void save() {}
  void finalize(kiln::RunStatus s) {
    statuses.emplace_back(s == kiln::RunStatus::finished ? "finished" : s == kiln::RunStatus::failed ? "failed" : "killed");
  }
};
using Names = std::vector<std::string>;

// Raises SIGTERM in the training step of optimizer step `at` (1-based), or throws there.
struct Interrupted : kiln_test::Linear {
  int at = -1, seen = 0;
  bool throw_instead = false;
  torch::Tensor training_step(const kiln_test::Batch& b, kiln::StepContext& ctx) {
    if (++seen == at) {
      if (throw_instead) throw std::runtime_error("step failed");
      std::raise(SIGTERM);
    }
    return Linear::training_step(b, ctx);
  }
};

using StatusTrainer = kiln::Trainer<Interrupted, kiln::Loggers<StatusLogger>>;

kiln::TrainerConfig status_config(const char* name) {
  const auto root = fs::temp_directory_path() / name;
  fs::remove_all(root);
  kiln::TrainerConfig c = kiln_test::quiet({.max_epochs = 2, .default_root_dir = root});
  c.exit_on_preemption = false;  // the test process lives on
  return c;
}

}  // namespace

TEST_CASE("loggers are finalized once per call: finished, failed on an error, killed by a preemption signal",
          "[trainer][loggers]") {
  auto data = kiln_test::linear_data(4, 8);
  SECTION("fit, then validate and test: finished after each") {
    StatusTrainer t(status_config("kiln_finalize_ok"));
    Interrupted m;
    t.fit(m, data, data);
    REQUIRE(t.logger<StatusLogger>().statuses == Names{"finished"});
    t.validate(m, data);
    t.test(m, data);
    REQUIRE(t.logger<StatusLogger>().statuses == Names{"finished", "finished", "finished"});
  }
  SECTION("an error in training_step: failed, and the error propagates") {
    StatusTrainer t(status_config("kiln_finalize_failed"));
    Interrupted m;
    m.at = 3;
    m.throw_instead = true;
    REQUIRE_THROWS_WITH(t.fit(m, data), "step failed");
    REQUIRE(t.logger<StatusLogger>().statuses == Names{"failed"});
  }
  SECTION("SIGTERM: killed, and the end of the fit it stopped does not say finished") {
    StatusTrainer t(status_config("kiln_finalize_killed"));
    Interrupted m;
    m.at = 3;
    t.fit(m, data);
    REQUIRE(t.state().global_step == 3);
    REQUIRE(t.logger<StatusLogger>().statuses == Names{"killed"});
  }
  SECTION("logger=false: loggers get nothing, finalize neither") {
    auto c = status_config("kiln_finalize_off");
    c.logger = false;
    StatusTrainer t(c);
    Interrupted m;
    t.fit(m, data);
    REQUIRE(t.logger<StatusLogger>().statuses.empty());
  }
}
