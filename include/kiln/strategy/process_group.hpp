// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/process_group.hpp — kiln::dist::init_process_group: a c10d group over a TCPStore rendezvous.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if KILN_HAS_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if KILN_HAS_NCCL  // set by kiln's CMake where LibTorch was built with CUDA and NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/strategy/collectives.hpp>
#include <kiln/strategy/environment.hpp>

namespace kiln::dist {

/// How to join the other ranks. Unset fields come from the launcher's environment (MASTER_ADDR,
/// MASTER_PORT; RANK/WORLD_SIZE/LOCAL_RANK or their mpirun/SLURM equivalents).
struct GroupOptions {
  /// "gloo" (CPU tensors) or "nccl" (CUDA tensors; this rank's GPU is cuda:LOCAL_RANK).
  std::string backend = "gloo";
  std::string master_addr;   ///< default: $MASTER_ADDR, else 127.0.0.1
  int master_port = 0;       ///< default: $MASTER_PORT, else 29500
  /// How long a collective or the rendezvous waits for the other ranks before it fails.
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
};

/// Makes the process group the kiln::dist collectives use; a no-op for a world of one.
/// Throws kiln::Error naming the rank, the address and what failed.
inline void init_process_group(const GroupOptions& opt = {}) {
  if (is_initialized()) throw Error("kiln: dist::init_process_group called twice");
  const ProcessEnvironment env = process_environment();
  if (env.world_size == 1) return;
  const char* addr_env = std::getenv("MASTER_ADDR");
  std::string addr = !opt.master_addr.empty() ? opt.master_addr : (addr_env && *addr_env ? addr_env : "127.0.0.1");
  int port = opt.master_port;
  if (port == 0) {
    int p = 29500;
    kiln::detail::env_int("MASTER_PORT", p);
    port = p;
  }
  // Under SLURM without MASTER_ADDR/MASTER_PORT (as Lightning): the job's first node, and a port
  // derived from the job id so that jobs sharing a node do not collide.
  if (std::string(env.launcher) == "slurm") {
    const char* nodes = std::getenv("SLURM_JOB_NODELIST");
    if (!nodes) nodes = std::getenv("SLURM_NODELIST");
    if (opt.master_addr.empty() && !(addr_env && *addr_env) && nodes && *nodes) addr = slurm_first_node(nodes);
    int job = -1;
    if (opt.master_port == 0 && !std::getenv("MASTER_PORT") && kiln::detail::env_int("SLURM_JOB_ID", job))
      port = 10000 + job % 10000;
  }
  if (port < 1 || port > 65535) throw Error(fmt::format("kiln: MASTER_PORT {} is not a TCP port", port));
  if (opt.backend != "gloo" && opt.backend != "nccl")
    throw Error(fmt::format("kiln: dist backend \"{}\" is unknown (gloo and nccl are kiln's)", opt.backend));
#if !KILN_HAS_NCCL
  if (opt.backend == "nccl")
    throw Error("kiln: dist backend \"nccl\" is not available: kiln was configured against a LibTorch without "
                "CUDA and NCCL (KILN_HAS_NCCL is 0)");
#endif
#if KILN_HAS_GLOO || KILN_HAS_NCCL
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(port);
    // torchrun's agent already serves the store at MASTER_ADDR:MASTER_PORT; rank 0 joins it then.
    const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    so.isServer = env.rank == 0 && !(agent_store && std::string(agent_store) == "True");
    so.numWorkers = env.world_size;
    so.timeout = opt.timeout;
    store = c10::make_intrusive<c10d::TCPStore>(addr, so);
  } catch (const std::exception& e) {
    throw Error(fmt::format("kiln: rank {} of {} could not join the rendezvous at {}:{}: {}", env.rank,
                            env.world_size, addr, port, e.what()));
  }
  // Every rank must agree on the world size: each posts its own and compares with the others',
  // rank 0's first, so every mismatch is seen by rank 0 and by the rank that differs from it.
  // Rank 0 hosts the store: on a mismatch it waits (briefly) until the others have read what they
  // need, lest its exit cut them off with a bare "connection closed" instead of the sentence.
  try {
    const auto bytes = [](const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); };
    const std::string mine = std::to_string(env.world_size);
    store->set(fmt::format("kiln/world_size/{}", env.rank), bytes(mine));
    std::string mismatch;
    for (int r = 0; r < env.world_size && mismatch.empty(); ++r) {
      if (r == env.rank) continue;
      const auto v = store->get(fmt::format("kiln/world_size/{}", r));
      const std::string theirs(v.begin(), v.end());
      if (theirs != mine)
        mismatch = fmt::format("kiln: rank {} has WORLD_SIZE={}, but rank {} has WORLD_SIZE={}", env.rank,
                               env.world_size, r, theirs);
    }
    store->set(fmt::format("kiln/world_size_read/{}", env.rank), bytes("1"));
    if (!mismatch.empty()) {
      if (env.rank == 0) {
        using namespace std::chrono;
        const auto until = steady_clock::now() + std::min<milliseconds>(opt.timeout, seconds(5));
        for (int r = 1; r < env.world_size; ++r) {
          const auto left = duration_cast<milliseconds>(until - steady_clock::now());
          if (left.count() <= 0) break;
          try {
            store->wait({fmt::format("kiln/world_size_read/{}", r)}, left);
          } catch (const std::exception&) {
            break;  // that rank never came or is stuck on a missing one: the sentence is still rank 0's
          }
        }
      }
      throw Error(mismatch);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(fmt::format("kiln: rank {} of {}: the other ranks did not all join the rendezvous at {}:{} within the "
                            "timeout: {}", env.rank, env.world_size, addr, port, std::string(e.what()).substr(0, 200)));
  }
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("kiln/" + opt.backend, store);
#if KILN_HAS_NCCL
  if (opt.backend == "nccl") {
    try {
      const int gpus = static_cast<int>(c10::cuda::device_count());
      if (env.local_rank >= gpus)
        throw Error(fmt::format("LOCAL_RANK {} but this host has {} GPU{}", env.local_rank, gpus, gpus == 1 ? "" : "s"));
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(env.local_rank));
      auto no = c10d::ProcessGroupNCCL::Options::create();
      no->timeout = opt.timeout;
      detail::slot().group = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, env.rank, env.world_size, no);
      detail::slot().device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
      detail::slot().env = env;
      detail::slot().store = store;
    } catch (const std::exception& e) {
      throw Error(fmt::format("kiln: rank {} of {} could not start the nccl process group ({}:{}): {}", env.rank,
                              env.world_size, addr, port, e.what()));
    }
    return;
  }
#endif
#if KILN_HAS_GLOO
  try {
    auto go = c10d::ProcessGroupGloo::Options::create();
    go->timeout = opt.timeout;
    // As PyTorch: GLOO_SOCKET_IFNAME picks the interface, else the address the hostname resolves to.
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    go->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                            : c10d::ProcessGroupGloo::createDefaultDevice());
    detail::slot().group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, env.rank, env.world_size, go);
    detail::slot().env = env;
    detail::slot().store = store;
  } catch (const std::exception& e) {
    throw Error(fmt::format("kiln: rank {} of {} could not start the gloo process group ({}:{}): {}", env.rank,
                            env.world_size, addr, port, e.what()));
  }
#else
  throw Error("kiln: this LibTorch build was configured without Gloo (libgloo-dev), so no CPU process group");
#endif
#else
  throw Error("kiln: this LibTorch build was configured without Gloo (libgloo-dev), so no process group");
#endif
}

/// Leaves the group; the collectives are the identity again.
inline void destroy_process_group() { detail::slot() = {}; }

}  // namespace kiln::dist
