// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/inline_config.hpp — the TrainerConfig written inline in a Trainer's constructor
// call, whose wrong field is a compile error naming the field.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include <kiln/core/config.hpp>

namespace kiln::detail {

/// `To{v}` is valid for the value given: it converts, and without narrowing (as an aggregate's
/// field would require). A bool, not a concept: a failed check then adds one note, not a
/// concept's several.
template <class To, class V>
inline constexpr bool initializes = requires(V&& v) { To{std::forward<V>(v)}; };

// An option of another kiln type, or a Lightning Trainer argument that kiln takes in the
// Trainer's type, written as a TrainerConfig field: what to write instead.
#define KILN_ERR_CONFIG_DDP_OPTION(name)                                                        \
  "kiln: " #name " is an option of kiln::DDP, not of TrainerConfig. Pass it after the config: " \
  "kiln::Trainer<Net, kiln::Strategy<kiln::DDP>> trainer(config, kiln::DDP{." #name " = ...})."
#define KILN_ERR_CONFIG_IN_TYPE(name, example)                                                  \
  "kiln: " #name " is not a TrainerConfig field: a Trainer's " #name " is part of its type, "   \
  "as in " example "."

/// TrainerConfig's fields as a braced list in the Trainer's constructor call. Each field takes
/// any value and checks it when the constructor is instantiated: an aggregate would make a
/// wrong field only "no matching constructor", because a braced list that does not convert
/// removes the constructor from overload resolution without saying why.
struct InlineTrainerConfig {
#define KILN_INLINE_FIELD(type, name, init, description)                                         \
  struct name##_field {                                                                           \
    type value = init;                                                                            \
    name##_field() = default;                                                                     \
    template <class V>                                                                            \
    name##_field(V&& v) : value(take(std::forward<V>(v))) { /* NOLINT: implicit, as the field */  \
      static_assert(initializes<type, V>, "kiln: TrainerConfig." #name " is a " #type             \
                                          ", and the value given does not convert to it "         \
                                          "(without narrowing).");                                \
    }                                                                                             \
    template <class V>                                                                            \
    static type take(V&& v) {                                                                     \
      if constexpr (initializes<type, V>) return type{std::forward<V>(v)};                        \
      else return init;                                                                           \
    }                                                                                             \
  } name;
  KILN_TRAINER_CONFIG_FIELDS(KILN_INLINE_FIELD)
#undef KILN_INLINE_FIELD

  // Names a user may reach for that TrainerConfig does not have; they come last, so a list that
  // uses one after the real fields reaches its sentence.
#define KILN_INLINE_MISTAKE(name, message)                                           \
  struct name##_field {                                                              \
    name##_field() = default;                                                        \
    template <class... V>                                                            \
    name##_field(V&&...) { /* NOLINT: implicit, to reach the sentence */        \
      static_assert(sizeof...(V) == 0, message);                                     \
    }                                                                                \
  } name;
  KILN_INLINE_MISTAKE(timeout, KILN_ERR_CONFIG_DDP_OPTION(timeout))
  KILN_INLINE_MISTAKE(find_unused_parameters, KILN_ERR_CONFIG_DDP_OPTION(find_unused_parameters))
  KILN_INLINE_MISTAKE(bucket_cap_mb, KILN_ERR_CONFIG_DDP_OPTION(bucket_cap_mb))
  KILN_INLINE_MISTAKE(first_bucket_cap_mb, KILN_ERR_CONFIG_DDP_OPTION(first_bucket_cap_mb))
  KILN_INLINE_MISTAKE(overlap, KILN_ERR_CONFIG_DDP_OPTION(overlap))
  KILN_INLINE_MISTAKE(scaler, "kiln: scaler is an option of kiln::FP16Mixed, not of TrainerConfig. "
                              "Pass it after the config: kiln::Trainer<Net, "
                              "kiln::Precision<kiln::FP16Mixed>> trainer(config, "
                              "kiln::FP16Mixed{.scaler = {...}}).")
  KILN_INLINE_MISTAKE(strategy, KILN_ERR_CONFIG_IN_TYPE(strategy, "kiln::Trainer<Net, kiln::Strategy<kiln::DDP>>"))
  KILN_INLINE_MISTAKE(precision,
                      KILN_ERR_CONFIG_IN_TYPE(precision, "kiln::Trainer<Net, kiln::Precision<kiln::FP16Mixed>>"))
  KILN_INLINE_MISTAKE(callbacks, KILN_ERR_CONFIG_IN_TYPE(callbacks,
                                                         "kiln::Trainer<Net, kiln::Callbacks<kiln::ModelCheckpoint>>; "
                                                         "configured ones follow the config in the constructor call"))
#undef KILN_INLINE_MISTAKE

  /// The TrainerConfig these fields make.
  TrainerConfig config() && {
    TrainerConfig c;
#define KILN_INLINE_MOVE(type, name, init, description) c.name = std::move(name.value);
    KILN_TRAINER_CONFIG_FIELDS(KILN_INLINE_MOVE)
#undef KILN_INLINE_MOVE
    return c;
  }
};

#undef KILN_ERR_CONFIG_DDP_OPTION
#undef KILN_ERR_CONFIG_IN_TYPE

}  // namespace kiln::detail
