// SPDX-License-Identifier: Apache-2.0
// tests/gpu/cuda_test.cpp — kiln's CUDA paths: mixed precision, the GradScaler's fused kernels, pinned batch transfer, DDP on cuda:0, checkpoints from GPU to CPU, scale_batch_size to out-of-memory.
// Each case needs a CUDA device; without one it prints "SKIPPED: needs ..." and ctest marks it
// skipped (SKIP_REGULAR_EXPRESSION), so the same binary runs everywhere and scripts/gpu-check runs
// it where there is a GPU.
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/kiln.hpp>
#include <kiln/strategy/ddp.hpp>
#include <kiln/tuner.hpp>

#include "../unit/linear_data.hpp"

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;
using kiln_test::linear_data;

bool cuda_or_skip(const char* what) {
  if (torch::cuda::is_available()) return true;
  std::printf("SKIPPED: needs a CUDA device for %s (torch::cuda::is_available() is false)\n", what);
  return false;
}

kiln::TrainerConfig on_cuda(int epochs = 3) {
  return {.max_epochs = epochs, .num_sanity_val_steps = 0,
          .default_root_dir = std::filesystem::temp_directory_path() / "kiln_gpu_tests",
          .enable_progress_bar = false, .accelerator = "cuda"};
}

struct Linear : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Linear() {
    torch::manual_seed(1);
    fc = register_module("fc", torch::nn::Linear(3, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

// Mean squared error of `m` over `data`, computed in float32 on the module's device.
double mse(Linear& m, const std::vector<Batch>& data) {
  torch::NoGradGuard no_grad;
  const auto device = m.fc->weight.device();
  double sum = 0;
  for (const auto& [x, y] : data) sum += torch::mse_loss(m.fc(x.to(device)), y.to(device)).item<double>();
  return sum / static_cast<double>(data.size());
}

template <class Precision>
void trains_on_cuda() {
  const auto data = linear_data(16, 32);
  Linear m;
  const double before = mse(m, data);
  kiln::Trainer<Linear, kiln::Loggers<>, kiln::Precision<Precision>> t(on_cuda());
  t.fit(m, data);
  CHECK(m.fc->weight.is_cuda());
  const double after = mse(m, data);
  INFO("mse before " << before << ", after " << after);
  CHECK(after < before * 0.05);
}

}  // namespace

TEST_CASE("BF16Mixed trains on CUDA under autocast", "[gpu][precision]") {
  if (!cuda_or_skip("BF16Mixed on CUDA")) return;
  trains_on_cuda<kiln::BF16Mixed>();
}

TEST_CASE("FP16Mixed trains on CUDA with the GradScaler on the GPU", "[gpu][precision]") {
  if (!cuda_or_skip("FP16Mixed on CUDA")) return;
  trains_on_cuda<kiln::FP16Mixed>();
}

TEST_CASE("the GradScaler's fused CUDA kernels agree with its CPU arithmetic", "[gpu][precision][grad_scaler]") {
  if (!cuda_or_skip("the GradScaler's CUDA path")) return;
  constexpr double inf = std::numeric_limits<double>::infinity();
  // loss = w * c: the gradient is c, so inf and NaN entries plant non-finite gradients.
  const std::vector<double> script{1.0, inf, 2.0, 3.0, std::numeric_limits<double>::quiet_NaN(), 4.0, 5.0};
  auto run = [&](const torch::Device& d) {
    kiln::GradScaler scaler({.init_scale = 1024.0, .growth_interval = 2});
    scaler.to(d);
    auto w = torch::ones({1}, torch::TensorOptions().device(d).requires_grad(true));
    torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.01));
    std::vector<double> scales, weights;
    for (double c : script) {
      opt.zero_grad();
      scaler.scale((w * c).sum()).backward();
      scaler.step(opt);
      scaler.update();
      scales.push_back(scaler.get_scale());
      weights.push_back(w.item<double>());
    }
    return std::pair{scales, weights};
  };
  const auto [cpu_scales, cpu_weights] = run(torch::kCPU);
  const auto [gpu_scales, gpu_weights] = run(torch::Device(torch::kCUDA, 0));
  CHECK(gpu_scales == cpu_scales);
  CHECK(cpu_scales == std::vector<double>{1024, 512, 512, 1024, 512, 512, 1024});
  REQUIRE(gpu_weights.size() == cpu_weights.size());
  for (std::size_t i = 0; i < cpu_weights.size(); ++i) CHECK(gpu_weights[i] == Approx(cpu_weights[i]).epsilon(1e-6));
}

TEST_CASE("batches reach the GPU from pinned memory with their values", "[gpu][strategy]") {
  if (!cuda_or_skip("pinned-memory batch transfer")) return;
  const torch::Device gpu(torch::kCUDA, 0);
  const Batch b{torch::arange(12, torch::kFloat).reshape({4, 3}), torch::arange(4)};
  Batch seen;
  kiln::detail::with_batch_on(gpu, const_cast<Batch&>(b), [&](Batch& moved) {
    seen = {moved.first.clone(), moved.second.clone()};  // clone: the copy is queued on the stream
  });
  CHECK(seen.first.device() == gpu);
  CHECK(seen.second.device() == gpu);
  CHECK(torch::equal(seen.first.cpu(), b.first));
  CHECK(torch::equal(seen.second.cpu(), b.second));
  // A batch the loader already pinned is copied as it is.
  const auto pinned = b.first.pin_memory();
  CHECK(pinned.is_pinned());
  CHECK(torch::equal(kiln::detail::to_device(pinned, gpu).cpu(), b.first));
}

TEST_CASE("Strategy<DDP> in a world of one trains on cuda:0 as SingleDevice does", "[gpu][ddp]") {
  if (!cuda_or_skip("Strategy<DDP> on CUDA")) return;
  const auto data = linear_data(8, 16);
  Linear single, ddp;
  kiln::Trainer<Linear, kiln::Loggers<>>(on_cuda(2)).fit(single, data);
  kiln::Trainer<Linear, kiln::Loggers<>, kiln::Strategy<kiln::DDP>>(on_cuda(2)).fit(ddp, data);
  CHECK(ddp.fc->weight.is_cuda());
  CHECK(torch::allclose(ddp.fc->weight.cpu(), single.fc->weight.cpu(), 1e-6, 1e-7));
}

TEST_CASE("a checkpoint saved on CUDA loads and resumes on CPU", "[gpu][checkpoint]") {
  if (!cuda_or_skip("a checkpoint written from CUDA")) return;
  const auto data = linear_data(8, 16);
  const auto path = std::filesystem::temp_directory_path() / "kiln_gpu_tests" / "from_cuda.ckpt";
  std::filesystem::create_directories(path.parent_path());
  Linear gpu_model;
  kiln::Trainer<Linear, kiln::Loggers<>, kiln::Precision<kiln::FP16Mixed>> t(on_cuda(2));
  t.fit(gpu_model, data);
  t.save_checkpoint(path);

  Linear weights_only;
  kiln::load_weights(weights_only, path);
  CHECK(weights_only.fc->weight.is_cpu());
  CHECK(torch::equal(weights_only.fc->weight, gpu_model.fc->weight.cpu()));

  Linear resumed;
  auto cpu = on_cuda(3);
  cpu.accelerator = "cpu";
  kiln::Trainer<Linear, kiln::Loggers<>, kiln::Precision<kiln::FP16Mixed>> t2(cpu);
  t2.fit(resumed, data, {.ckpt_path = path});
  CHECK(resumed.fc->weight.is_cpu());
  CHECK(t2.state().global_step == 24);  // 2 epochs restored + 1 more, 8 batches each
  CHECK(t2.precision().scaler().get_scale() > 0);
}

namespace {
/// 64 MiB of activations per sample on the GPU, kept for backward.
struct Huge : Linear {
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) {
    const auto h = fc(b.first).repeat({1, 1 << 24});
    return (h * h).mean();
  }
};
}  // namespace

TEST_CASE("scale_batch_size doubles on CUDA until out of memory, and CUDA trains on afterwards", "[gpu][tuner]") {
  if (!cuda_or_skip("a CUDA out-of-memory")) return;
  Huge m;
  kiln::Trainer<Huge, kiln::Loggers<>> t(on_cuda(1));
  const auto make = [](std::int64_t size) { return std::vector<Batch>(2, {torch::randn({size, 3}), torch::randn({size, 1})}); };
  const auto r = kiln::scale_batch_size(t, m, make, {.steps_per_trial = 1, .max_trials = 30});
  REQUIRE(r.trials.size() >= 2);
  CHECK_FALSE(r.trials.back().fits);  // the out-of-memory error was caught
  CHECK(r.batch_size == r.trials.back().batch_size / 2);
  std::printf("scale_batch_size on CUDA: %lld fits, %lld ran out of memory\n", static_cast<long long>(r.batch_size),
              static_cast<long long>(r.trials.back().batch_size));
  t.fit(m, make(r.batch_size));  // the device is usable again
  CHECK(t.state().global_step == 2);
}
