// SPDX-License-Identifier: Apache-2.0
// kiln/core/policies.hpp — the five policy slots of a Trainer and how a policy list is resolved.
#pragma once
#include <tuple>
#include <type_traits>

namespace kiln {

namespace detail {
struct strategy_slot {};
struct precision_slot {};
struct callbacks_slot {};
struct loggers_slot {};
struct profiler_slot {};
}  // namespace detail

/// Which strategy runs the loop (device placement, process group): `Strategy<SingleDevice>`.
template <class Tag>
struct Strategy {
  using slot = detail::strategy_slot;
  using tag = Tag;
};

/// Which numeric precision the loop runs in: `Precision<FP32>`.
template <class Tag>
struct Precision {
  using slot = detail::precision_slot;
  using tag = Tag;
};

/// The callbacks of a Trainer, called in this order for every event.
template <class... Cs>
struct Callbacks {
  using slot = detail::callbacks_slot;
  using types = std::tuple<Cs...>;
};

/// Which profiler times the loop: `Profiler<Simple>`, `Profiler<Torch>`; none (PassThrough) by default.
template <class Tag>
struct Profiler {
  using slot = detail::profiler_slot;
  using tag = Tag;
};

/// The loggers of a Trainer; `Loggers<>` turns logging off at compile time.
template <class... Ls>
struct Loggers {
  using slot = detail::loggers_slot;
  using types = std::tuple<Ls...>;
};

namespace detail {

/// Whether T is in a Trainer's callbacks_type or loggers_type (a std::tuple of the listed types).
template <class T, class Tuple>
inline constexpr bool in_tuple = false;
template <class T, class... Ts>
inline constexpr bool in_tuple<T, std::tuple<Ts...>> = (std::is_same_v<T, Ts> || ...);

template <class T>
struct slot_of {
  using type = void;
};
template <class T>
  requires requires { typename T::slot; }
struct slot_of<T> {
  using type = typename T::slot;
};

template <class T>
inline constexpr bool is_policy =
    std::is_same_v<typename slot_of<T>::type, strategy_slot> ||
    std::is_same_v<typename slot_of<T>::type, precision_slot> ||
    std::is_same_v<typename slot_of<T>::type, callbacks_slot> ||
    std::is_same_v<typename slot_of<T>::type, loggers_slot> ||
    std::is_same_v<typename slot_of<T>::type, profiler_slot>;

template <class Slot, class... Ps>
inline constexpr int count_slot = (0 + ... + int(std::is_same_v<typename slot_of<Ps>::type, Slot>));

/// The policy of `Slot` in Ps..., or `Default` when none is given. A plain recursive search:
/// Boost.Hana's find_if did the same but cost ~0.5 s of parsing in every translation unit
/// (benchmarks/RESULTS.md), for a list that never holds more than five policies.
template <class Slot, class Default, class... Ps>
struct find_slot {
  using type = Default;
};
template <class Slot, class Default, class P, class... Ps>
struct find_slot<Slot, Default, P, Ps...> {
  using type = std::conditional_t<std::is_same_v<typename slot_of<P>::type, Slot>, P,
                                  typename find_slot<Slot, Default, Ps...>::type>;
};
template <class Slot, class Default, class... Ps>
using find_slot_t = typename find_slot<Slot, Default, Ps...>::type;

/// How many times T occurs in Ts...
template <class T, class... Ts>
inline constexpr int count_type = (0 + ... + int(std::is_same_v<T, Ts>));

template <class... Ts>
inline constexpr bool all_unique = ((count_type<Ts, Ts...> == 1) && ...);

}  // namespace detail
}  // namespace kiln
