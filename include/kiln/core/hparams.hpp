// SPDX-License-Identifier: Apache-2.0
// kiln/core/hparams.hpp — hyper-parameters: declared once by a struct, recorded by loggers and checkpoints.
#pragma once
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

namespace kiln {

/// One hyper-parameter value: a flag, an integer, a real number or text.
using HParam = std::variant<bool, std::int64_t, double, std::string>;

/// Hyper-parameters by name, sorted (Lightning's `hparams`). A module whose `hparams()` returns
/// them (or a Hyperparameters struct) gets them passed to every logger's `log_hyperparams` at the
/// start of fit, validate and test, and written into its checkpoints.
using HParams = std::map<std::string, HParam>;

namespace detail {
struct FieldProbe {
  void operator()(const char*, auto&, const char*) const {}
};
}  // namespace detail

/// A struct that declares its hyper-parameters once, as `void hyperparameters(auto& field)` calling
/// `field("name", member, "description")` for each. That one list is what a command line
/// (`--model.<name>`, kiln/cli.hpp), a YAML config, hparams.yaml, checkpoints and loggers use.
template <class H>
concept Hyperparameters = std::copy_constructible<H> && requires(H& h, detail::FieldProbe& field) {
  h.hyperparameters(field);
};

namespace detail {
template <class T>
std::optional<HParam> to_hparam(const T& v) {
  if constexpr (std::same_as<T, bool>) return HParam(v);
  else if constexpr (std::integral<T>) return HParam(static_cast<std::int64_t>(v));
  else if constexpr (std::floating_point<T>) return HParam(static_cast<double>(v));
  else if constexpr (std::same_as<T, std::filesystem::path>) return HParam(v.string());
  else if constexpr (std::constructible_from<std::string, const T&>) return HParam(std::string(v));
  else if constexpr (requires { typename T::value_type; v.has_value(); }) {
    if (!v) return std::nullopt;  // an unset optional is left out
    return to_hparam(*v);
  } else {
    static_assert(std::is_enum_v<T>, "kiln: a hyper-parameter must be a bool, a number, text, a path or an "
                                     "optional of one; record others as text");
    return HParam(static_cast<std::int64_t>(v));
  }
}
}  // namespace detail

/// The hyper-parameters `h` declares, as loggers and checkpoints record them.
template <Hyperparameters H>
HParams to_hparams(const H& h) {
  HParams out;
  H copy = h;  // hyperparameters() hands out mutable members; reading a copy keeps `h` const
  auto field = [&](const char* name, auto& member, const char*) {
    if (auto v = detail::to_hparam(member)) out.emplace(name, std::move(*v));
  };
  copy.hyperparameters(field);
  return out;
}

namespace detail {
/// Whether `m.hparams()` gives hyper-parameters: HParams, or a Hyperparameters struct.
template <class M>
concept has_hparams = requires(const M& m) {
  requires std::convertible_to<decltype(m.hparams()), HParams> ||
               Hyperparameters<std::remove_cvref_t<decltype(m.hparams())>>;
};
template <has_hparams M>
HParams hparams_of(const M& m) {
  if constexpr (std::convertible_to<decltype(m.hparams()), HParams>) return HParams(m.hparams());
  else return to_hparams(m.hparams());
}
}  // namespace detail

}  // namespace kiln
