// SPDX-License-Identifier: Apache-2.0
// kiln/cli/values.hpp — one option's value as YAML: its type name, reading it, writing it.
#pragma once
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include <yaml-cpp/yaml.h>

#include <kiln/core/config.hpp>
#include <kiln/core/format.hpp>

namespace kiln::cli {

/// A value that does not fit its option; the caller adds the key and where the value came from.
struct BadValue {
  std::string expected;  // the option's type, as --help shows it
};

/// ValueCodec<T>: `name()` (the type as --help shows it), `read(node)` (throws BadValue) and
/// `write(value)` (a YAML node). A hyper-parameter's type needs one; these cover the usual ones.
template <class T>
struct ValueCodec;

namespace detail {
/// The node as text when it is a scalar (a flag's value or a YAML scalar), else BadValue.
inline std::string scalar_text(const YAML::Node& node, const std::string& expected) {
  if (!node.IsScalar()) throw BadValue{expected};
  return node.Scalar();
}
/// YAML's plain `null` / `~` / empty value, but not the quoted string "null".
inline bool is_null(const YAML::Node& node) {
  return node.IsNull() || (node.IsScalar() && node.Tag() != "!" && (node.Scalar() == "null" || node.Scalar() == "~"));
}
}  // namespace detail

template <>
struct ValueCodec<bool> {
  static std::string name() { return "bool"; }
  static bool read(const YAML::Node& node) {
    const auto text = detail::scalar_text(node, name());
    if (text == "true" || text == "True" || text == "1") return true;
    if (text == "false" || text == "False" || text == "0") return false;
    throw BadValue{name()};
  }
  static YAML::Node write(bool v) { return YAML::Node(v); }
};

template <class T>
  requires(std::integral<T> && !std::same_as<T, bool>)
struct ValueCodec<T> {
  static std::string name() { return std::is_signed_v<T> ? "int" : "int >= 0"; }
  static T read(const YAML::Node& node) {
    const auto text = detail::scalar_text(node, name());
    // std::stoll/stoull accept "12abc" and " 12"; the whole text must be the number.
    std::size_t used = 0;
    try {
      if constexpr (std::is_signed_v<T>) {
        const long long v = std::stoll(text, &used);
        if (used == text.size() && v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max())
          return static_cast<T>(v);
      } else {
        const unsigned long long v = std::stoull(text, &used);
        if (used == text.size() && text.front() != '-' && v <= std::numeric_limits<T>::max()) return static_cast<T>(v);
      }
    } catch (const std::logic_error&) {
    }
    throw BadValue{name()};
  }
  static YAML::Node write(T v) { return YAML::Node(v); }
};

template <std::floating_point T>
struct ValueCodec<T> {
  static std::string name() { return "float"; }
  static T read(const YAML::Node& node) {
    const auto text = detail::scalar_text(node, name());
    std::size_t used = 0;
    try {
      const double v = std::stod(text, &used);
      if (used == text.size()) return static_cast<T>(v);
    } catch (const std::logic_error&) {
    }
    throw BadValue{name()};
  }
  /// The shortest text that reads back to the same value (yaml-cpp would print 0.1 as
  /// 0.10000000000000001), with a point so that it stays a float (1.0, not 1).
  static YAML::Node write(T v) {
    auto text = fmt::format("{}", v);
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // n: inf, nan
    return YAML::Node(text);
  }
};

template <>
struct ValueCodec<std::string> {
  static std::string name() { return "str"; }
  static std::string read(const YAML::Node& node) { return detail::scalar_text(node, name()); }
  static YAML::Node write(const std::string& v) { return YAML::Node(v); }
};

template <>
struct ValueCodec<std::filesystem::path> {
  static std::string name() { return "path"; }
  static std::filesystem::path read(const YAML::Node& node) { return detail::scalar_text(node, name()); }
  static YAML::Node write(const std::filesystem::path& v) { return YAML::Node(v.string()); }
};

template <class T>
struct ValueCodec<std::optional<T>> {
  static std::string name() { return ValueCodec<T>::name() + " | null"; }
  static std::optional<T> read(const YAML::Node& node) {
    if (detail::is_null(node)) return std::nullopt;
    try {
      return ValueCodec<T>::read(node);
    } catch (const BadValue&) {
      throw BadValue{name()};
    }
  }
  static YAML::Node write(const std::optional<T>& v) { return v ? ValueCodec<T>::write(*v) : YAML::Node(YAML::NodeType::Null); }
};

/// A batch count (an int) or a fraction of the data (a float), as Lightning reads limit_*_batches.
template <>
struct ValueCodec<BatchLimit> {
  static std::string name() { return "int | float"; }
  static BatchLimit read(const YAML::Node& node) {
    const auto text = detail::scalar_text(node, name());
    if (text.find_first_of(".eE") == std::string::npos) {
      try {
        return BatchLimit(ValueCodec<std::int64_t>::read(node));
      } catch (const BadValue&) {
      }
    } else {
      try {
        return BatchLimit(ValueCodec<double>::read(node));
      } catch (const BadValue&) {
      }
    }
    throw BadValue{name()};
  }
  static YAML::Node write(const BatchLimit& v) {
    // 1.0 stays a float when written (a fraction: all batches), not 1 (one batch).
    return v.is_fraction ? ValueCodec<double>::write(v.value) : YAML::Node(static_cast<std::int64_t>(v.value));
  }
};

template <>
struct ValueCodec<GradClipAlgorithm> {
  static std::string name() { return "norm | value"; }
  static GradClipAlgorithm read(const YAML::Node& node) {
    const auto text = detail::scalar_text(node, name());
    if (text == "norm") return GradClipAlgorithm::norm;
    if (text == "value") return GradClipAlgorithm::value;
    throw BadValue{name()};
  }
  static YAML::Node write(GradClipAlgorithm v) { return YAML::Node(v == GradClipAlgorithm::norm ? "norm" : "value"); }
};

/// Whether T can be an option's type.
template <class T>
concept Value = requires(const YAML::Node& node, const T& v) {
  { ValueCodec<T>::name() } -> std::convertible_to<std::string>;
  { ValueCodec<T>::read(node) } -> std::convertible_to<T>;
  { ValueCodec<T>::write(v) } -> std::convertible_to<YAML::Node>;
};

}  // namespace kiln::cli
