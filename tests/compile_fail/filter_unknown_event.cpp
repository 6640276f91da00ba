// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/filter_unknown_event.cpp — kiln::every() around a handler of a user's own Engine event.
// kiln-expect-error: kiln: kiln::every\(\) and kiln::once\(\) count kiln's own events only
#include <vector>

#include <kiln/engine.hpp>
#include <kiln/callbacks/filters.hpp>

struct Checkpointed {};  // a user's own event, sent with Engine::emit

struct Counter {
  int seen = 0;
  template <class E>
  void on(const Checkpointed&, E&) { ++seen; }
  template <class E>
  void on(const kiln::event::iteration_completed&, E&) { ++seen; }
};

int main() {
  std::vector<int> data{1, 2, 3};
  auto process = [](auto&, int) {};
  kiln::Engine engine(process, kiln::every(2, Counter{}));
  engine.run(data);
#ifdef KILN_MISTAKE
  engine.emit(Checkpointed{});
#endif
}
