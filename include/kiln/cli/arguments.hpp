// SPDX-License-Identifier: Apache-2.0
// kiln/cli/arguments.hpp — a command line (subcommand, --config files, --key value flags) applied to a Schema in order.
#pragma once
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <kiln/cli/schema.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>

namespace kiln::cli {

/// LightningCLI's subcommands.
inline const std::vector<std::string>& subcommands() {
  static const std::vector<std::string> names{"fit", "validate", "test", "predict"};
  return names;
}

/// What the command line asked for, after every --config file and flag was applied to the schema.
struct Invocation {
  std::string subcommand;     // fit, validate, test or predict; empty when help was printed
  bool print_config = false;  // --print_config: print the resolved config and run nothing
  std::string help;           // --help's text, when it was asked for
};

namespace detail {
inline std::string origin_of(const std::filesystem::path& file, const YAML::Mark& mark) {
  return mark.is_null() ? file.string() : fmt::format("{}:{}:{}", file.string(), mark.line + 1, mark.column + 1);
}

/// Applies a config file's values to `schema`: nested mappings are groups (`trainer:` then
/// `max_epochs: 3`), anything else a value.
inline void apply_mapping(const Schema& schema, const YAML::Node& map, const std::string& prefix,
                          const std::filesystem::path& file) {
  for (const auto& item : map) {
    const auto name = item.first.as<std::string>();
    const auto key = prefix.empty() ? name : prefix + "." + name;
    const YAML::Node& value = item.second;
    if (schema.is_group(key)) {
      if (value.IsNull()) continue;  // `model:` with nothing under it
      if (!value.IsMap())
        throw Error(fmt::format("kiln: {}: {} is a group of options ({}.<name>: value), not a value",
                                origin_of(file, item.first.Mark()), key, key));
      apply_mapping(schema, value, key, file);
    } else {
      schema.set(key, value, origin_of(file, item.first.Mark()), false);
    }
  }
}
}  // namespace detail

/// Reads a YAML config file into `schema`. A file that cannot be read, malformed YAML (with line
/// and column), an unknown key or a value of the wrong type is a kiln::Error naming the file.
inline void apply_config_file(const Schema& schema, const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    throw Error(fmt::format("kiln: config file {} {}", file.string(),
                            std::filesystem::exists(file, ec) ? "is not a regular file" : "does not exist"));
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw Error(fmt::format("kiln: config file {} cannot be read", file.string()));
  } catch (const YAML::ParserException& e) {
    throw Error(fmt::format("kiln: {}: malformed YAML: {}", detail::origin_of(file, e.mark), e.msg));
  }
  if (root.IsNull()) return;  // an empty file changes nothing
  if (!root.IsMap())
    throw Error(fmt::format("kiln: config file {} must be a mapping (trainer: ..., model: ...), not a {}",
                            file.string(), root.IsSequence() ? "list" : "single value"));
  detail::apply_mapping(schema, root, "", file);
}

/// Parses `argv` (program, subcommand, then options) into `schema`, applying each --config file
/// and each --<key> flag in the order given, so later ones override earlier ones (as
/// LightningCLI does). --help fills Invocation::help. Bad input is a kiln::Error of one sentence.
inline Invocation parse_arguments(int argc, const char* const* argv, const Schema& schema,
                                  const std::string& description = "") {
  CLI::App app{description, argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "kiln"};
  app.set_help_flag("-h,--help", "print this help and exit");
  app.require_subcommand(1);
  struct Parsed {
    CLI::App* app;
    CLI::Option* config;
    CLI::Option* print_config;
    std::map<CLI::Option*, const Option*> keys;
  };
  std::vector<Parsed> parsed;
  for (auto& name : subcommands()) {
    auto* sub = app.add_subcommand(name, fmt::format("run Trainer::{}", name));
    sub->allow_extras();
    Parsed p{sub, nullptr, nullptr, {}};
    // CLI11 takes a description only as a const lvalue (other overloads bind a variable).
    const std::string config_help = "a YAML config file; repeatable, later files and flags override earlier ones";
    const std::string print_help = "print the resolved config as YAML and exit";
    p.config = sub->add_option("--config", config_help)
                   ->type_name("FILE")
                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    p.print_config = sub->add_flag("--print_config", print_help);
    for (auto& o : schema.options()) {
      const std::string help = fmt::format("{} (default: {})", o.description, o.default_text);
      auto* opt = sub->add_option("--" + o.key, help)
                      ->type_name(o.type)
                      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      p.keys[opt] = &o;
    }
    parsed.push_back(p);
  }
  if (argc >= 2 && std::string_view(argv[1]) != "-h" && std::string_view(argv[1]) != "--help" &&
      std::find(subcommands().begin(), subcommands().end(), argv[1]) == subcommands().end())
    throw Error(fmt::format("kiln: command line: \"{}\" is no subcommand; start with fit, validate, test or predict",
                            argv[1]));
  if (argc < 2) throw Error("kiln: command line: give a subcommand (fit, validate, test or predict), then options; --help lists them");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    const CLI::App* asked = &app;
    for (auto& p : parsed)
      if (p.app->parsed()) asked = p.app;
    return Invocation{"", false, asked->help()};
  } catch (const CLI::ParseError& e) {
    throw Error(fmt::format("kiln: command line: {}", e.what()));
  }

  Invocation result;
  for (auto& p : parsed) {
    if (!p.app->parsed()) continue;
    result.subcommand = p.app->get_name();
    // Unknown options first: nothing is applied from a command line that has a typo.
    for (const auto& extra : p.app->remaining()) {
      if (extra.starts_with("--")) {
        const auto key = extra.substr(2, extra.find('=') == std::string::npos ? std::string::npos : extra.find('=') - 2);
        throw Error(schema.unknown_key_message(key, "command line", true));
      }
      throw Error(fmt::format("kiln: command line: unexpected argument \"{}\"; options are --<key> <value>", extra));
    }
    std::map<CLI::Option*, std::size_t> next;  // each option's next result, in parse order
    for (CLI::Option* opt : p.app->parse_order()) {
      const auto i = next[opt]++;
      if (opt == p.print_config) {
        result.print_config = true;
      } else if (opt == p.config) {
        apply_config_file(schema, opt->results().at(i));
      } else if (auto it = p.keys.find(opt); it != p.keys.end()) {
        const std::string& text = opt->results().at(i);
        YAML::Node value;
        try {
          value = YAML::Load(text);
        } catch (const YAML::Exception&) {
          value = YAML::Node(text);  // not YAML: the text itself, which the option's type then judges
        }
        schema.set(it->second->key, value, "command line", true);
      }
    }
  }
  return result;
}

}  // namespace kiln::cli
