// SPDX-License-Identifier: Apache-2.0
// kiln/profiler/profiler.hpp — ProfilerImpl<Tag>, one specialization per profiler; the actions profilers time, numbered once per process.
#pragma once
#include <cstddef>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include <kiln/core/format.hpp>
#include <kiln/util/type_name.hpp>

namespace kiln::detail {

/// Every action name seen in this process; an action's number is its position. Numbers are given
/// once (a function-local static at each call site), so a timed call only indexes a vector.
class ProfilerActions {
 public:
  static std::size_t id(std::string name) {
    auto& self = instance();
    std::lock_guard<std::mutex> lock(self.mutex_);
    for (std::size_t i = 0; i < self.names_.size(); ++i)
      if (self.names_[i] == name) return i;
    self.names_.push_back(std::move(name));
    return self.names_.size() - 1;
  }
  static std::string name(std::size_t id) {
    auto& self = instance();
    std::lock_guard<std::mutex> lock(self.mutex_);
    return id < self.names_.size() ? self.names_[id] : std::string("?");
  }

 private:
  static ProfilerActions& instance() {
    static ProfilerActions a;
    return a;
  }
  std::mutex mutex_;
  std::vector<std::string> names_;
};

/// The action of handler H's `on(Event)`: "[Callback]ModelCheckpoint.on_train_batch_end".
template <class H, class Event>
std::size_t handler_action(const char* kind) {
  static const std::size_t id = ProfilerActions::id(fmt::format("[{}]{}.on_{}", kind, type_name<H>(), Event::name));
  return id;
}

/// A phase's name as a template argument: `action_id<"training_step">()`.
template <std::size_t N>
struct ActionName {
  char text[N];
  constexpr ActionName(const char (&s)[N]) {  // NOLINT: implicit, to take a string literal
    for (std::size_t i = 0; i < N; ++i) text[i] = s[i];
  }
};
/// The number of the loops' phase Name (Lightning's names: "training_step", "backward", ...).
template <ActionName Name>
std::size_t action_id() {
  static const std::size_t id = ProfilerActions::id(Name.text);
  return id;
}

}  // namespace kiln::detail

namespace kiln {

/// The implementation of profiler tag Tag (kiln::PassThrough, kiln::Simple, kiln::Torch), each
/// specialized in its own header. Unknown tags land here, marked for detail::is_profiler_tag.
/// A profiler offers: `enabled` (false: every probe compiles to nothing), `scope(action)` (an
/// object timing its own lifetime), `train_batch(global_step, begin)`, `start(stage)` and
/// `stop(stage, log_dir, rank_zero)` around each stage.
template <class Tag>
class ProfilerImpl {
 public:
  static constexpr bool kiln_unknown_tag = true;
};

namespace detail {
template <class T>
inline constexpr bool is_profiler_tag = !requires { ProfilerImpl<T>::kiln_unknown_tag; };
}  // namespace detail

}  // namespace kiln
