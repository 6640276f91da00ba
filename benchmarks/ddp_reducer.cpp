// SPDX-License-Identifier: Apache-2.0
// benchmarks/ddp_reducer.cpp — kiln's hook-based gradient buckets against c10d's Reducer (the
// engine under PyTorch's DistributedDataParallel), in one run.
// Usage: ddp_reducer [--devices N] [--steps S] [--batch B] [--bucket-mb M] [--first-bucket-kb K]
// Each rank holds two copies of examples/fashion_cnn.hpp's model with the same weights: one
// averages its gradients with kiln::detail::GradBuckets (what Strategy<DDP> uses), the other
// with c10d::Reducer, bucketed as Python DDP does (rebuilt in gradient order after the first
// step). Both close a bucket at K KiB (default 1024) for the first, M MiB (default 25) after. Both overlap the all-reduces with backward.
// The two take S steps each, alternating step by step, on the same synthetic batches (one
// intra-op thread per process, dropout off), so both see the same load; at the end their
// parameters must be bit-identical, else it fails. Rank 0 prints
//   RESULT ddp_reducer hook_buckets_vs_c10d_reducer=<kiln steps/s over the Reducer's>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/torch.h>

#include <kiln/dist.hpp>
#include <kiln/strategy/detail/channels_last.hpp>
#include <kiln/strategy/detail/grad_buckets.hpp>
#include <kiln/strategy/launcher.hpp>

#include "../examples/fashion_cnn.hpp"
#include "median.hpp"

namespace {
struct Replica {
  FashionCNN model;
  std::unique_ptr<torch::optim::Adam> opt;
  void init() {
    model.eval();  // no dropout: both replicas compute the same steps
    kiln::detail::conv2d_weights_channels_last(model);  // as Strategy<DDP> on CPU
    torch::NoGradGuard g;
    for (auto& p : model.parameters()) kiln::dist::broadcast(p.detach(), 0);
    opt = std::make_unique<torch::optim::Adam>(model.parameters(), torch::optim::AdamOptions(1e-3));
  }
  torch::Tensor loss(const torch::data::Example<>& b) { return torch::cross_entropy_loss(model.forward(b.data), b.target); }
  void step() {
    opt->step();
    for (auto& p : model.parameters()) p.mutable_grad().reset();
  }
};

torch::Tensor flat(FashionCNN& m) {
  std::vector<torch::Tensor> ps;
  for (auto& p : m.parameters()) ps.push_back(p.detach().reshape({-1}));
  return torch::cat(ps);
}
}  // namespace

int main(int argc, char** argv) try {
  std::int64_t devices = 2, steps = 200, batch = 64, bucket_mb = 25, first_kb = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const auto v = std::atoll(argv[i + 1]);
    if (a == "--devices") devices = v;
    else if (a == "--steps") steps = v;
    else if (a == "--batch") batch = v;
    else if (a == "--bucket-mb") bucket_mb = v;
    else if (a == "--first-bucket-kb") first_kb = v;
    else { std::fprintf(stderr, "ddp_reducer: unknown option %s\n", argv[i]); return 2; }
  }
  torch::set_num_threads(1);
  if (kiln::process_environment().world_size == 1 && devices > 1 && !std::getenv("KILN_LAUNCHED"))
    kiln::detail::launch_local_ranks(static_cast<int>(devices));
  kiln::dist::init_process_group();
  if (!kiln::dist::is_initialized()) {
    std::fprintf(stderr, "ddp_reducer: needs two or more ranks (--devices N)\n");
    return 2;
  }
  torch::manual_seed(kiln::dist::rank());  // each rank its own batches: the averages matter
  std::vector<torch::data::Example<>> data;
  for (int i = 0; i < 8; ++i) data.push_back({torch::randn({batch, 1, 28, 28}), torch::randint(0, 10, {batch})});
  const auto cap = static_cast<std::size_t>(bucket_mb) << 20;
  const auto first_cap = static_cast<std::size_t>(first_kb) << 10;

  Replica k, r;
  {
    torch::NoGradGuard g;
    for (std::size_t i = 0; i < k.model.parameters().size(); ++i) r.model.parameters()[i].copy_(k.model.parameters()[i]);
  }
  k.init();
  r.init();
  // kiln: one bucket list in reverse registration order, overlap on
  std::vector<at::Tensor> kp = k.model.parameters();
  std::vector<std::string> names;
  for (auto& item : k.model.named_parameters()) names.push_back(item.key());
  auto buckets = kiln::detail::GradBuckets::make(kp, names, first_cap, cap, /*overlap=*/true);
  // c10d: the Reducer set up as torch/nn/parallel/distributed.py does
  std::vector<at::Tensor> rp = r.model.parameters();
  const std::vector<bool> sparse(rp.size(), false);
  auto [indices, limits] = c10d::compute_bucket_assignment_by_size(rp, {first_cap, cap}, sparse);
  std::reverse(indices.begin(), indices.end());
  std::reverse(limits.begin(), limits.end());
  auto reducer = std::make_unique<c10d::Reducer>(rp, indices, limits, kiln::dist::detail::slot().group, sparse,
                                                 static_cast<int64_t>(cap), /*find_unused_parameters=*/false,
                                                 /*gradient_as_bucket_view=*/false, std::unordered_map<size_t, std::string>{},
                                                 static_cast<int64_t>(first_cap));

  std::size_t at = 0;
  auto kiln_step = [&] {
    const auto& b = data[at++ % data.size()];
    buckets->arm(true);
    k.loss(b).backward();
    buckets->finish();
    k.step();
  };
  std::size_t rat = 0;
  auto reducer_step = [&] {
    const auto& b = data[rat++ % data.size()];
    reducer->rebuild_buckets();  // after the first step: buckets in the order gradients came
    reducer->prepare_for_forward();
    auto l = r.loss(b);
    reducer->prepare_for_backward({l});
    l.backward();  // the Reducer's final callback has averaged the gradients when this returns
    r.step();
  };
  // Steps alternate one by one (ABBA...), each timed between barriers; the medians of the step
  // times are compared, which a burst of load on this shared machine does not move.
  using clk = std::chrono::steady_clock;
  auto timed = [&](auto& step) {
    kiln::dist::barrier();
    const auto t0 = clk::now();
    step();
    kiln::dist::barrier();
    return std::chrono::duration<double>(clk::now() - t0).count();
  };
  for (int w = 0; w < 3; ++w) kiln_step(), reducer_step();  // warm-up (and the Reducer's rebuild)
  std::vector<double> kt, rt;
  for (std::int64_t i = 0; i < steps; ++i) {
    if (i % 2 == 0) kt.push_back(timed(kiln_step)), rt.push_back(timed(reducer_step));
    else rt.push_back(timed(reducer_step)), kt.push_back(timed(kiln_step));
  }
  const auto diff = (flat(k.model) - flat(r.model)).abs().max().item<double>();
  if (kiln::dist::rank() == 0) {
    const double K = 1 / kiln_bench::median(kt), R = 1 / kiln_bench::median(rt);
    std::printf("ddp_reducer world=%d batch=%lld steps/s (median step time): kiln hook buckets %.2f, c10d Reducer %.2f "
                "(%lld steps each); largest parameter difference %.3g\n",
                kiln::dist::world_size(), static_cast<long long>(batch), K, R, static_cast<long long>(steps), diff);
    if (diff != 0) {
      std::fprintf(stderr, "ddp_reducer: the two replicas ended with different parameters\n");
      return 1;
    }
    std::printf("RESULT ddp_reducer hook_buckets_vs_c10d_reducer=%.3f\n", K / R);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
