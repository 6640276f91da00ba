// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/checkpoint_connector.hpp — a Trainer's side of checkpoints: save, find "last"/"best", resume.
#pragma once
#include <concepts>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <kiln/checkpoint/state_key.hpp>
#include <kiln/checkpoint/trainer_checkpoint.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/trainer/session.hpp>

namespace kiln::detail {

/// Lightning's checkpoint connector: what a checkpoint holds of the Trainer (its session, its
/// callback metrics, the precision's and the callbacks' states) and where checkpoints are.
template <class CallbackTuple, class Precision, class Strategy, class Hub>
class CheckpointConnector {
 public:
  CheckpointConnector(Session& session, CallbackTuple& callbacks, Precision& precision, Strategy& strategy, Hub& hub)
      : session_(session), callbacks_(callbacks), precision_(precision), strategy_(strategy), hub_(hub) {}

  /// Writes the full state of this fit of `m` to `path`, atomically (kiln/checkpoint/trainer_checkpoint.hpp):
  /// global rank 0 writes, every rank waits for it. `m` is null before fit() has started.
  template <class Module>
  void save(Module* m, const std::filesystem::path& path) {
    if (!m) throw Error(fmt::format("kiln: save_checkpoint({}): nothing to save before fit() has started", path.string()));
    if (strategy_.is_global_zero()) {
      hub_.refresh_live();
      auto parts = parts_of(*m);
      if constexpr (detail::has_hparams<Module>) parts.hparams = detail::hparams_of(*m);
      // A callback may put other weights into the module while it is written (EMA: the average),
      // and must get them back out even when the write fails.
      each_callback([](auto& c) { if constexpr (requires { c.begin_checkpoint_write(); }) c.begin_checkpoint_write(); });
      struct End {
        CheckpointConnector& self;
        ~End() {
          self.each_callback([](auto& c) { if constexpr (requires { c.end_checkpoint_write(); }) c.end_checkpoint_write(); });
        }
      } end{*this};
      TrainerCheckpoint::save(parts, path);
    }
    strategy_.barrier();
  }

  /// Puts everything but the generators back now (module, optimizers, schedulers, precision,
  /// progress, metrics, callbacks) from `ckpt_path` (resolved as resolve() says); the fit loop
  /// applies the rest (session.resume) when it starts.
  template <class Module, class Owner>
  void restore(Module& m, const std::filesystem::path& ckpt_path, bool strict, Owner& owner) {
    if (const auto path = resolve(ckpt_path, owner)) {
      auto parts = parts_of(m);
      session_.resume = TrainerCheckpoint::restore(parts, *path, strict);
    }
  }

  /// Where checkpoints go: the listed ModelCheckpoint's folder, else <log_dir>/checkpoints.
  template <class Owner>
  std::filesystem::path dir(Owner& owner) {
    std::optional<std::filesystem::path> d;
    std::apply([&](auto&... c) {
      ([&] { if constexpr (requires { c.dirpath_in(owner); }) if (!d) d = c.dirpath_in(owner); }(), ...);
    }, callbacks_);
    return d.value_or(hub_.log_dir() / "checkpoints");
  }

  /// "last" / "best": the listed ModelCheckpoint's file (ModelCheckpoint::find); anything else is a
  /// path. None for "last" before the first checkpoint (said on stderr): a script that always
  /// resumes from "last" starts afresh, as in Lightning.
  template <class Owner>
  std::optional<std::filesystem::path> resolve(const std::filesystem::path& p, Owner& owner) {
    if (p != "last" && p != "best") return p;
    std::filesystem::path found;
    std::string looked;
    bool listed = false;
    std::apply([&](auto&... c) {
      ([&] {
        if constexpr (requires(std::string& l) { c.find(p.string(), owner, l); }) {
          listed = true;
          if (found.empty()) found = c.find(p.string(), owner, looked);
        }
      }(), ...);
    }, callbacks_);
    if (!listed)
      throw Error(fmt::format("kiln: ckpt_path=\"{}\" needs a ModelCheckpoint listed in Callbacks<...>; give the file's path instead",
                              p.string()));
    if (found.empty() && p == "last") {
      if (strategy_.is_global_zero())
        fmt::print(stderr, "kiln: ckpt_path=\"last\": no checkpoint in {} yet, so fit starts from the beginning\n", looked);
      return std::nullopt;
    }
    if (found.empty())
      throw Error(fmt::format("kiln: ckpt_path=\"best\": no best checkpoint in {}; give the file's path", looked));
    return found;
  }

 private:
  template <class F>
  void each_callback(F f) {
    std::apply([&](auto&... c) { (f(c), ...); }, callbacks_);
  }

  template <class Module>
  CheckpointParts parts_of(Module& m) {
    using torch::serialize::InputArchive;
    using torch::serialize::OutputArchive;
    CheckpointParts p{.module = m, .optimizers = session_.optimizers, .state = session_.state, .progress = session_.progress,
                      .callback_metrics = hub_.stored_metrics(), .live_logs = session_.live_logs, .device = strategy_.device()};
    p.save_precision = [this](OutputArchive& a) { precision_.save(a); };
    p.load_precision = [this](InputArchive& a) { precision_.load(a); };
    p.save_callbacks = [this](OutputArchive& all) {
      std::apply([&](auto&... c) {
        ([&] {
          if constexpr (requires(OutputArchive& a) { c.state_dict(a); }) {
            OutputArchive a;
            c.state_dict(a);
            all.write(state_key_of(c), a);
          }
        }(), ...);
      }, callbacks_);
    };
    p.load_callbacks = [this](InputArchive& all) {
      std::apply([&](auto&... c) {
        ([&] {
          using C = std::remove_cvref_t<decltype(c)>;
          if constexpr (requires(InputArchive& a) { c.load_state_dict(a); }) {
            InputArchive a;
            if (all.try_read(state_key_of(c), a) || all.try_read(legacy_state_key<C>(), a)) c.load_state_dict(a);
          }
        }(), ...);
      }, callbacks_);
    };
    return p;
  }

  Session& session_;
  CallbackTuple& callbacks_;
  Precision& precision_;
  Strategy& strategy_;
  Hub& hub_;
};

}  // namespace kiln::detail
