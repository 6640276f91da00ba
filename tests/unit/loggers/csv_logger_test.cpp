// SPDX-License-Identifier: Apache-2.0
// tests/unit/loggers/csv_logger_test.cpp — CsvLogger: metrics.csv in versioned folders, written at every log interval; logging off.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>

#include "../linear_module.hpp"
#include "../sum_regressor.hpp"

namespace {

using kiln_test::batches;
using kiln_test::linear_data;
using kiln_test::Linear;
using kiln_test::Reg;

struct CsvProbe {
  std::filesystem::path file;
  std::size_t lines_seen = 0;
  template <class T>
  void on(const kiln::event::train_batch_end& e, T&) {
    if (e.batch_idx != 140) return;  // mid-epoch: what a SIGKILL now would leave on disk
    std::ifstream in(file);
    for (std::string l; std::getline(in, l);) ++lines_seen;
  }
};

}  // namespace

TEST_CASE("CsvLogger writes metrics.csv under default_root_dir/lightning_logs/version_N", "[trainer][logging][csv]") {
  const auto root = std::filesystem::temp_directory_path() / "kiln_csv_test";
  std::filesystem::remove_all(root);
  auto train = linear_data(4, 4), val = linear_data(2, 4);
  for (int run = 0; run < 2; ++run) {
    Linear m;
    kiln::Trainer<Linear> t({.max_epochs = 2, .num_sanity_val_steps = 0, .log_every_n_steps = 2,
                             .default_root_dir = root, .enable_progress_bar = false});
    t.fit(m, train, val);
    REQUIRE(t.logger<kiln::CsvLogger>().log_dir() == root / "lightning_logs" / ("version_" + std::to_string(run)));
  }
  std::ifstream in(root / "lightning_logs" / "version_0" / "metrics.csv");
  REQUIRE(in);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.front() == "step,epoch,train/loss_epoch,train/loss_step,val/loss");
  // Per epoch: steps 2 and 4 (train/loss_step), validation, then the epoch value: 4 rows.
  REQUIRE(lines.size() == 1 + 2 * 4);
  REQUIRE(lines[1].rfind("2,0,,", 0) == 0);
  REQUIRE(lines.back().rfind("8,1,", 0) == 0);
}

TEST_CASE("logging off: Loggers<> and config.logger=false write nothing", "[trainer][logging]") {
  const auto root = std::filesystem::temp_directory_path() / "kiln_nolog_test";
  std::filesystem::remove_all(root);
  Linear m;
  auto data = linear_data(2, 4);
  kiln::Trainer<Linear> t({.max_epochs = 1, .default_root_dir = root, .enable_progress_bar = false, .logger = false});
  t.fit(m, data);
  REQUIRE_FALSE(std::filesystem::exists(root / "lightning_logs"));
}

TEST_CASE("CsvLogger writes at every log interval, not only at epoch end", "[regression]") {
  const auto root = std::filesystem::temp_directory_path() / "kiln_flush_test";
  std::filesystem::remove_all(root);
  auto data = batches(150, 2);
  Reg m;
  kiln::Trainer<Reg, kiln::Callbacks<CsvProbe>> t(
      {.max_epochs = 1, .log_every_n_steps = 1, .default_root_dir = root, .enable_progress_bar = false},
      CsvProbe{root / "lightning_logs" / "version_0" / "metrics.csv"});
  t.fit(m, data);
  // At batch 140's end its row is not yet published: the header and the rows of batches 0-139.
  REQUIRE(t.callback<CsvProbe>().lines_seen == 141);
}
