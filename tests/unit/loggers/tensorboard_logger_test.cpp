// SPDX-License-Identifier: Apache-2.0
// tests/unit/loggers/tensorboard_logger_test.cpp — TensorBoardLogger's events file, read back with the test's own TFRecord reader and protoc.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <kiln/loggers/csv_logger.hpp>
#include <kiln/loggers/tensorboard_logger.hpp>
#include <kiln/trainer.hpp>

#include "crc32c_reference.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using crc32c_reference::masked_bitwise;

std::uint64_t little_endian(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) v |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  return v;
}

// Splits a TFRecord file into its records: uint64 length, masked CRC of the length, data,
// masked CRC of the data. Both CRCs of every record are checked.
std::vector<std::string> read_records(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string_view all(bytes);
  std::vector<std::string> records;
  for (std::size_t pos = 0; pos < all.size();) {
    REQUIRE(all.size() - pos >= 16);
    const auto length = all.substr(pos, 8);
    const std::size_t n = little_endian(length);
    REQUIRE(little_endian(all.substr(pos + 8, 4)) == masked_bitwise(length));
    REQUIRE(all.size() - pos - 16 >= n);
    const auto data = all.substr(pos + 12, n);
    REQUIRE(little_endian(all.substr(pos + 12 + n, 4)) == masked_bitwise(data));
    records.emplace_back(data);
    pos += 16 + n;
  }
  return records;
}

// Debian's protoc, schema-less: `protoc --decode_raw` prints field numbers, varints in decimal,
// fixed64/fixed32 as 0x-hex bit patterns, and length-delimited fields as nested blocks when
// they parse as a message, else as quoted strings.
std::string decode_raw(const std::string& record) {
  const auto file = fs::temp_directory_path() / fmt::format("kiln_tb_record_{}.bin", getpid());
  std::ofstream(file, std::ios::binary).write(record.data(), static_cast<std::streamsize>(record.size()));
  std::FILE* pipe = popen(fmt::format("/usr/bin/protoc --decode_raw < '{}' 2>&1", file.string()).c_str(), "r");
  REQUIRE(pipe);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) text.append(buf, n);
  INFO(text);
  REQUIRE(pclose(pipe) == 0);
  fs::remove(file);
  return text;
}

// Event.wall_time (field 1, a double) is the first line of every record.
double wall_time_of(const std::string& text) {
  REQUIRE(text.rfind("1: 0x", 0) == 0);
  return std::bit_cast<double>(std::stoull(text.substr(5, 16), nullptr, 16));
}

// How decode_raw prints Summary.Value {tag = 1, simple_value = 2} nested in Event.summary.
std::string scalar_block(std::string_view tag, double value) {
  return fmt::format("  1 {{\n    1: \"{}\"\n    2: 0x{:08x}\n  }}\n", tag, std::bit_cast<std::uint32_t>(static_cast<float>(value)));
}

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<fs::path> find_files(const fs::path& root, std::string_view prefix) {
  std::vector<fs::path> out;
  if (!fs::exists(root)) return out;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  return out;
}

}  // namespace

TEST_CASE("TensorBoardLogger writes scalars and hparams as TFRecord events that protoc decodes",
          "[loggers][tensorboard]") {
  const auto root = fs::temp_directory_path() / "kiln_tb_events_test";
  fs::remove_all(root);
  const double before = now();
  kiln::TensorBoardLogger logger({.save_dir = root});
  logger.log_hyperparams({{"lr", 0.1}, {"batch_size", std::int64_t{32}}, {"nesterov", true}, {"optimizer", std::string("sgd")}});
  logger.log_hyperparams({{"lr", 0.1}, {"batch_size", std::int64_t{32}}, {"nesterov", true}, {"optimizer", std::string("sgd")}});
  REQUIRE_FALSE(fs::exists(root));  // hparams wait for the first metrics (or save())
  for (std::int64_t step = 0; step < 3; ++step) {
    logger.log_metrics({{"train/loss", 1.0 / double(step + 1)}, {"val/acc", 0.3 * double(step)}, {"epoch", 0.0}}, step);
    // Each log interval is on disk at once: a run killed now loses nothing logged.
    const auto written = find_files(root, "events.out.tfevents.");
    REQUIRE(written.size() == 1);
    REQUIRE(read_records(written[0]).size() == std::size_t(1 + 2 + step + 1));
  }
  logger.save();  // nothing pending: writes nothing more
  const double after = now();

  const auto dir = root / "lightning_logs" / "version_0";
  REQUIRE(logger.log_dir() == dir);
  const auto files = find_files(root, "");
  REQUIRE(files.size() == 1);
  REQUIRE(files[0].parent_path() == dir);
  // events.out.tfevents.<unix-seconds>.<hostname>.<pid>.<counter>
  const auto name = files[0].filename().string();
  const std::string_view prefix = "events.out.tfevents.";
  REQUIRE(name.rfind(prefix, 0) == 0);
  const auto seconds = std::stoll(name.substr(prefix.size()));
  REQUIRE(seconds >= static_cast<std::int64_t>(before));
  REQUIRE(seconds <= static_cast<std::int64_t>(after));
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  REQUIRE_THAT(name, Contains(fmt::format(".{}.{}.", host, getpid())));

  const auto records = read_records(files[0]);
  REQUIRE(records.size() == 1 + 2 + 3);  // file_version, hparams once (the repeat is skipped), 3 steps
  std::vector<std::string> text;
  for (auto& r : records) {
    text.push_back(decode_raw(r));
    INFO(text.back());
    const double t = wall_time_of(text.back());
    REQUIRE(t >= before);
    REQUIRE(t <= after);
  }

  INFO(text[0]);
  REQUIRE_THAT(text[0], Contains("\n3: \"brain.Event:2\"\n"));

  // No Experiment record: TensorBoard then takes every scalar tag as a metric column.
  for (auto& t : text) REQUIRE_THAT(t, !Contains("_hparams_/experiment"));
  const char* hparams_tags[] = {"_hparams_/session_start_info", "_hparams_/session_end_info"};
  for (int i = 0; i < 2; ++i) {
    INFO(text[1 + i]);
    REQUIRE_THAT(text[1 + i], Contains(fmt::format("    1: \"{}\"\n", hparams_tags[i])));
    REQUIRE_THAT(text[1 + i], Contains("1: \"hparams\"\n"));
  }
  // SessionStartInfo.hparams map entries {key = 1, value = 2 {number_value = 2 | string_value = 3 | bool_value = 4}}.
  REQUIRE_THAT(text[1], Contains(fmt::format("1: \"lr\"\n              2 {{\n                2: 0x{:016x}\n", std::bit_cast<std::uint64_t>(0.1))));
  REQUIRE_THAT(text[1], Contains(fmt::format("1: \"batch_size\"\n              2 {{\n                2: 0x{:016x}\n", std::bit_cast<std::uint64_t>(32.0))));
  REQUIRE_THAT(text[1], Contains("1: \"nesterov\"\n              2 {\n                4: 1\n"));
  REQUIRE_THAT(text[1], Contains("1: \"optimizer\"\n              2 {\n                3: \"sgd\"\n"));
  // SessionEndInfo.status = STATUS_SUCCESS (1), inside HParamsPluginData.session_end_info = 4.
  REQUIRE_THAT(text[2], Contains("          4 {\n            1: 1\n          }\n"));

  for (std::int64_t step = 0; step < 3; ++step) {
    const auto& t = text[3 + step];
    INFO(t);
    REQUIRE_THAT(t, Contains(fmt::format("\n2: {}\n5 {{\n", step)));
    REQUIRE_THAT(t, Contains(scalar_block("train/loss", 1.0 / double(step + 1))));
    REQUIRE_THAT(t, Contains(scalar_block("val/acc", 0.3 * double(step))));
    // "epoch" happens to parse as a message (0x65 = field 12, fixed32), so protoc shows no
    // string for it; the record's bytes hold the tag field itself: 0x0A, length 5, "epoch".
    REQUIRE_THAT(records[3 + step], Contains(std::string("\x0A\x05" "epoch", 7)));
  }

  SECTION("the next logger in the same folder takes the next version; an explicit one is kept") {
    kiln::TensorBoardLogger next({.save_dir = root});
    REQUIRE(next.log_dir() == root / "lightning_logs" / "version_1");
    kiln::TensorBoardLogger fixed({.save_dir = root, .name = "tb", .version = 7});
    REQUIRE(fixed.log_dir() == root / "tb" / "version_7");
  }
}

TEST_CASE("TensorBoardLogger writes what it holds when fit fails (event::exception)", "[loggers][tensorboard]") {
  const auto root = fs::temp_directory_path() / "kiln_tb_exception_test";
  fs::remove_all(root);
  kiln::TensorBoardLogger logger({.save_dir = root});
  logger.log_hyperparams({{"lr", 0.5}});  // buffered: metrics are written at once, hparams are not
  REQUIRE(find_files(root, "events.out.tfevents.").empty());
  int trainer = 0;  // the handler does not look at the trainer
  const std::runtime_error error("boom");
  logger.on(kiln::event::exception{error}, trainer);
  const auto files = find_files(root, "events.out.tfevents.");
  REQUIRE(files.size() == 1);
  const auto records = read_records(files[0]);
  REQUIRE(records.size() == 3);  // file_version, session start, session end
  REQUIRE_THAT(decode_raw(records[1]), Contains("1: \"lr\"\n"));
}

TEST_CASE("TensorBoardLogger names the path it cannot write", "[loggers][tensorboard]") {
  const auto root = fs::temp_directory_path() / "kiln_tb_unwritable_test";
  fs::remove_all(root);
  fs::create_directories(root);
  std::ofstream(root / "plain_file") << "not a directory";
  const auto bad = root / "plain_file" / "logs";
  kiln::TensorBoardLogger logger({.save_dir = bad});
  std::string message;
  try {
    logger.log_metrics({{"loss", 1.0}}, 0);  // written at once, so it is this call that fails
  } catch (const kiln::Error& e) {
    message = e.what();
  }
  REQUIRE_THAT(message, Contains(bad.string()));
}

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Regressor : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Regressor() {
    torch::manual_seed(3);
    fc = register_module("fc", torch::nn::Linear(2, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("loss", loss);
    return loss;
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
};

}  // namespace

TEST_CASE("Trainer with CsvLogger and TensorBoardLogger logs the same steps into one version folder",
          "[loggers][tensorboard][trainer]") {
  const auto root = fs::temp_directory_path() / "kiln_tb_trainer_test";
  fs::remove_all(root);
  torch::manual_seed(0);
  std::vector<Batch> data;
  for (int i = 0; i < 4; ++i) {
    auto x = torch::randn({8, 2});
    data.emplace_back(x, x.sum(1, true) * 0.5);
  }
  Regressor m;
  kiln::Trainer<Regressor, kiln::Loggers<kiln::CsvLogger, kiln::TensorBoardLogger>> t(
      {.max_epochs = 2, .log_every_n_steps = 1, .default_root_dir = root, .enable_progress_bar = false});
  t.fit(m, data);

  const auto csv = find_files(root, "metrics.csv");
  const auto events = find_files(root, "events.out.tfevents.");
  REQUIRE(csv.size() == 1);
  REQUIRE(events.size() == 1);
  REQUIRE(csv[0].parent_path() == events[0].parent_path());
  REQUIRE(t.logger<kiln::TensorBoardLogger>().log_dir() == events[0].parent_path());

  // metrics.csv's loss column, by step.
  std::ifstream in(csv[0]);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  for (std::stringstream ss(line); std::getline(ss, line, ',');) header.push_back(line);
  const auto loss_col = std::find(header.begin(), header.end(), "loss") - header.begin();
  REQUIRE(loss_col < std::ssize(header));
  std::map<std::int64_t, double> csv_loss;
  for (std::string row; std::getline(in, row);) {
    std::vector<std::string> cells;
    for (std::stringstream ss(row); std::getline(ss, line, ',');) cells.push_back(line);
    if (loss_col < std::ssize(cells) && !cells[loss_col].empty()) csv_loss[std::stoll(cells[0])] = std::stod(cells[loss_col]);
  }
  REQUIRE(csv_loss.size() == 8);  // 4 batches x 2 epochs, every step logged

  // The events file: file_version, then one Event per logged step holding the same float values.
  const auto records = read_records(events[0]);
  REQUIRE(records.size() == 1 + 8);
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto text = decode_raw(records[i]);
    INFO(text);
    const auto step = static_cast<std::int64_t>(i);
    REQUIRE_THAT(text, Contains(fmt::format("\n2: {}\n", step)));
    REQUIRE(csv_loss.count(step) == 1);
    REQUIRE_THAT(text, Contains(scalar_block("loss", csv_loss[step])));
    REQUIRE_THAT(records[i], Contains(std::string("\x0A\x05" "epoch", 7)));
  }
}

namespace {
// A packed repeated double field as protobuf writes it: key, length, little-endian doubles.
std::string packed_doubles(std::uint8_t field, std::initializer_list<double> values) {
  std::string out{static_cast<char>((field << 3) | 2), static_cast<char>(8 * values.size())};
  for (double v : values)
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((std::bit_cast<std::uint64_t>(v) >> (8 * i)) & 0xFF));
  return out;
}
}  // namespace

TEST_CASE("TensorBoardLogger writes histograms and text as records of their own", "[loggers][tensorboard]") {
  const auto root = fs::temp_directory_path() / "kiln_tb_histogram_test";
  fs::remove_all(root);
  kiln::TensorBoardLogger logger({.save_dir = root});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  logger.log_histogram("w", torch::tensor({3.0, 1.0, 2.0, nan, 2.0, 3.0, 3.0}), 5, 3);  // NaN left out
  logger.log_histogram("same", torch::full({4}, 0.5f), 6);                           // one bucket
  logger.log_histogram("empty", torch::zeros({0}), 7);
  logger.log_text("notes", "hello **kiln**", 8);
  REQUIRE_THROWS_WITH(logger.log_histogram("w", torch::ones({2}), 9, 0), Contains("bins must be >= 1 (got 0)"));

  const auto files = find_files(root, "events.out.tfevents.");
  REQUIRE(files.size() == 1);  // each call is on disk at once
  const auto records = read_records(files[0]);
  REQUIRE(records.size() == 1 + 4);
  // Buckets [1, 5/3], (5/3, 7/3], (7/3, 3] hold 1, 2 and 3 values (numpy.histogram's counts).
  REQUIRE_THAT(records[1], Contains(packed_doubles(6, {1 + 2.0 / 3, 1 + 4.0 / 3, 3.0})));
  REQUIRE_THAT(records[1], Contains(packed_doubles(7, {1.0, 2.0, 3.0})));
  const auto w = decode_raw(records[1]);
  INFO(w);
  REQUIRE_THAT(w, Contains("\n2: 5\n"));  // the step
  REQUIRE_THAT(w, Contains(fmt::format("1: 0x{:016x}\n", std::bit_cast<std::uint64_t>(1.0))));   // min
  REQUIRE_THAT(w, Contains(fmt::format("2: 0x{:016x}\n", std::bit_cast<std::uint64_t>(3.0))));   // max
  REQUIRE_THAT(w, Contains(fmt::format("3: 0x{:016x}\n", std::bit_cast<std::uint64_t>(6.0))));   // num
  REQUIRE_THAT(w, Contains(fmt::format("4: 0x{:016x}\n", std::bit_cast<std::uint64_t>(14.0))));  // sum
  REQUIRE_THAT(w, Contains(fmt::format("5: 0x{:016x}\n", std::bit_cast<std::uint64_t>(36.0))));  // sum of squares
  REQUIRE_THAT(records[2], Contains(packed_doubles(6, {0.5})) && Contains(packed_doubles(7, {4.0})));
  const auto empty = decode_raw(records[3]);
  INFO(empty);
  REQUIRE_THAT(empty, Contains(fmt::format("3: 0x{:016x}\n", std::bit_cast<std::uint64_t>(0.0))));
  REQUIRE_THAT(empty, !Contains("6: ") && !Contains("7: "));
  const auto text = decode_raw(records[4]);
  INFO(text);
  REQUIRE_THAT(text, Contains("1: \"notes\"") && Contains("8: \"hello **kiln**\"") && Contains("1: \"text\""));
}
