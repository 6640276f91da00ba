// SPDX-License-Identifier: Apache-2.0
// kiln/profiler/torch.hpp — Torch: LibTorch's autograd profiler over a window of training steps, as a Chrome trace.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <kiln/checkpoint/checkpoint_io.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/profiler/profiler.hpp>

namespace kiln {

/// Records LibTorch's autograd profiler (CPU operators, each with its duration and thread) for
/// `active` training steps after the first `skip_first` (Lightning's PyTorchProfiler with a
/// schedule), with kiln's hooks and phases as named ranges around them. When fit ends, global
/// rank 0 writes the Chrome trace (JSON; chrome://tracing and ui.perfetto.dev open it) to
/// `<dirpath>/fit-<filename>.json`, dirpath defaulting to the log folder, and says where.
struct Torch {
  std::int64_t skip_first = 1;
  std::int64_t active = 3;
  std::optional<std::filesystem::path> dirpath;
  std::string filename = "trace";
};

template <>
class ProfilerImpl<Torch> {
 public:
  static constexpr bool enabled = true;
  ProfilerImpl() = default;
  explicit ProfilerImpl(Torch o) : opt_(std::move(o)) {
    if (opt_.skip_first < 0 || opt_.active < 1)
      throw Error(fmt::format("kiln: Torch profiler needs skip_first >= 0 and active >= 1 (got {} and {})", opt_.skip_first,
                              opt_.active));
  }

  /// A named range in the trace while the window is open; nothing otherwise.
  class Scope {
   public:
    explicit Scope(const std::string* name) {
      if (!name) return;
      range_.emplace(at::RecordScope::USER_SCOPE);
      if (range_->isActive()) range_->before(name->c_str(), c10::ArrayRef<const c10::IValue>());
    }
    Scope(const Scope&) = delete;

   private:
    std::optional<at::RecordFunction> range_;
  };
  Scope scope(std::size_t id) {
    if (!record_) return Scope(nullptr);
    if (id >= names_.size()) names_.resize(id + 1);
    if (names_[id].empty()) names_[id] = detail::ProfilerActions::name(id);
    return Scope(&names_[id]);
  }

  void record(std::size_t, double) {}  // durations are the trace's business

  /// At the start (begin) and end of each training batch, with the optimizer steps done so far.
  void train_batch(std::int64_t global_step, bool begin) {
    if (begin && !record_ && trace_.empty() && global_step >= opt_.skip_first) {
      out_.str("");
      record_ = std::make_unique<torch::autograd::profiler::RecordProfile>(out_);
      first_ = global_step;
    } else if (!begin && record_) {
      last_ = global_step;
      if (global_step >= first_ + opt_.active) close();
    }
  }

  void start(Stage) {}
  void stop(Stage stage, const std::filesystem::path& log_dir, bool rank_zero) {
    if (stage != Stage::fit) return;
    close();
    if (!rank_zero || trace_.empty()) return;
    const auto dir = opt_.dirpath.value_or(log_dir);
    const auto path = dir / fmt::format("fit-{}.json", opt_.filename);
    detail::write_file_atomically(path, [&](const detail::ByteSink& sink) { sink(trace_.data(), trace_.size()); }, false,
                                  "the profiler trace");
    fmt::print("kiln: Torch profiler: training steps {} to {} in {}\n", first_ + 1, first_ + steps_, path.string());
  }
  /// The trace recorded so far (empty until the window closes).
  const std::string& trace() const { return trace_; }

 private:
  void close() {
    if (!record_) return;
    record_.reset();  // stops the profiler and writes the trace into out_
    trace_ = out_.str();
    steps_ = last_ - first_;
  }

  Torch opt_;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> record_;
  std::ostringstream out_;
  std::string trace_;
  std::vector<std::string> names_;
  std::int64_t first_ = 0, last_ = 0, steps_ = 0;
};

}  // namespace kiln
