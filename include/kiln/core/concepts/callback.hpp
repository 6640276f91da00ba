// SPDX-License-Identifier: Apache-2.0
// kiln/core/concepts/callback.hpp — what a callback is: an object with `on(Event, Trainer&)` overloads.
#pragma once
#include <concepts>
#include <type_traits>

namespace kiln {

/// A callback (Lightning's Callback, Ignite's event handler).
///
/// *Requires*: a movable object type. Nothing else: a callback handles the events it has
/// `void on(const kiln::event::X&, auto& trainer)` overloads for; every other event costs nothing.
/// *Optional*: `state_key()`, `state_dict()`, `load_state_dict()` (saved in checkpoints);
/// `begin_checkpoint_write()` and `end_checkpoint_write()`, called around every checkpoint the
/// Trainer writes (on the rank that writes), e.g. to put other weights in the module meanwhile;
/// `template <class Trainer> static constexpr bool check_trainer()`, whose static_asserts say what
/// the callback needs of the Trainer it is listed in (a logger, say) when that Trainer type is made.
/// *Models*: kiln::ProgressBar, kiln::Every<H>, kiln::Once<H>.
template <class C>
concept Callback = std::is_object_v<C> && std::move_constructible<C> && !std::is_const_v<C>;

}  // namespace kiln
