// SPDX-License-Identifier: Apache-2.0
// kiln/profiler/pass_through.hpp — PassThrough: no profiler (the default); every probe compiles to nothing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include <kiln/core/stage.hpp>
#include <kiln/profiler/profiler.hpp>

namespace kiln {

/// No profiling (Lightning's PassThroughProfiler), the default of `Profiler<...>`: the loops ask
/// `enabled` at compile time and time nothing.
struct PassThrough {};

template <>
class ProfilerImpl<PassThrough> {
 public:
  static constexpr bool enabled = false;
  ProfilerImpl() = default;
  explicit ProfilerImpl(const PassThrough&) {}
  struct Scope {};
  Scope scope(std::size_t) { return {}; }
  void record(std::size_t, double) {}
  void train_batch(std::int64_t, bool) {}
  void start(Stage) {}
  void stop(Stage, const std::filesystem::path&, bool) {}
};

}  // namespace kiln
