// SPDX-License-Identifier: Apache-2.0
// tests/unit/cli/lightning_cli_test.cpp — LightningCLI as a program: the run it starts, the config it saves, that
// config repeating the run exactly, and bad input stopping it before anything runs (cli_probe_main.cpp).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include "../shell.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

struct Result {
  std::string out;
  std::string err;
  int status;
};

/// Runs the probe with `args` (shell words); returns its stdout, stderr and exit status.
Result probe(const std::string& args) {
  // A file of this process's own: ctest runs the test cases as parallel processes.
  static int calls = 0;
  const auto err_file =
      fs::temp_directory_path() / ("kiln_cli_probe_stderr_" + std::to_string(::getpid()) + "_" + std::to_string(++calls) + ".txt");
  auto [out, status] =
      kiln_test::run_shell(std::string("'") + KILN_CLI_PROBE_EXE + "' " + args + " 2>'" + err_file.string() + "'");
  std::ifstream in(err_file);
  std::stringstream err;
  err << in.rdbuf();
  fs::remove(err_file);
  return {out, err.str(), status};
}

/// The probe's "log_dir: <path>" line.
fs::path log_dir_of(const std::string& out) {
  const auto at = out.find("log_dir: ");
  REQUIRE(at != std::string::npos);
  return out.substr(at + 9, out.find(" rank: ", at) - at - 9);
}

/// The probe's first line: every final parameter in hexadecimal.
std::string parameters_of(const std::string& out) { return out.substr(0, out.find('\n')); }

/// The parameters line printed by rank `rank` (each rank prints its parameters, then its log_dir line).
std::string parameters_of_rank(const std::string& out, int rank) {
  const auto at = out.find(" rank: " + std::to_string(rank) + "\n");
  if (at == std::string::npos) return "(rank " + std::to_string(rank) + " printed nothing)";
  const auto line_start = out.rfind('\n', out.rfind("log_dir: ", at));
  const auto params_start = line_start == 0 ? 0 : out.rfind('\n', line_start - 1) + 1;
  return out.substr(params_start, line_start - params_start);
}

fs::path fresh_root(const std::string& name) {
  const auto root = fs::temp_directory_path() / "kiln_cli_test" / name;
  fs::remove_all(root);
  return root;
}

}  // namespace

TEST_CASE("LightningCLI fit: saves the resolved config, and that config repeats the run exactly", "[cli]") {
  const auto root = fresh_root("repeat");
  const auto first = probe("fit --seed_everything true --trainer.max_epochs 1 --model.hidden 6 --data.batches 3 "
                           "--trainer.default_root_dir '" + root.string() + "'");
  REQUIRE(first.status == 0);
  CHECK(first.err.empty());
  const auto dir = log_dir_of(first.out);
  CHECK(dir == root / "lightning_logs" / "version_0");
  const auto saved = YAML::LoadFile((dir / "config.yaml").string());
  // seed_everything: true drew a seed, and the saved config records it.
  CHECK(saved["seed_everything"].IsScalar());
  CHECK_NOTHROW(saved["seed_everything"].as<std::uint64_t>());
  CHECK(saved["trainer"]["max_epochs"].as<int>() == 1);
  CHECK(saved["trainer"]["precision"].as<std::string>() == "32-true");
  CHECK(saved["trainer"]["strategy"].as<std::string>() == "single_device");
  CHECK(saved["model"]["hidden"].as<int>() == 6);
  CHECK(saved["data"]["batches"].as<int>() == 3);
  // The model's one declaration of its hyper-parameters also fed hparams.yaml.
  const auto hparams = YAML::LoadFile((dir / "hparams.yaml").string());
  CHECK(hparams["hidden"].as<int>() == 6);
  CHECK(hparams["activation"].as<std::string>() == "relu");

  const auto again = probe("fit --config '" + (dir / "config.yaml").string() + "'");
  REQUIRE(again.status == 0);
  CHECK(log_dir_of(again.out) == root / "lightning_logs" / "version_1");
  CHECK(parameters_of(again.out) == parameters_of(first.out));
  CHECK(parameters_of(first.out).size() > 6 * 4 * 5);  // the parameters were printed at all

  // Another seed gives other parameters: the equality above is the config's doing.
  const auto other = probe("fit --config '" + (dir / "config.yaml").string() + "' --seed_everything 12345");
  REQUIRE(other.status == 0);
  CHECK(parameters_of(other.out) != parameters_of(first.out));
}

TEST_CASE("LightningCLI: the precision is chosen at run time among the compiled-in ones", "[cli]") {
  const auto root = fresh_root("precision");
  const auto run = probe("fit --trainer.precision bf16-mixed --trainer.max_epochs 1 --seed_everything 3 "
                         "--trainer.default_root_dir '" + root.string() + "'");
  REQUIRE(run.status == 0);
  const auto saved = YAML::LoadFile((log_dir_of(run.out) / "config.yaml").string());
  CHECK(saved["trainer"]["precision"].as<std::string>() == "bf16-mixed");
  const auto fp32 = probe("fit --trainer.max_epochs 1 --seed_everything 3 --trainer.default_root_dir '" + root.string() + "'");
  REQUIRE(fp32.status == 0);
  CHECK(parameters_of(run.out) != parameters_of(fp32.out));  // bf16 autocast changed the arithmetic
}

TEST_CASE("LightningCLI: --print_config and --help print and run nothing", "[cli]") {
  const auto root = fresh_root("print");
  const auto printed = probe("fit --model.lr 0.5 --print_config --trainer.default_root_dir '" + root.string() + "'");
  REQUIRE(printed.status == 0);
  const auto yaml = YAML::Load(printed.out);
  CHECK(yaml["model"]["lr"].as<double>() == 0.5);
  CHECK(yaml["trainer"]["max_epochs"].as<int>() == 2);  // the program's own default
  CHECK(yaml["data"]["batch_size"].as<int>() == 8);
  CHECK_FALSE(fs::exists(root));
  const auto help = probe("fit --help");
  REQUIRE(help.status == 0);
  CHECK_THAT(help.out, Contains("--model.lr float") && Contains("SGD's learning rate (default: 0.05)"));
  CHECK_THAT(help.out, Contains("--trainer.precision 32-true | bf16-mixed"));
  CHECK_THAT(help.out, Contains("--data.batch_size int"));
}

TEST_CASE("LightningCLI: bad input prints one sentence, exits with 2 and runs nothing", "[cli]") {
  const auto root = fresh_root("bad");
  const std::string at = " --trainer.default_root_dir '" + root.string() + "'";
  auto check = [&](const std::string& args, const std::string& sentence) {
    INFO(args);
    const auto r = probe(args + at);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err == sentence + "\n");
    CHECK_FALSE(fs::exists(root));
  };
  check("fit --trainer.precision 16-mixed",
        "kiln: command line: --trainer.precision takes one of the choices compiled into this program (32-true, bf16-mixed), not \"16-mixed\"");
  check("fit --trainer.strategy fsdp",
        "kiln: command line: --trainer.strategy takes one of the choices compiled into this program (single_device, ddp), not \"fsdp\"");
  check("fit --trainer.max_epochs ten", "kiln: command line: --trainer.max_epochs takes int, not \"ten\"");
  check("fit --model.hiden 3", "kiln: command line: unknown option --model.hiden; did you mean --model.hidden?");
  check("fit --trainer.accumulate_grad_batches 0", "kiln: trainer.accumulate_grad_batches must be >= 1 (got 0)");
  check("fit --config /nonexistent/run.yaml", "kiln: config file /nonexistent/run.yaml does not exist");
  check("test", "kiln: the module has no test_step, so the test subcommand cannot run");
}

#ifdef KILN_HAS_GLOO
TEST_CASE("LightningCLI: --trainer.strategy ddp --trainer.devices 2 trains two ranks, and its config repeats them", "[cli][ddp]") {
  const auto root = fresh_root("ddp");
  const auto first = probe("fit --trainer.strategy ddp --trainer.devices 2 --trainer.max_epochs 1 --seed_everything true "
                           "--trainer.default_root_dir '" + root.string() + "'");
  REQUIRE(first.status == 0);
  const auto rank0 = parameters_of_rank(first.out, 0);
  CHECK(rank0.size() > 6 * 4 * 5);
  CHECK(parameters_of_rank(first.out, 1) == rank0);  // DDP keeps the ranks' parameters equal
  const auto dir = root / "lightning_logs" / "version_0";
  const auto saved = YAML::LoadFile((dir / "config.yaml").string());
  CHECK(saved["trainer"]["strategy"].as<std::string>() == "ddp");
  CHECK_FALSE(fs::exists(root / "lightning_logs" / "version_1"));  // one config, from rank 0
  // Both ranks used the seed that was saved: the config repeats the two-rank run.
  const auto again = probe("fit --config '" + (dir / "config.yaml").string() + "'");
  REQUIRE(again.status == 0);
  CHECK(parameters_of_rank(again.out, 0) == rank0);
}
#endif
