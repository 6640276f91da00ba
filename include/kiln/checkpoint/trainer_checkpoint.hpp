// SPDX-License-Identifier: Apache-2.0
// kiln/checkpoint/trainer_checkpoint.hpp — what a full checkpoint holds, and putting it back into a Trainer.
#pragma once
#include <cstdint>
#include <functional>
#include <filesystem>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/version.h>

#include <kiln/checkpoint/checkpoint_io.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/linkage.hpp>
#include <kiln/core/optimizer_config.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/version.hpp>
#include <kiln/trainer/log_buffer.hpp>
#include <kiln/util/seed.hpp>

namespace kiln::detail {

/// Where a fit is, as a checkpoint records it: resume at batch `batch` of epoch `epoch`;
/// `epoch_schedulers_pending` when the epoch before it ended but its epoch-interval schedulers
/// have not stepped yet (a checkpoint written at train_epoch_end or validation_end).
struct Progress {
  std::int64_t epoch = 0, batch = 0;
  bool epoch_schedulers_pending = false;
};

/// What restore() leaves for the fit loop: batches to pass over, the pending scheduler step,
/// and the generator states, put back right where the original run stood.
struct ResumePoint {
  std::int64_t skip = 0;
  bool epoch_schedulers_pending = false;
  at::Tensor torch_rng;
  std::string kiln_rng;
  std::map<std::string, StateMap> metric_states;  ///< metric objects logged in training, by logged name
  KILN_DECL void restore_rng() const;
};

/// What of a Trainer and its module a checkpoint reads and writes, seen without their types, so
/// the checkpoint code below is compiled once (not once per Trainer type; KILN_SEPARATE_COMPILATION:
/// once per program). The callbacks and precision policy are reached through these functions;
/// the checkpoint connector (kiln/trainer/checkpoint_connector.hpp) fills them in.
struct CheckpointParts {
  torch::nn::Module& module;
  std::vector<OptimizerConfig>& optimizers;
  State& state;
  Progress& progress;
  MetricMap& callback_metrics;  ///< saved as they are; replaced on restore
  const LogBuffer* live_logs;   ///< the running fit's training logs (their metric states), if any
  std::optional<HParams> hparams;  ///< written by save; restore leaves them to the module
  std::function<void(torch::serialize::OutputArchive&)> save_precision, save_callbacks;
  std::function<void(torch::serialize::InputArchive&)> load_precision, load_callbacks;
  at::Device device = at::kCPU;  ///< where restore puts the tensors (optimizer state): the strategy's device
};

/// The checkpoint format (version 2): one torch archive, then kiln's 20-byte trailer
/// (CheckpointTrailer in checkpoint_io.hpp: a CRC-32 of the archive). The archive holds
///   kiln/{format, kiln_version, torch_version}, module/<param or buffer name>,
///   optimizers/<i> (LibTorch's optimizer archive + kiln_lrs), schedulers/<i> (LRScheduler::state()),
///   precision/ (the loss scaler), progress [epoch, batch, global_step, iteration, pending],
///   metrics/{names, values} (callback_metrics), rng/{torch, kiln},
///   callbacks/<state key>/ (callbacks with state_dict, under detail::state_key_of), hparams/<name>,
///   logged_metrics/<logged name>/<state> (metric objects logged in training; optional).
struct TrainerCheckpoint {
  static constexpr std::int64_t format = 2;

  KILN_DECL static void save(CheckpointParts& p, const std::filesystem::path& path);
  KILN_DECL static ResumePoint restore(CheckpointParts& p, const std::filesystem::path& path, bool strict);

 private:
  /// Archive keys name submodules and attributes, where '.' and '/' do not survive: escaped as %2E, %2F.
  KILN_DECL static std::string archive_key(const std::string& k);
  KILN_DECL static std::string plain_key(const std::string& k);
  KILN_DECL static std::string first_line(const std::string& s);
};

}  // namespace kiln::detail

#if KILN_DEFINITIONS
namespace kiln::detail {

KILN_DECL void ResumePoint::restore_rng() const {
  auto gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(torch_rng);
  }
  std::istringstream in(kiln_rng);
  in >> generator();
}

KILN_DECL void TrainerCheckpoint::save(CheckpointParts& p, const std::filesystem::path& path) {
  using torch::serialize::OutputArchive;
  OutputArchive root, meta, module, optimizers, schedulers, precision, metrics, rng, callbacks;
  meta.write("format", at::scalar_tensor(format, at::kLong));
  meta.write("kiln_version", c10::IValue(std::string(kiln::version)));
  meta.write("torch_version", c10::IValue(std::string(TORCH_VERSION)));
  root.write("kiln", meta);
  save_module_state(p.module, module);
  root.write("module", module);
  for (std::size_t i = 0; i < p.optimizers.size(); ++i) {
    OutputArchive o;
    p.optimizers[i].optimizer->save(o);
    // LibTorch 1.13's optimizer archive keeps the state but not each group's current lr,
    // which a scheduler has moved.
    std::vector<double> lrs;
    for (auto& g : p.optimizers[i].optimizer->param_groups()) lrs.push_back(g.options().get_lr());
    o.write("kiln_lrs", at::tensor(lrs, at::kDouble));
    optimizers.write(std::to_string(i), o);
    if (auto* s = p.optimizers[i].lr_scheduler.get()) {
      const auto st = s->state();
      schedulers.write(std::to_string(i), at::tensor(st, at::kDouble));
    }
  }
  root.write("optimizers", optimizers);
  root.write("schedulers", schedulers);
  p.save_precision(precision);
  root.write("precision", precision);
  const auto& pr = p.progress;
  root.write("progress", at::tensor(std::vector<std::int64_t>{pr.epoch, pr.batch, p.state.global_step, p.state.iteration,
                                                              pr.epoch_schedulers_pending},
                                    at::kLong));
  c10::List<std::string> names;
  std::vector<double> values;
  for (const auto& [k, v] : p.callback_metrics) {
    names.push_back(k);
    values.push_back(v);
  }
  metrics.write("names", c10::IValue(names));
  metrics.write("values", at::tensor(values, at::kDouble));
  root.write("metrics", metrics);
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    rng.write("torch", gen.get_state());
  }
  std::ostringstream kiln_rng;
  kiln_rng << generator();
  rng.write("kiln", c10::IValue(kiln_rng.str()));
  root.write("rng", rng);
  p.save_callbacks(callbacks);
  root.write("callbacks", callbacks);
  if (p.live_logs) {  // metric objects logged in training, mid-epoch
    OutputArchive logged;
    for (const auto& [name, states] : p.live_logs->metric_states()) {
      OutputArchive one;
      for (const auto& [k, v] : states) one.write(archive_key(k), v);
      logged.write(archive_key(name), one);
    }
    root.write("logged_metrics", logged);
  }
  if (p.hparams) {
    OutputArchive hp;
    for (const auto& [k, v] : *p.hparams) std::visit([&](const auto& x) { hp.write(k, c10::IValue(x)); }, v);
    root.write("hparams", hp);
  }
  write_atomically(root, path);
}

KILN_DECL ResumePoint TrainerCheckpoint::restore(CheckpointParts& p, const std::filesystem::path& path, bool strict) {
  using torch::serialize::InputArchive;
  InputArchive root;
  read_archive(root, path, p.device);
  auto sub = [&](InputArchive& parent, const char* key, InputArchive& out) -> void {
    if (!parent.try_read(key, out))
      throw Error(fmt::format("kiln: checkpoint {} has no \"{}\" (not written by kiln's save_checkpoint)", path.string(), key));
  };
  auto tensor = [&](InputArchive& parent, const std::string& key, const std::string& where) -> at::Tensor {
    at::Tensor out;
    if (!parent.try_read(key, out)) throw Error(fmt::format("kiln: checkpoint {} has no \"{}\"", path.string(), where));
    return out;
  };
  InputArchive meta, module, optimizers, schedulers, precision, metrics, rng, callbacks;
  sub(root, "kiln", meta);
  const at::Tensor format_tensor = tensor(meta, "format", "kiln/format");
  if (const auto f = format_tensor.item<std::int64_t>(); f != format)
    throw Error(fmt::format("kiln: checkpoint {} has format {}; this kiln reads format {}", path.string(), f, format));
  sub(root, "module", module);
  sub(root, "optimizers", optimizers);
  sub(root, "schedulers", schedulers);
  sub(root, "precision", precision);
  sub(root, "metrics", metrics);
  sub(root, "rng", rng);
  sub(root, "callbacks", callbacks);
  // Check everything that can be checked before changing anything.
  const auto opt_keys = optimizers.keys();
  if (opt_keys.size() != p.optimizers.size())
    throw Error(fmt::format("kiln: checkpoint {} holds {} optimizer state(s), but configure_optimizers() returned {}",
                            path.string(), opt_keys.size(), p.optimizers.size()));
  const at::Tensor progress = tensor(root, "progress", "progress");
  if (progress.numel() != 5) throw Error(fmt::format("kiln: checkpoint {}: \"progress\" has {} values, expected 5", path.string(), progress.numel()));
  c10::IValue kiln_rng, names;
  if (!rng.try_read("kiln", kiln_rng) || !kiln_rng.isString())
    throw Error(fmt::format("kiln: checkpoint {} has no \"rng/kiln\"", path.string()));
  if (!metrics.try_read("names", names) || !names.isList())
    throw Error(fmt::format("kiln: checkpoint {} has no \"metrics/names\"", path.string()));
  const at::Tensor values = tensor(metrics, "values", "metrics/values");
  if (values.numel() != static_cast<std::int64_t>(names.toList().size()))
    throw Error(fmt::format("kiln: checkpoint {}: metrics/names and metrics/values differ in length", path.string()));
  ResumePoint r{.torch_rng = tensor(rng, "torch", "rng/torch"), .kiln_rng = kiln_rng.toStringRef()};
  {  // both generator states are tried on scratch generators: the real ones are set much later
    auto scratch = at::make_generator<at::CPUGeneratorImpl>();
    try {
      scratch.set_state(r.torch_rng);
    } catch (const std::exception& e) {
      throw Error(fmt::format("kiln: checkpoint {}: \"rng/torch\" is not a generator state: {}", path.string(), first_line(e.what())));
    }
    std::istringstream in(r.kiln_rng);
    std::mt19937_64 g;
    if (!(in >> g)) throw Error(fmt::format("kiln: checkpoint {}: \"rng/kiln\" is not a generator state", path.string()));
  }

  load_module_state(p.module, module, strict, path);
  for (std::size_t i = 0; i < p.optimizers.size(); ++i) {
    const std::string key = std::to_string(i);
    InputArchive o;
    if (!optimizers.try_read(key, o)) throw Error(fmt::format("kiln: checkpoint {} has no \"optimizers/{}\"", path.string(), key));
    try {
      p.optimizers[i].optimizer->load(o);
      at::Tensor lrs;
      auto& groups = p.optimizers[i].optimizer->param_groups();
      if (!o.try_read("kiln_lrs", lrs) || lrs.numel() != static_cast<std::int64_t>(groups.size()))
        throw Error(fmt::format("no \"kiln_lrs\" with one lr per param group ({})", groups.size()));
      lrs = lrs.to(at::kDouble).contiguous();
      for (std::size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(lrs.data_ptr<double>()[g]);
    } catch (const std::exception& e) {
      throw Error(fmt::format("kiln: checkpoint {}: \"optimizers/{}\" does not fit optimizer {}: {}", path.string(), key, i,
                              first_line(e.what())));
    }
    auto* s = p.optimizers[i].lr_scheduler.get();
    at::Tensor st;
    const bool has = schedulers.try_read(key, st);
    if (s && !has) throw Error(fmt::format("kiln: checkpoint {} has no \"schedulers/{}\" for optimizer {}'s scheduler", path.string(), key, i));
    if (!s && has) throw Error(fmt::format("kiln: checkpoint {} has \"schedulers/{}\" but optimizer {} has no scheduler", path.string(), key, i));
    if (s) {
      st = st.to(at::kDouble).contiguous();
      s->load_state(std::vector<double>(st.data_ptr<double>(), st.data_ptr<double>() + st.numel()));
    }
  }
  try {
    p.load_precision(precision);
  } catch (const Error& e) {
    throw Error(fmt::format("kiln: checkpoint {}: precision: {}", path.string(), e.what()));
  }
  const auto pr = progress.to(at::kLong).contiguous();
  const auto* v = pr.data_ptr<std::int64_t>();
  p.state.epoch = v[0];
  p.state.global_step = v[2];
  p.state.iteration = v[3];
  p.progress = {v[0], v[1], v[4] != 0};
  r.skip = v[1];
  r.epoch_schedulers_pending = v[4] != 0;
  const auto list = names.toList();
  const auto vals = values.to(at::kDouble).contiguous();
  p.callback_metrics.clear();
  for (std::size_t i = 0; i < list.size(); ++i)
    p.callback_metrics[list.get(i).toStringRef()] = vals.data_ptr<double>()[i];
  if (InputArchive logged; root.try_read("logged_metrics", logged)) {
    for (const auto& name : logged.keys()) {
      InputArchive one;
      logged.read(name, one);
      StateMap states;
      for (const auto& k : one.keys()) states[plain_key(k)] = tensor(one, k, "logged_metrics/" + name + "/" + k);
      r.metric_states[plain_key(name)] = std::move(states);
    }
  }
  p.load_callbacks(callbacks);
  return r;
}

KILN_DECL std::string TrainerCheckpoint::archive_key(const std::string& k) {
  std::string out;
  for (char c : k) out += c == '%' ? std::string("%25") : c == '.' ? std::string("%2E") : c == '/' ? std::string("%2F") : std::string(1, c);
  return out;
}

KILN_DECL std::string TrainerCheckpoint::plain_key(const std::string& k) {
  std::string out;
  for (std::size_t i = 0; i < k.size(); ++i) {
    if (k[i] == '%' && i + 2 < k.size()) {
      const auto code = k.substr(i + 1, 2);
      out += code == "25" ? '%' : code == "2E" ? '.' : code == "2F" ? '/' : '?';
      i += 2;
    } else {
      out += k[i];
    }
  }
  return out;
}

KILN_DECL std::string TrainerCheckpoint::first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace kiln::detail
#endif  // KILN_DEFINITIONS
