// SPDX-License-Identifier: Apache-2.0
// kiln/cli/lightning_cli.hpp — LightningCLI: a program's command line and YAML config, with its policies chosen at run time.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <kiln/cli/arguments.hpp>
#include <kiln/cli/schema.hpp>
#include <kiln/core/config.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/trainer.hpp>
#include <kiln/util/seed.hpp>

namespace kiln {
struct FP32;
struct FP64;
struct BF16Mixed;
struct FP16Mixed;
struct BF16True;
struct FP16True;
struct SingleDevice;
struct DDP;
}  // namespace kiln

namespace kiln::cli {

/// The precisions a program compiles in; `--trainer.precision` picks one (the first by default).
template <class... Tags>
struct Precisions {};
/// The strategies a program compiles in; `--trainer.strategy` picks one (the first by default).
template <class... Tags>
struct Strategies {};

/// A policy tag's name on the command line: Lightning's spelling. A tag of your own needs
/// `static constexpr std::string_view cli_name = "...";` or a specialization of this.
template <class Tag>
struct policy_name {
  static constexpr std::string_view value = [] {
    if constexpr (requires { std::string_view(Tag::cli_name); }) return std::string_view(Tag::cli_name);
    else return std::string_view();
  }();
};
template <> struct policy_name<FP32> { static constexpr std::string_view value = "32-true"; };
template <> struct policy_name<FP64> { static constexpr std::string_view value = "64-true"; };
template <> struct policy_name<BF16Mixed> { static constexpr std::string_view value = "bf16-mixed"; };
template <> struct policy_name<FP16Mixed> { static constexpr std::string_view value = "16-mixed"; };
template <> struct policy_name<BF16True> { static constexpr std::string_view value = "bf16-true"; };
template <> struct policy_name<FP16True> { static constexpr std::string_view value = "16-true"; };
template <> struct policy_name<SingleDevice> { static constexpr std::string_view value = "single_device"; };
template <> struct policy_name<DDP> { static constexpr std::string_view value = "ddp"; };

/// Lightning's seed_everything: true (a random seed, recorded in the saved config so that the
/// run can be repeated), false (no seeding) or a seed.
struct SeedEverything {
  bool enabled = true;
  std::optional<std::uint64_t> seed;
};
template <>
struct ValueCodec<SeedEverything> {
  static std::string name() { return "bool | int >= 0"; }
  static SeedEverything read(const YAML::Node& node) {
    const auto text = detail::scalar_text(node, name());
    if (text == "true" || text == "True") return {true, std::nullopt};
    if (text == "false" || text == "False") return {false, std::nullopt};
    try {
      return {true, ValueCodec<std::uint64_t>::read(node)};
    } catch (const BadValue&) {
      throw BadValue{name()};
    }
  }
  static YAML::Node write(const SeedEverything& s) {
    return s.seed ? YAML::Node(*s.seed) : YAML::Node(s.enabled);
  }
};

/// Writes the resolved config to <log_dir>/config.yaml when the run starts, on global rank 0
/// (Lightning's SaveConfigCallback), so that `--config <that file>` repeats the run. An existing
/// file is an error rather than overwritten, as in Lightning: each logger's version_N folder is
/// new, but without loggers the folder is default_root_dir. Empty (a fast_dev_run): writes nothing.
class SaveConfig {
 public:
  SaveConfig() = default;
  explicit SaveConfig(std::string yaml) : yaml_(std::move(yaml)) {}

  template <class T> void on(const event::fit_start&, T& trainer) { write(trainer); }
  template <class T> void on(const event::validation_start&, T& trainer) { write(trainer); }
  template <class T> void on(const event::test_start&, T& trainer) { write(trainer); }
  template <class T> void on(const event::predict_start&, T& trainer) { write(trainer); }

  /// Where the config was written; empty before.
  const std::filesystem::path& path() const { return path_; }

 private:
  template <class T>
  void write(T& trainer) {
    if (!path_.empty() || yaml_.empty() || !trainer.is_global_zero()) return;
    const auto dir = trainer.log_dir();
    const auto file = dir / "config.yaml";
    std::error_code ec;
    if (std::filesystem::exists(file, ec))
      throw Error(fmt::format("kiln: {} exists already; a run writes its config into a log folder of its own "
                              "(remove the file, or give another --trainer.default_root_dir)", file.string()));
    std::filesystem::create_directories(dir, ec);
    std::ofstream out(file);
    out << yaml_;
    out.close();
    if (!out) throw Error(fmt::format("kiln: cannot write {}", file.string()));
    path_ = file;
  }
  std::string yaml_;
  std::filesystem::path path_;
};

enum class Subcommand { fit, validate, test, predict };

/// seed_everything: true's seed: drawn once and passed to the ranks kiln's launcher starts
/// (which inherit KILN_SEED_EVERYTHING), so every rank and the saved config agree. Under another
/// launcher each process draws its own, as in Lightning: give a seed there.
inline std::uint64_t shared_random_seed() {
  if (const char* text = std::getenv("KILN_SEED_EVERYTHING")) {
    try {
      return ValueCodec<std::uint64_t>::read(YAML::Node(text));
    } catch (const BadValue&) {
      throw Error(fmt::format("kiln: KILN_SEED_EVERYTHING={} is not a seed (an integer >= 0)", text));
    }
  }
  const std::uint64_t seed = std::random_device{}();
  ::setenv("KILN_SEED_EVERYTHING", std::to_string(seed).c_str(), 1);
  return seed;
}

namespace detail {
template <class M>
concept built_from_hparams =
    requires(const M& m) { m.hparams(); } && Hyperparameters<std::remove_cvref_t<decltype(std::declval<const M&>().hparams())>> &&
    std::constructible_from<M, std::remove_cvref_t<decltype(std::declval<const M&>().hparams())>>;

/// The hyper-parameter struct M is built from, or an empty stand-in for a type without one.
struct NoHparams {
  void hyperparameters(auto&) {}
};
template <class M>
struct hparams_type {
  using type = NoHparams;
};
template <built_from_hparams M>
struct hparams_type<M> {
  using type = std::remove_cvref_t<decltype(std::declval<const M&>().hparams())>;
};

template <class T>
struct trainer_policies {
  using type = std::tuple<T>;
};
template <class... Ts>
struct trainer_policies<Precisions<Ts...>> {
  using type = std::tuple<>;
};
template <class... Ts>
struct trainer_policies<Strategies<Ts...>> {
  using type = std::tuple<>;
};
template <class... Cs>
struct trainer_policies<Callbacks<Cs...>> {
  using type = std::tuple<Callbacks<Cs..., SaveConfig>>;
};
template <class T>
inline constexpr bool is_callbacks = false;
template <class... Cs>
inline constexpr bool is_callbacks<Callbacks<Cs...>> = true;

template <template <class...> class List, class... Tags>
constexpr bool all_named(List<Tags...>) {
  return (!policy_name<Tags>::value.empty() && ...);
}

template <class Module, class P, class S, class Policies>
struct trainer_for;
template <class Module, class P, class S, class... Ps>
struct trainer_for<Module, P, S, std::tuple<Ps...>> {
  using type = Trainer<Module, Precision<P>, Strategy<S>, Ps...>;
};
}  // namespace detail

/// One option's value copied into another after parsing (Lightning's link_arguments), e.g.
/// {"trainer.max_epochs", "model.epochs"} for a learning-rate schedule as long as the run.
struct Link {
  std::string source;
  std::string target;
};

/// How the program runs: its --help line, its own defaults for the Trainer's options
/// (Lightning's `trainer_defaults`) and seed_everything, and its linked options.
struct Settings {
  std::string description;
  TrainerConfig trainer_defaults{};
  SeedEverything seed_everything_default{};
  std::vector<Link> links{};
};

/// LightningCLI for a Module built from its hyper-parameters (`Module(hparams)`, where `hparams()`
/// returns a Hyperparameters struct) and a DataModule likewise, with Options: the Trainer's policies
/// (Callbacks<...>, Loggers<...>) and the alternatives chosen at run time, Precisions<...> and
/// Strategies<...> (defaults: FP32, SingleDevice). Only the listed combinations are compiled.
///
///   `program fit --config run.yaml --trainer.max_epochs 3 --model.lr 0.01`
///
/// Options are `--trainer.<field>` (every TrainerConfig field, plus precision and strategy),
/// `--model.<name>`, `--data.<name>`, `--seed_everything`, `--config FILE` (repeatable) and
/// `--print_config`; later files and flags override earlier ones. The resolved config is written
/// to <log_dir>/config.yaml. Bad input prints one line naming the key and exits with 2, running
/// nothing.
template <class Module, class Data, class... Options>
class LightningCLI {
  static constexpr bool module_buildable = detail::built_from_hparams<Module> || std::default_initializable<Module>;
  static_assert(module_buildable, KILN_ERR_CLI_CANNOT_BUILD("module", "Module"));
  static constexpr bool data_buildable = detail::built_from_hparams<Data> || std::default_initializable<Data>;
  static_assert(data_buildable, KILN_ERR_CLI_CANNOT_BUILD("data module", "Data"));

  template <template <class...> class Tmpl, class Default>
  struct pick {
    template <class T>
    struct is {
      static constexpr bool value = false;
    };
    template <class... Ts>
    struct is<Tmpl<Ts...>> {
      static constexpr bool value = true;
    };
    using type = std::tuple_element_t<0, decltype(std::tuple_cat(
                                             std::declval<std::conditional_t<is<Options>::value, std::tuple<Options>, std::tuple<>>>()...,
                                             std::declval<std::tuple<Default>>()))>;
  };

 public:
  using precisions = typename pick<Precisions, Precisions<FP32>>::type;
  using strategies = typename pick<Strategies, Strategies<SingleDevice>>::type;
  /// The Trainer's other policies, with SaveConfig added to its callbacks.
  using policies = decltype(std::tuple_cat(
      std::declval<typename detail::trainer_policies<Options>::type>()...,
      std::declval<std::conditional_t<(detail::is_callbacks<Options> || ...), std::tuple<>, std::tuple<Callbacks<SaveConfig>>>>()));
  template <class P, class S>
  using trainer_type = typename detail::trainer_for<Module, P, S, policies>::type;
  static constexpr bool policies_named = detail::all_named(precisions{}) && detail::all_named(strategies{});
  static_assert(policies_named, KILN_ERR_CLI_POLICY_NAME);
  using module_hparams = typename detail::hparams_type<Module>::type;
  using data_hparams = typename detail::hparams_type<Data>::type;

  /// Parses the command line and runs the subcommand: Trainer::fit, validate, test or predict
  /// with the module and data module built from the config. Returns the exit code.
  static int main(int argc, const char* const* argv, Settings settings = {}) {
    return main(argc, argv, std::move(settings), [](auto& trainer, Module& model, Data& data, Subcommand sub) {
      return run_subcommand(trainer, model, data, sub);
    });
  }

  /// As above, but `run(trainer, model, data, subcommand)` runs the program's own steps (a
  /// generic lambda: the trainer's type depends on the precision and strategy chosen); it returns
  /// the exit code, or nothing for 0. `handlers` (configured callbacks and loggers, as the
  /// Trainer's constructor takes them) are copied into the Trainer.
  template <class Run, class... Handlers>
  static int main(int argc, const char* const* argv, Settings settings, Run&& run, const Handlers&... handlers) {
    if constexpr (module_buildable && data_buildable && policies_named)
      return run_program(argc, argv, std::move(settings), run, handlers...);
    else
      return 2;  // a static_assert above said what is wrong: one mistake, one error
  }

  /// The default program: the subcommand on the module and data module.
  template <class T>
  static int run_subcommand(T& trainer, Module& model, Data& data, Subcommand sub) {
    switch (sub) {
      case Subcommand::fit:
        trainer.fit(model, data);
        return 0;
      case Subcommand::validate:
        if constexpr (declares_step<Subcommand::validate>) {
          trainer.validate(model, data);
          return 0;
        }
        break;
      case Subcommand::test:
        if constexpr (declares_step<Subcommand::test>) {
          trainer.test(model, data);
          return 0;
        }
        break;
      case Subcommand::predict:
        if constexpr (declares_step<Subcommand::predict>) {
          const auto outputs = trainer.predict(model, data);
          std::printf("predicted %zu batches\n", outputs.size());
          return 0;
        }
        break;
    }
    std::fprintf(stderr, "%s\n", no_step_message(sub).c_str());
    return 2;
  }

 private:
  template <class Run, class... Handlers>
  static int run_program(int argc, const char* const* argv, Settings settings, Run& run, const Handlers&... handlers) {
    TrainerConfig config = settings.trainer_defaults;
    SeedEverything seed = settings.seed_everything_default;
    std::string precision{name_at<0>(precisions{})};
    std::string strategy{name_at<0>(strategies{})};
    module_hparams model_hp{};
    data_hparams data_hp{};
    Schema schema;
    schema.add("seed_everything", seed, "seed torch and kiln's generators before building anything: a seed, "
                                        "true (a random one, recorded in config.yaml) or false");
    schema.add_trainer(config);
    schema.add_choice("trainer.precision", precision, names(precisions{}), "numeric precision (Lightning's names)");
    schema.add_choice("trainer.strategy", strategy, names(strategies{}), "how the run is spread over devices");
    schema.add_hyperparameters(model_hp, "model");
    schema.add_hyperparameters(data_hp, "data");

    Invocation call;
    try {
      // A linked option is derived, so it is no option of its own (as in Lightning, neither a
      // flag nor a key of the saved config).
      std::vector<std::pair<Option, Option>> links;
      for (auto& link : settings.links) {
        const Option* source = schema.find(link.source);
        const Option* target = schema.find(link.target);
        if (!source || !target)
          throw Error(fmt::format("kiln: Settings::links: {} is no option of this program", source ? link.target : link.source));
        links.emplace_back(*source, *target);
        schema.remove(link.target);
      }
      call = parse_arguments(argc, argv, schema, settings.description);
      for (auto& [source, target] : links) {
        try {
          target.set(source.get());
        } catch (const BadValue& bad) {
          throw Error(fmt::format("kiln: Settings::links: {} takes {}, which {} is not", target.key, bad.expected, source.key));
        }
      }
      if (!call.help.empty()) {
        std::fputs(call.help.c_str(), stdout);
        return 0;
      }
      if (seed.enabled && !seed.seed) seed.seed = shared_random_seed();  // recorded, so the run repeats
      if (!call.print_config) validate_options(config);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
    const Subcommand sub = subcommand_of(call.subcommand);
    if (!call.print_config && !has_step(sub)) {
      std::fprintf(stderr, "%s\n", no_step_message(sub).c_str());
      return 2;
    }
    YAML::Emitter out;
    out << schema.to_yaml();
    std::string yaml = std::string(out.c_str()) + "\n";
    if (call.print_config) {
      std::fputs(yaml.c_str(), stdout);
      return 0;
    }

    if (seed.seed) kiln::seed_everything(*seed.seed);  // before the model's weights are drawn
    Data data = build<Data>(data_hp);
    Module model = build<Module>(model_hp);
    return with_trainer_type(precisions{}, strategies{}, precision, strategy, [&]<class P, class S>() -> int {
      // A fast_dev_run writes no logs, and no config either (Lightning's debugging run).
      trainer_type<P, S> trainer(config, config.fast_dev_run > 0 ? SaveConfig() : SaveConfig(yaml), handlers...);
      if constexpr (std::is_void_v<decltype(run(trainer, model, data, sub))>) {
        run(trainer, model, data, sub);
        return 0;
      } else {
        return run(trainer, model, data, sub);
      }
    });
  }


  /// Whether the module has the step the subcommand runs (kiln's member probes: a step that
  /// exists but cannot be called is then the Trainer's compile error naming it).
  template <Subcommand S>
  static constexpr bool declares_step = S == Subcommand::fit ||
                                        (S == Subcommand::validate && kiln::detail::declares_validation_step<Module>) ||
                                        (S == Subcommand::test && kiln::detail::declares_test_step<Module>) ||
                                        (S == Subcommand::predict && kiln::detail::declares_predict_step<Module>);
  static bool has_step(Subcommand sub) {
    switch (sub) {
      case Subcommand::validate: return declares_step<Subcommand::validate>;
      case Subcommand::test: return declares_step<Subcommand::test>;
      case Subcommand::predict: return declares_step<Subcommand::predict>;
      default: return true;
    }
  }
  static std::string no_step_message(Subcommand sub) {
    const char* step = sub == Subcommand::validate ? "validation" : sub == Subcommand::test ? "test" : "predict";
    const char* verb = sub == Subcommand::validate ? "validate" : sub == Subcommand::test ? "test" : "predict";
    return fmt::format("kiln: the module has no {}_step, so the {} subcommand cannot run", step, verb);
  }
  /// TrainerConfig's own checks, with the option named as on the command line and in the YAML.
  static void validate_options(const TrainerConfig& config) {
    try {
      kiln::validate(config);
    } catch (const Error& e) {
      std::string message = e.what();
      if (const auto at = message.find("TrainerConfig."); at != std::string::npos) message.replace(at, 14, "trainer.");
      throw Error(message);
    }
  }

  template <std::size_t I, class... Tags>
  static constexpr std::string_view name_at(Precisions<Tags...>) {
    return policy_name<std::tuple_element_t<I, std::tuple<Tags...>>>::value;
  }
  template <std::size_t I, class... Tags>
  static constexpr std::string_view name_at(Strategies<Tags...>) {
    return policy_name<std::tuple_element_t<I, std::tuple<Tags...>>>::value;
  }
  template <template <class...> class List, class... Tags>
  static std::vector<std::string> names(List<Tags...>) {
    return {std::string(policy_name<Tags>::value)...};
  }

  template <class T, class H>
  static T build(H& hp) {
    if constexpr (detail::built_from_hparams<T>) return T(hp);
    else return T();
  }

  static Subcommand subcommand_of(const std::string& name) {
    if (name == "validate") return Subcommand::validate;
    if (name == "test") return Subcommand::test;
    if (name == "predict") return Subcommand::predict;
    return Subcommand::fit;
  }

  /// Calls f.template operator()<P, S>() for the listed precision and strategy named `p` and `s`
  /// (the schema only lets listed names through).
  template <class F, class... Ps, class... Ss>
  static int with_trainer_type(Precisions<Ps...>, Strategies<Ss...>, std::string_view p, std::string_view s, F&& f) {
    int rc = 2;
    auto for_precision = [&]<class P>() {
      if (policy_name<P>::value != p) return;
      ((policy_name<Ss>::value == s ? (rc = f.template operator()<P, Ss>(), true) : false) || ...);
    };
    (for_precision.template operator()<Ps>(), ...);
    return rc;
  }
};

}  // namespace kiln::cli
