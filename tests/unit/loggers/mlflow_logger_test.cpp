// SPDX-License-Identifier: Apache-2.0
// tests/unit/loggers/mlflow_logger_test.cpp — MLFlowLogger's set-up errors, without a server (integration.mlflow_server has one).
#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>
#include <kiln/loggers/mlflow_logger.hpp>

#include "../linear_module.hpp"

namespace {

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

kiln::TrainerConfig mlflow_config(const char* name) {
  const auto root = fs::temp_directory_path() / name;
  fs::remove_all(root);
  return kiln_test::quiet({.max_epochs = 1, .default_root_dir = root});
}

using MlflowTrainer = kiln::Trainer<kiln_test::Linear, kiln::Loggers<kiln::MLFlowLogger, kiln::CsvLogger>>;

}  // namespace

TEST_CASE("MLFlowLogger names what is wrong with its tracking URI before training starts", "[loggers][mlflow]") {
  auto data = kiln_test::linear_data(2, 4);
  kiln_test::Linear m;
  SECTION("none given and no MLFLOW_TRACKING_URI") {
    unsetenv("MLFLOW_TRACKING_URI");
    MlflowTrainer t(mlflow_config("kiln_mlflow_no_uri"));
    REQUIRE_THROWS_WITH(t.fit(m, data), Contains("MLFlowLogger has no tracking server") &&
                                            Contains("MLFLOW_TRACKING_URI"));
    REQUIRE(t.state().global_step == 0);
  }
  SECTION("not http(s), from the environment") {
    setenv("MLFLOW_TRACKING_URI", "file:./mlruns", 1);
    MlflowTrainer t(mlflow_config("kiln_mlflow_file_uri"));
    REQUIRE_THROWS_WITH(t.fit(m, data), Contains("must start with http:// or https://") &&
                                            Contains("\"file:./mlruns\""));
    unsetenv("MLFLOW_TRACKING_URI");
  }
  SECTION("on_error = warn: training goes on, the logger holds no run and drops nothing") {
    MlflowTrainer t(mlflow_config("kiln_mlflow_warn"),
                    kiln::MLFlowLogger({.tracking_uri = "ftp://example", .on_error = kiln::MLFlowLogger::OnError::warn}));
    t.fit(m, data);
    REQUIRE(t.state().global_step == 2);
    REQUIRE(t.logger<kiln::MLFlowLogger>().run_id().empty());
    REQUIRE(t.logger<kiln::MLFlowLogger>().queued() == 0);
    REQUIRE(fs::exists(t.logger<kiln::CsvLogger>().log_dir() / "metrics.csv"));
  }
  SECTION("logger = false: it never reaches for a server") {
    auto c = mlflow_config("kiln_mlflow_logger_off");
    c.logger = false;
    MlflowTrainer t(c, kiln::MLFlowLogger({.tracking_uri = "not a uri"}));
    t.fit(m, data);
    REQUIRE(t.state().global_step == 2);
  }
}
