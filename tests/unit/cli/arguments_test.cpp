// SPDX-License-Identifier: Apache-2.0
// tests/unit/cli/arguments_test.cpp — kiln/cli's values, schema and command line: what each flag and YAML key sets, and
// the one-sentence error for each kind of bad input.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <kiln/cli/arguments.hpp>

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

struct ArgsNetHparams {
  double lr = 0.1;
  std::int64_t hidden = 32;
  std::string activation = "relu";
  std::optional<double> dropout;
  void hyperparameters(auto& field) {
    field("lr", lr, "learning rate");
    field("hidden", hidden, "hidden units");
    field("activation", activation, "activation function");
    field("dropout", dropout, "dropout probability, or none");
  }
};

/// A schema as LightningCLI builds it: trainer.*, a policy choice, model.*.
struct ArgsRun {
  kiln::TrainerConfig config;
  std::string precision = "32-true";
  ArgsNetHparams model;
  kiln::cli::Schema schema;
  ArgsRun() {
    schema.add_trainer(config);
    schema.add_choice("trainer.precision", precision, {"32-true", "bf16-mixed"}, "numeric precision");
    schema.add_hyperparameters(model, "model");
  }
  kiln::cli::Invocation parse(std::vector<std::string> args) {
    args.insert(args.begin(), "program");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    return kiln::cli::parse_arguments(static_cast<int>(argv.size()), argv.data(), schema);
  }
};

fs::path write_file(const std::string& name, const std::string& text) {
  const auto dir = fs::temp_directory_path() / "kiln_cli_arguments_test";
  fs::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path;
}

std::string error_of(ArgsRun& run, const std::vector<std::string>& args) {
  try {
    run.parse(args);
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("cli values: each option type reads YAML text and writes it back", "[cli]") {
  using kiln::cli::ValueCodec;
  CHECK(ValueCodec<std::int64_t>::read(YAML::Load("-3")) == -3);
  CHECK_THROWS_AS(ValueCodec<std::int64_t>::read(YAML::Load("3.5")), kiln::cli::BadValue);
  CHECK_THROWS_AS(ValueCodec<std::int64_t>::read(YAML::Load("12abc")), kiln::cli::BadValue);
  CHECK_THROWS_AS(ValueCodec<std::uint64_t>::read(YAML::Load("-1")), kiln::cli::BadValue);
  CHECK(ValueCodec<double>::read(YAML::Load("1e-3")) == 1e-3);
  CHECK(ValueCodec<bool>::read(YAML::Load("false")) == false);
  CHECK_THROWS_AS(ValueCodec<bool>::read(YAML::Load("maybe")), kiln::cli::BadValue);
  CHECK(ValueCodec<std::optional<double>>::read(YAML::Load("null")) == std::nullopt);
  CHECK(ValueCodec<std::optional<double>>::read(YAML::Load("0.5")) == 0.5);
  // A batch limit is a count when written as an integer, a fraction otherwise (Lightning's rule).
  const auto count = ValueCodec<kiln::BatchLimit>::read(YAML::Load("10"));
  const auto fraction = ValueCodec<kiln::BatchLimit>::read(YAML::Load("0.25"));
  CHECK((!count.is_fraction && count.value == 10));
  CHECK((fraction.is_fraction && fraction.value == 0.25));
  CHECK(ValueCodec<kiln::BatchLimit>::write(kiln::BatchLimit(1.0)).Scalar() == "1.0");
  CHECK(ValueCodec<kiln::BatchLimit>::write(kiln::BatchLimit(7)).Scalar() == "7");
  CHECK(ValueCodec<kiln::GradClipAlgorithm>::read(YAML::Load("value")) == kiln::GradClipAlgorithm::value);
}

TEST_CASE("cli schema: every TrainerConfig field and every declared hyper-parameter is an option", "[cli]") {
  ArgsRun run;
  std::size_t fields = 0;
#define KILN_TEST_COUNT(type, name, init, description) \
  ++fields;                                            \
  CHECK(run.schema.find("trainer." #name) != nullptr);
  KILN_TRAINER_CONFIG_FIELDS(KILN_TEST_COUNT)
#undef KILN_TEST_COUNT
  CHECK(run.schema.options().size() == fields + 1 + 4);  // + precision + the model's four
  const auto* lr = run.schema.find("model.lr");
  REQUIRE(lr);
  CHECK(lr->type == "float");
  CHECK(lr->default_text == "0.1");
  CHECK(lr->description == "learning rate");
  CHECK(run.schema.find("model.dropout")->type == "float | null");
  CHECK(run.schema.find("trainer.max_epochs")->description == "epochs to train; -1: 1000, or unlimited when max_steps is set");
}

TEST_CASE("cli: flags and config files apply in the order given, later ones winning", "[cli]") {
  const auto file = write_file("order.yaml", "trainer:\n  max_epochs: 7\n  limit_val_batches: 0.5\nmodel:\n  lr: 0.01\n");
  SECTION("a flag after the file overrides it") {
    ArgsRun run;
    const auto call = run.parse({"fit", "--config", file.string(), "--trainer.max_epochs", "2"});
    CHECK(call.subcommand == "fit");
    CHECK(run.config.max_epochs == 2);
    CHECK(run.model.lr == 0.01);
    CHECK(run.config.limit_val_batches.is_fraction);
    CHECK(run.config.limit_val_batches.value == 0.5);
  }
  SECTION("a flag before the file is overridden by it") {
    ArgsRun run;
    run.parse({"test", "--trainer.max_epochs=2", "--config", file.string()});
    CHECK(run.config.max_epochs == 7);
  }
  SECTION("a second file overrides the first; -1 and null are values") {
    const auto second = write_file("second.yaml", "model:\n  lr: 0.5\n  dropout: 0.2\n");
    ArgsRun run;
    run.parse({"validate", "--config", file.string(), "--config", second.string(), "--trainer.max_steps", "-1",
               "--trainer.gradient_clip_val", "null", "--model.activation", "tanh"});
    CHECK(run.model.lr == 0.5);
    CHECK(run.model.dropout == 0.2);
    CHECK(run.model.activation == "tanh");
    CHECK(run.config.max_steps == -1);
    CHECK_FALSE(run.config.gradient_clip_val);
  }
  SECTION("the policy choice takes a listed name") {
    ArgsRun run;
    run.parse({"fit", "--trainer.precision", "bf16-mixed"});
    CHECK(run.precision == "bf16-mixed");
  }
}

TEST_CASE("cli: the printed config reads back to the same values", "[cli]") {
  ArgsRun first;
  const auto call = first.parse({"fit", "--print_config", "--trainer.max_epochs", "3", "--model.dropout", "0.1",
                                 "--trainer.limit_train_batches", "1.0", "--trainer.default_root_dir", "runs/a b"});
  CHECK(call.print_config);
  YAML::Emitter out;
  out << first.schema.to_yaml();
  const auto file = write_file("printed.yaml", out.c_str());
  ArgsRun second;
  second.parse({"fit", "--config", file.string()});
  YAML::Emitter again;
  again << second.schema.to_yaml();
  CHECK(std::string(out.c_str()) == again.c_str());
  CHECK(second.config.max_epochs == 3);
  CHECK(second.config.limit_train_batches.is_all());  // 1.0 stays a fraction, not one batch
  CHECK(second.config.default_root_dir == "runs/a b");
  CHECK(second.model.dropout == 0.1);
}

TEST_CASE("cli: --help lists every key with its type, default and description", "[cli]") {
  ArgsRun run;
  const auto call = run.parse({"fit", "--help"});
  CHECK(call.subcommand.empty());
  for (const auto& o : run.schema.options()) {
    INFO(o.key);
    CHECK_THAT(call.help, Contains("--" + o.key + " " + o.type));
    CHECK_THAT(call.help, Contains(o.description + " (default: " + o.default_text + ")"));
  }
  CHECK_THAT(call.help, Contains("--config FILE") && Contains("--print_config"));
}

TEST_CASE("cli: bad input is one sentence naming the key, and nothing is applied", "[cli]") {
  ArgsRun run;
  SECTION("an unknown flag, with the closest key") {
    CHECK(error_of(run, {"fit", "--trainer.max_epoch", "3"}) ==
          "kiln: command line: unknown option --trainer.max_epoch; did you mean --trainer.max_epochs?");
    CHECK(error_of(run, {"fit", "--model.learning_rate=3"}) == "kiln: command line: unknown option --model.learning_rate; --help lists them");
    CHECK(run.config.max_epochs == -1);
  }
  SECTION("an unknown YAML key, with its line") {
    const auto file = write_file("typo.yaml", "trainer:\n  max_epochs: 3\n  max_epoch: 4\n");
    CHECK(error_of(run, {"fit", "--config", file.string()}) ==
          "kiln: " + file.string() + ":3:3: unknown key trainer.max_epoch; did you mean trainer.max_epochs?");
  }
  SECTION("a value of the wrong type names the key, the value and the type") {
    CHECK(error_of(run, {"fit", "--trainer.max_epochs", "ten"}) == "kiln: command line: --trainer.max_epochs takes int, not \"ten\"");
    CHECK(error_of(run, {"fit", "--trainer.max_epochs", "[1, 2]"}) == "kiln: command line: --trainer.max_epochs takes int, not a list");
    CHECK(error_of(run, {"fit", "--trainer.seed", "-3"}) == "kiln: command line: --trainer.seed takes int >= 0 | null, not \"-3\"");
    const auto file = write_file("list.yaml", "model:\n  lr: [0.1, 0.2]\n");
    CHECK(error_of(run, {"fit", "--config", file.string()}) == "kiln: " + file.string() + ":2:3: model.lr takes float, not a list");
  }
  SECTION("a group given a value") {
    const auto file = write_file("group.yaml", "trainer: 5\n");
    CHECK(error_of(run, {"fit", "--config", file.string()}) ==
          "kiln: " + file.string() + ":1:1: trainer is a group of options (trainer.<name>: value), not a value");
  }
  SECTION("malformed YAML: file, line and column") {
    const auto file = write_file("malformed.yaml", "trainer:\n  max_epochs: 3\n   bad: : x\n");
    CHECK_THAT(error_of(run, {"fit", "--config", file.string()}), Contains("kiln: " + file.string() + ":3:7: malformed YAML: "));
  }
  SECTION("a policy that is not compiled in lists the ones that are") {
    CHECK(error_of(run, {"fit", "--trainer.precision", "16-mixed"}) ==
          "kiln: command line: --trainer.precision takes one of the choices compiled into this program (32-true, bf16-mixed), "
          "not \"16-mixed\"");
  }
  SECTION("a config file that does not exist or is not a file") {
    const auto missing = fs::temp_directory_path() / "kiln_cli_arguments_test" / "missing.yaml";
    CHECK(error_of(run, {"fit", "--config", missing.string()}) == "kiln: config file " + missing.string() + " does not exist");
    const auto dir = fs::temp_directory_path().string();
    CHECK(error_of(run, {"fit", "--config", dir}) == "kiln: config file " + dir + " is not a regular file");
  }
  SECTION("no subcommand, or a stray argument") {
    CHECK(error_of(run, {}) == "kiln: command line: give a subcommand (fit, validate, test or predict), then options; --help lists them");
    CHECK(error_of(run, {"train", "--trainer.max_epochs", "3"}) ==
          "kiln: command line: \"train\" is no subcommand; start with fit, validate, test or predict");
    CHECK(error_of(run, {"--trainer.max_epochs", "3"}) ==
          "kiln: command line: \"--trainer.max_epochs\" is no subcommand; start with fit, validate, test or predict");
    CHECK(error_of(run, {"fit", "stray"}) == "kiln: command line: unexpected argument \"stray\"; options are --<key> <value>");
  }
}

TEST_CASE("Hyperparameters: one declaration gives the loggers' and checkpoints' HParams", "[cli][hparams]") {
  ArgsNetHparams h;
  h.lr = 0.25;
  const auto hp = kiln::to_hparams(h);
  CHECK(hp.size() == 3);  // an unset optional is left out
  CHECK(std::get<double>(hp.at("lr")) == 0.25);
  CHECK(std::get<std::int64_t>(hp.at("hidden")) == 32);
  CHECK(std::get<std::string>(hp.at("activation")) == "relu");
  h.dropout = 0.5;
  CHECK(std::get<double>(kiln::to_hparams(h).at("dropout")) == 0.5);
  // What the loggers and checkpoints read from a module whose hparams() returns the struct.
  struct Module {
    ArgsNetHparams hp;
    const ArgsNetHparams& hparams() const { return hp; }
  };
  static_assert(kiln::detail::has_hparams<Module>);
  // A bool: Catch2 would print the maps on failure, and with LibTorch's logging headers in the
  // translation unit that finds an operator<< for pairs but none for the variant.
  const bool same = kiln::detail::hparams_of(Module{h}) == kiln::to_hparams(h);
  CHECK(same);
}
