// SPDX-License-Identifier: Apache-2.0
// tests/integration/ddp_probe_main.cpp — DDP correctness: `ddp_probe OUT` trains a small MLP with
// Trainer<Net, Strategy<DDP>>. Alone it takes batches of 2B; as two ranks (RANK, WORLD_SIZE=2)
// each takes its half of every batch (rank r: rows r*B..(r+1)*B), the same data order. After
// every optimizer step it checks all ranks hold bit-identical parameters. Rank 0 saves the final
// parameters to OUT. `ddp_probe --compare A B [TOL]` prints the largest difference and exits 1 above TOL (1e-5).
// --fp64: the same under Precision<FP64>. --manual: the same with manual optimization (manual_backward, an optimizer step every second
// batch, the first backward with {.sync = false}). --die-at S / --die-in-val N: rank --die-rank
// (default 1) kills itself after train step S / at its N-th validation step. --every-step: a
// checkpoint after every optimizer step (OUT.ckpt/last.pt), and fit resumes from "last" when there is one.
#include <csignal>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <kiln/callbacks/lambda_callback.hpp>
#include <kiln/callbacks/model_checkpoint.hpp>
#include <kiln/dist.hpp>
#include <kiln/loggers/csv_logger.hpp>
#include <kiln/precision/fp64.hpp>
#include <kiln/strategy/ddp.hpp>
#include <kiln/trainer.hpp>

namespace {
using Batch = std::pair<torch::Tensor, torch::Tensor>;
constexpr int64_t B = 16, batches = 24;
int die_rank = 1;
int64_t die_in_val = -1, val_steps = 0;

struct Net : torch::nn::Module {
  Net(int64_t hidden, bool branch) : fc1(register_module("fc1", torch::nn::Linear(8, hidden))),
                                     fc2(register_module("fc2", torch::nn::Linear(hidden, 3))), branch(branch) {
    if (branch) extra = register_module("extra", torch::nn::Linear(8, 3));
  }
  torch::nn::Linear fc1, fc2, extra{nullptr};
  bool branch;  ///< rank 0 adds extra(x) to the logits: extra gets gradients on rank 0 only
  torch::Tensor loss(const Batch& b) {
    auto logits = fc2(torch::tanh(fc1(b.first)));
    if (branch && kiln::dist::rank() == 0) logits = logits + extra(b.first);
    return torch::cross_entropy_loss(logits, b.second);
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = this->loss(b);
    ctx.log("train/loss", loss);
    ctx.log("synced", loss, {.on_step = false, .on_epoch = true, .sync_dist = true});
    ctx.log("local", loss, {.on_step = false, .on_epoch = true});
    return loss;
  }
  void validation_step(const Batch& b, kiln::StepContext& ctx) {
    if (++val_steps == die_in_val && kiln::dist::rank() == die_rank) std::raise(SIGKILL);
    ctx.log("val/loss", loss(b), {.sync_dist = true});
    // not synced, improving every epoch on rank 0 only: ModelCheckpoint must still take one decision
    ctx.log("rank_score", kiln::dist::rank() == 0 ? double(ctx.epoch()) : -double(ctx.epoch()));
  }
  kiln::OptimizerConfig configure_optimizers() {
    return {.optimizer = std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(1e-2))};
  }
};

struct ManualNet : Net {
  using Net::Net;
  static constexpr bool automatic_optimization = false;
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto l = loss(b);
    const bool step = ctx.batch_idx() % 2 == 1;
    ctx.manual_backward(l / 2, {.sync = step});  // two batches accumulate, averaged over the ranks once
    if (step) ctx.optimizer_step();
    ctx.log("synced", l, {.on_step = false, .on_epoch = true, .sync_dist = true});
    ctx.log("local", l, {.on_step = false, .on_epoch = true});
    return l.detach();
  }
};

/// The batches, cut to this rank's half when the fit starts (the rank is known only then under
/// kiln's own launcher).
struct MyHalves {
  std::vector<Batch> full, mine;
  std::size_t size() const { return full.size(); }
  auto begin() {
    mine.clear();
    const int r = kiln::dist::rank(), w = kiln::dist::world_size();
    for (auto& [x, y] : full) {
      const auto n = x.size(0) / w;
      mine.emplace_back(x.slice(0, r * n, (r + 1) * n), y.slice(0, r * n, (r + 1) * n));
    }
    return mine.begin();
  }
  auto end() { return mine.end(); }
};

torch::Tensor flat_params(Net& m) {
  std::vector<torch::Tensor> ps;
  for (auto& p : m.parameters()) ps.push_back(p.detach().flatten());
  return torch::cat(ps);
}
struct Options {
  int64_t devices, die_at, timeout_s, stop_at, unused;
  std::string logs;  ///< default_root_dir: OUT.logs, or --logs DIR
  bool every_step;
};

template <class M, class Precision = kiln::FP32>
int run(M& m, MyHalves& data, MyHalves& val, const Options& o, const std::string& out) {
  int mismatched_steps = 0, steps = 0;
  auto same = kiln::lambda_callback([&](const kiln::event::train_batch_end&, auto& t) {
    auto all = kiln::dist::all_gather(flat_params(m).unsqueeze(0));
    for (auto& other : all) mismatched_steps += !torch::equal(other, all[0]);
    ++steps;
    if (steps == o.die_at && kiln::dist::rank() == die_rank) std::raise(SIGKILL);
    if (steps == o.stop_at && kiln::dist::rank() == 1) t.state().request_stop("rank 1 asked to stop");
  });
  kiln::ModelCheckpoint ckpt = o.every_step ? kiln::ModelCheckpoint({.dirpath = out + ".ckpt", .save_last = true,
                                                                      .every_n_train_steps = 1})
                                             : kiln::ModelCheckpoint({.dirpath = out + ".ckpt", .filename = "epoch={epoch}",
                                                                      .monitor = "rank_score", .mode = "max", .save_top_k = 1});
  kiln::Trainer<M, kiln::Strategy<kiln::DDP>, kiln::Precision<Precision>, kiln::Loggers<kiln::CsvLogger>,
                kiln::Callbacks<decltype(same), kiln::ModelCheckpoint>> t(
      {.max_epochs = 2, .default_root_dir = o.logs, .enable_progress_bar = false, .devices = o.devices}, same, ckpt,
      kiln::DDP{.timeout = std::chrono::seconds(o.timeout_s), .find_unused_parameters = o.unused == 1});
  t.fit(m, data, val, {.ckpt_path = o.every_step ? std::optional<std::filesystem::path>("last") : std::nullopt});
  if (mismatched_steps) {
    std::fprintf(stderr, "ddp_probe: rank %d: parameters differed between ranks after %d of %d steps\n", kiln::dist::rank(),
                 mismatched_steps, steps);
    return 1;
  }
  if (kiln::dist::rank() == 0) torch::save(flat_params(m), out);
  std::printf("ddp_probe: rank %d of %d: %d steps, ranks identical after every step\n", kiln::dist::rank(),
              kiln::dist::world_size(), steps);
  std::printf("ddp_probe: rank %d: synced=%.12g local=%.12g\n", kiln::dist::rank(), t.callback_metrics().at("synced"),
              t.callback_metrics().at("local"));
  std::printf("ddp_probe: rank %d: log_dir %s\n", kiln::dist::rank(), t.log_dir().c_str());
  return 0;
}
}  // namespace

int main(int argc, char** argv) try {
  torch::set_num_threads(1);
  if ((argc == 4 || argc == 5) && std::string(argv[1]) == "--compare") {
    torch::Tensor a, b;
    torch::load(a, argv[2]);
    torch::load(b, argv[3]);
    const double diff = (a - b).abs().max().item<double>(), tolerance = argc == 5 ? std::atof(argv[4]) : 1e-5;
    std::printf("ddp_probe: largest parameter difference, two ranks vs one: %.3g (tolerance %.3g)\n", diff, tolerance);
    return a.scalar_type() == b.scalar_type() && diff <= tolerance ? 0 : 1;
  }
  int64_t devices = 1, die_at = -1, hidden = 32, timeout_s = 60, stop_at = -1, unused = -1;
  bool manual = false, fp64 = false, every_step = false;
  std::string out, logs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] { return i + 1 < argc ? std::atoll(argv[++i]) : -1; };
    if (a == "--devices") devices = value();
    else if (a == "--die-at") die_at = value();
    else if (a == "--hidden") hidden = value();
    else if (a == "--timeout") timeout_s = value();
    else if (a == "--stop-at") stop_at = value();
    else if (a == "--unused") unused = value();
    else if (a == "--manual") manual = true;
    else if (a == "--logs" && i + 1 < argc) logs = argv[++i];
    else if (a == "--fp64") fp64 = true;
    else if (a == "--every-step") every_step = true;
    else if (a == "--die-rank") die_rank = static_cast<int>(value());
    else if (a == "--die-in-val") die_in_val = value();
    else out = a;
  }
  if (out.empty()) {
    std::fprintf(stderr, "usage: ddp_probe [--devices N] [--die-at STEP] [--die-in-val N] [--die-rank R] [--hidden H] [--timeout S] [--manual] [--fp64] [--every-step] [--logs DIR] OUT | ddp_probe --compare A B [TOL]\n");
    return 2;
  }
  torch::manual_seed(1234);
  MyHalves data;
  for (int64_t i = 0; i < batches; ++i) {
    auto x = torch::randn({2 * B, 8});
    data.full.emplace_back(x, (x.slice(1, 0, 3) + 0.3 * torch::randn({2 * B, 3})).argmax(1));
  }
  MyHalves val;
  for (int64_t i = 0; i < 6; ++i) {
    auto x = torch::randn({2 * B, 8});
    val.full.emplace_back(x, x.slice(1, 0, 3).argmax(1));
  }
  const auto env = kiln::process_environment();
  torch::manual_seed(env.rank + 7);  // different initial weights per rank: DDP must broadcast rank 0's
  const Options o{devices, die_at, timeout_s, stop_at, unused, logs.empty() ? out + ".logs" : logs, every_step};
  if (manual) {
    ManualNet m(hidden, unused >= 0);
    return run(m, data, val, o, out);
  }
  if (fp64) {  // the precision casts the module after DDP has bucketed its parameters
    Net m(hidden, unused >= 0);
    return run<Net, kiln::FP64>(m, data, val, o, out);
  }
  Net m(hidden, unused >= 0);
  return run(m, data, val, o, out);
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
