// SPDX-License-Identifier: Apache-2.0
// tests/unit/util/allocator_probe_main.cpp — does a 64 MiB malloc come from mmap before and after a Trainer starts?
// Prints `before=<mmap|heap> after=<mmap|heap> tuning=<what tune_host_allocator reports>`;
// tests/CMakeLists.txt runs it with kiln's default, KILN_HOST_ALLOCATOR=system, and the
// user's own MALLOC_MMAP_MAX_. A process of its own, because malloc's settings are per process.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <kiln/trainer.hpp>

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(2, 1))};
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

// glibc counts mmapped chunks in mallinfo2().hblks: one more while the block is held means mmap.
const char* big_block_source() {
  const auto before = mallinfo2().hblks;
  void* p = std::malloc(64u << 20);
  std::memset(p, 1, 64u << 20);
  asm volatile("" : : "g"(p) : "memory");  // the block is "used": -O3 may not drop malloc/free
  const bool mapped = mallinfo2().hblks > before;
  std::free(p);
  return mapped ? "mmap" : "heap";
}

const char* name(kiln::HostAllocatorTuning t) {
  switch (t) {
    case kiln::HostAllocatorTuning::applied: return "applied";
    case kiln::HostAllocatorTuning::opted_out: return "opted_out";
    case kiln::HostAllocatorTuning::user_settings: return "user_settings";
    case kiln::HostAllocatorTuning::not_glibc: return "not_glibc";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  const bool config_off = argc > 1 && std::strcmp(argv[1], "--config-off") == 0;
  const char* before = big_block_source();
  Net net;
  std::vector<Batch> data{{torch::randn({4, 2}), torch::randn({4, 1})}};
  kiln::Trainer<Net, kiln::Loggers<>> trainer({.max_epochs = 1, .enable_progress_bar = false,
                                               .tune_host_allocator = !config_off});
  trainer.fit(net, data);
  std::printf("before=%s after=%s tuning=%s\n", before, big_block_source(), name(kiln::tune_host_allocator(!config_off)));
}
