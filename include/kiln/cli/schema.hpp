// SPDX-License-Identifier: Apache-2.0
// kiln/cli/schema.hpp — every option a run takes (trainer.*, model.*, data.*, ...), bound to the objects it sets.
#pragma once
#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <kiln/cli/values.hpp>
#include <kiln/core/config.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/hparams.hpp>

namespace kiln::cli {

/// One option: its dotted key, type, default and description, and how to read and set its value.
struct Option {
  std::string key;          // "trainer.max_epochs"
  std::string type;         // "int", as --help shows it
  std::string default_text; // the value before any config file or flag, as YAML
  std::string description;
  std::vector<std::string> choices;  // the allowed values, when only some are (a policy choice)
  std::function<YAML::Node()> get;
  std::function<void(const YAML::Node&)> set;  // throws BadValue
};

namespace detail {
inline std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

/// Edit distance, for "did you mean".
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}
}  // namespace detail

/// The options of a run, in the order --help and the printed config list them.
class Schema {
 public:
  /// An option of type T stored in `value` (which must outlive the schema).
  template <Value T>
  void add(std::string key, T& value, std::string description) {
    options_.push_back(Option{std::move(key), ValueCodec<T>::name(), detail::yaml_text(ValueCodec<T>::write(value)),
                              std::move(description), {},
                              [&value] { return ValueCodec<T>::write(value); },
                              [&value](const YAML::Node& node) { value = ValueCodec<T>::read(node); }});
  }

  /// A text option that must be one of `choices` (a policy chosen at run time).
  void add_choice(std::string key, std::string& value, std::vector<std::string> choices, std::string description) {
    auto type = fmt::format("{}", fmt::join(choices, " | "));
    auto expected = fmt::format("one of the choices compiled into this program ({})", fmt::join(choices, ", "));
    options_.push_back(Option{std::move(key), type, value, std::move(description), choices,
                              [&value] { return YAML::Node(value); },
                              [&value, choices, expected](const YAML::Node& node) {
                                auto text = ValueCodec<std::string>::read(node);
                                if (std::find(choices.begin(), choices.end(), text) == choices.end())
                                  throw BadValue{expected};
                                value = std::move(text);
                              }});
  }

  /// Every field of `config` as `<prefix>.<field>`, with TrainerConfig's descriptions.
  void add_trainer(TrainerConfig& config, const std::string& prefix = "trainer") {
#define KILN_CLI_TRAINER_OPTION(type, name, init, description) add(prefix + "." #name, config.name, description);
    KILN_TRAINER_CONFIG_FIELDS(KILN_CLI_TRAINER_OPTION)
#undef KILN_CLI_TRAINER_OPTION
  }

  /// Every hyper-parameter `h` declares, as `<prefix>.<name>`.
  template <Hyperparameters H>
  void add_hyperparameters(H& h, const std::string& prefix) {
    auto field = [&](const char* name, auto& member, const char* description) {
      add(prefix + "." + name, member, description);
    };
    h.hyperparameters(field);
  }

  const std::vector<Option>& options() const { return options_; }

  void remove(std::string_view key) {
    std::erase_if(options_, [&](const Option& o) { return o.key == key; });
  }

  const Option* find(std::string_view key) const {
    for (auto& o : options_)
      if (o.key == key) return &o;
    return nullptr;
  }

  /// The key closest to `key` by edit distance, if one is close enough to be a likely typo.
  std::string closest(std::string_view key) const {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(3, key.size() / 3) + 1;
    for (auto& o : options_) {
      const auto d = detail::edit_distance(key, o.key);
      if (d < best_distance) best_distance = d, best = o.key;
    }
    return best;
  }

  /// Sets `key` from `node`. An unknown key or a value of the wrong type is a kiln::Error naming
  /// the key (as a flag `--key` when `flag`), the value, the expected type and `origin` (the
  /// command line, or a file and line).
  void set(std::string_view key, const YAML::Node& node, std::string_view origin, bool flag) const {
    const Option* o = find(key);
    if (!o) throw Error(unknown_key_message(key, origin, flag));
    try {
      o->set(node);
    } catch (const BadValue& bad) {
      const auto given = node.IsSequence() ? std::string("a list")
                         : node.IsMap()    ? std::string("a mapping")
                         : node.IsNull()   ? std::string("null")
                                           : fmt::format("\"{}\"", node.Scalar());
      throw Error(fmt::format("kiln: {}: {}{} takes {}, not {}", origin, flag ? "--" : "", key, bad.expected, given));
    }
  }

  std::string unknown_key_message(std::string_view key, std::string_view origin, bool flag) const {
    const auto dashes = flag ? "--" : "";
    const auto suggestion = closest(key);
    return suggestion.empty()
               ? fmt::format("kiln: {}: unknown {} {}{}; --help lists them", origin, flag ? "option" : "key", dashes, key)
               : fmt::format("kiln: {}: unknown {} {}{}; did you mean {}{}?", origin, flag ? "option" : "key", dashes,
                             key, dashes, suggestion);
  }

  /// Whether `prefix` names a group of options (`trainer` for trainer.max_epochs, ...).
  bool is_group(std::string_view prefix) const {
    for (auto& o : options_)
      if (o.key.size() > prefix.size() && o.key.starts_with(prefix) && o.key[prefix.size()] == '.') return true;
    return false;
  }

  /// The current values as nested YAML (trainer: {max_epochs: ...}, model: {...}, ...), in
  /// declaration order.
  YAML::Node to_yaml() const {
    YAML::Node root(YAML::NodeType::Map);
    for (auto& o : options_) {
      // yaml-cpp's operator[] on a const path would not create the maps: walk and create them.
      std::vector<std::string> parts;
      std::string_view rest = o.key;
      for (auto dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
        parts.emplace_back(rest.substr(0, dot));
        rest.remove_prefix(dot + 1);
      }
      YAML::Node node = root;
      for (auto& p : parts) {
        if (!node[p]) node[p] = YAML::Node(YAML::NodeType::Map);
        node.reset(node[p]);
      }
      node[std::string(rest)] = o.get();
    }
    return root;
  }

 private:
  std::vector<Option> options_;
};

}  // namespace kiln::cli
