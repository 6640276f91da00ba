// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/loop_host_impl.hpp — a Trainer type's LoopHost and BatchSource: the typed side of its loops.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <ATen/core/Tensor.h>

#include <kiln/core/batch_size.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/events.hpp>
#include <kiln/loops/batches.hpp>
#include <kiln/loops/loop_host.hpp>

namespace kiln::detail {

/// LoopHost for the Trainer whose parts `Ctx` (a LoopContext) holds, running `module`.
template <class Ctx, class Module>
class TrainerLoopHost final : public LoopHost {
 public:
  TrainerLoopHost(Ctx c, Module& module)
      : LoopHost(c.config, c.session, deliveries.data(), Ctx::profiling), c_(c), module_(module) {}

  StepContext::Wiring wiring(State& s, Stage stage, LogBuffer& logs) override { return c_.wiring(s, stage, logs); }
  void publish(const MetricMap& values, const LogBuffer& logs) override { c_.hub.publish(values, logs); }
  void refresh(const MetricMap& values, const LogBuffer& logs) override { c_.hub.refresh(values, logs); }
  const MetricMap& callback_metrics() override { return c_.hub.callback_metrics(); }
  void save_logs() override { c_.hub.save(); }
  void finalize(RunStatus status) override { c_.hub.finalize(status); }
  int world_size() override { return c_.strategy.world_size(); }
  bool is_global_zero() override { return c_.strategy.is_global_zero(); }
  void all_reduce_max(at::Tensor& t) override { c_.strategy.all_reduce_max(t); }
  void backward(const at::Tensor& loss, bool sync) override { c_.backward(loss, sync); }
  void unscale(torch::optim::Optimizer& o) override { c_.precision.unscale(o); }
  bool optimizer_step(torch::optim::Optimizer& o) override { return c_.precision.optimizer_step(o); }
  void update_scale() override { c_.precision.update(); }
  std::filesystem::path checkpoint_dir() override { return c_.checkpoints.dir(c_.owner); }
  void save_checkpoint(const std::filesystem::path& path) override { c_.owner.save_checkpoint(path); }
  void record(std::size_t action, double seconds) override { c_.profiler.record(action, seconds); }
  void mark_train_batch(std::int64_t global_step, bool begin) override { c_.profiler.train_batch(global_step, begin); }

  Ctx& parts() { return c_; }

 private:
  template <class Event>
  static void deliver(LoopHost& h, const void* e, StepContext* ctx) {
    auto& self = static_cast<TrainerLoopHost&>(h);
    self.c_.emit(*static_cast<const Event*>(e), &self.module_, ctx);
  }
  /// One entry per Trainer event (kiln::event::all up to the Engine's own); null for an event no
  /// callback, logger or module hook takes, which then costs neither a call nor code, and for
  /// those the loops do not send.
  static constexpr auto deliveries = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<Deliver, sizeof...(I)>{[] {
      using Event = std::tuple_element_t<I, event::all>;
      if constexpr (loop_event<Event> && Ctx::template handled<Event, Module>) return &deliver<Event>;
      else return Deliver{};
    }()...};
  }(std::make_index_sequence<event::engine_first>{});

  StepContext::Wiring outside_wiring(Stage stage) override { return c_.outside_wiring(stage); }
  void* open_scope(std::size_t action) override {
    if constexpr (Ctx::profiling) return new auto(c_.profiler.scope(action));
    else return nullptr;
  }
  void close_scope(void* scope) override {
    if constexpr (Ctx::profiling) delete static_cast<decltype(c_.profiler.scope(0))*>(scope);
  }

  Ctx c_;
  Module& module_;
};

/// BatchSource over `range` (this rank's part of the data) with `step(batch, ctx)`, the module's
/// step for this stage, run on each batch moved to the device and cast by the Trainer's parts `c`.
template <class Ctx, class Range, class Step>
class TypedBatchSource final : public BatchSource {
  using Raw = std::remove_reference_t<decltype(*std::begin(std::declval<Range&>()))>;

 public:
  TypedBatchSource(Ctx& c, Range& range, Step step) : c_(c), range_(range), step_(std::move(step)) {}

  std::optional<std::int64_t> size() override { return size_of(range_); }
  void set_epoch(std::int64_t epoch) override {
    if constexpr (requires { range_.set_epoch(epoch); }) range_.set_epoch(epoch);
  }
  void each(State& s, std::int64_t limit, std::int64_t skip, BatchBody& body) override {
    // A nested pass (forward_over_train_data from a batch handler) puts the outer batch back,
    // also when it ends by an exception a handler catches.
    struct Restore {
      Raw*& current;
      Raw* outer;
      ~Restore() { current = outer; }
    } restore{current_, current_};
    for_each_batch(range_, s, limit, skip, [&](auto& raw) {
      current_ = &raw;
      body.batch();
    });
  }
  at::Tensor step(StepContext& ctx, std::size_t action) override {
    return c_.with_batch(*current_, [&](auto& b) -> at::Tensor {
      ctx.set_batch_size(batch_size_of(b));
      if constexpr (Ctx::profiling) {
        if (action != untimed) {
          [[maybe_unused]] const auto scope = c_.profiler.scope(action);
          return call(b, ctx);
        }
      }
      return call(b, ctx);
    });
  }

 private:
  template <class B>
  at::Tensor call(B& b, StepContext& ctx) {
    [[maybe_unused]] auto guard = c_.precision.autocast();
    if constexpr (std::is_void_v<decltype(step_(b, ctx))>) {
      step_(b, ctx);
      return {};
    } else {
      return step_(b, ctx);
    }
  }

  Ctx& c_;
  Range& range_;
  Step step_;
  Raw* current_ = nullptr;
};

/// TypedBatchSource over `range` (whose type names the class).
template <class Ctx, class Range, class Step>
TypedBatchSource<Ctx, Range, Step> batch_source(Ctx& c, Range& range, Step step) {
  return {c, range, std::move(step)};
}

}  // namespace kiln::detail
