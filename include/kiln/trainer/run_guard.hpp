// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/run_guard.hpp — one fit/validate/test/predict call: its set-up, its module, and its errors.
#pragma once
#include <cstdio>
#include <exception>
#include <string_view>
#include <utility>

#include <kiln/core/config.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/util/host_allocator.hpp>
#include <kiln/util/seed.hpp>
#include <kiln/util/threads.hpp>
#include <kiln/util/torch_compat.hpp>

namespace kiln::detail {

/// Which module the running call works on, and what happens once per call: the process set-up
/// (allocator, threads, seed, determinism), the strategy and precision set-up, on an error
/// event::exception and flushed loggers before it propagates, and the loggers' finalize().
template <class Module>
class RunGuard {
 public:
  /// Applies fast_dev_run and defaults to `config`, tunes the process, seeds, and sets up the
  /// strategy and precision for `module`; once per call (a DataModule's stage runs an entry point
  /// inside another).
  template <class Strategy, class Precision>
  void prepare(Module& module, TrainerConfig& config, Strategy& strategy, Precision& precision) {
    if (module_ == &module) return;
    module_ = &module;
    config = effective(config);
    tune_host_allocator(config.tune_host_allocator);  // before the first step's buffers exist
    configure_threads(config.num_threads);
    if (config.seed) seed_everything(*config.seed);
    if (config.deterministic) compat::use_deterministic_algorithms(true);
    strategy.setup(config);
    strategy.setup_module(module);
    precision.setup(module, strategy.device());
    if (!std::string_view(precision.setup_notice()).empty() && strategy.is_global_zero() && !notice_said_) {
      fmt::print(stderr, "{}\n", precision.setup_notice());
      notice_said_ = true;
    }
  }

  /// Runs f as one entry point call; emits event::exception and saves the loggers before an
  /// error propagates; finalizes the loggers (finished or failed). Nested calls (a DataModule's
  /// stage) run f as it is.
  template <class Ctx, class F>
  void guarded(Ctx loops, F&& f) {
    if (in_call_) return f();
    in_call_ = true;
    struct End {
      RunGuard& g;
      ~End() {
        g.in_call_ = false;
        g.module_ = nullptr;
      }
    } end{*this};
    loops.hub.begin_call();
    try {
      f();
    } catch (const std::exception& e) {
      loops.emit_outside_loop(event::exception{e}, module_, loops.session.state.stage);
      try {
        loops.hub.save();
        loops.hub.finalize(RunStatus::failed);
      } catch (...) {  // the original error is the one to report
      }
      throw;
    }
    loops.hub.finalize(RunStatus::finished);
  }

  /// fit() started on `m`: save_checkpoint() writes it, also after fit() returned.
  void fitted(Module& m) { fitted_ = &m; }
  /// The module of the running call; nullptr outside one.
  Module* module() { return module_; }
  /// What save_checkpoint() writes: the running call's module, else the last one fitted.
  Module* saved_module() { return module_ ? module_ : fitted_; }

 private:
  Module* module_ = nullptr;
  Module* fitted_ = nullptr;
  bool in_call_ = false;
  bool notice_said_ = false;  ///< the precision's setup notice is said once per Trainer
};

}  // namespace kiln::detail
