// SPDX-License-Identifier: Apache-2.0
// kiln/strategy/collectives.hpp — kiln::dist: rank, world size and collectives for user code (Ignite's idist).
#pragma once
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/ranges.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>  // in 2.x it includes Backend.hpp

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/strategy/environment.hpp>
#include <kiln/util/torch_compat.hpp>

/// Collectives over kiln's process group. Without one (a single process, or before
/// `init_process_group`) each is the identity: rank 0 of 1, all_reduce returns its input,
/// all_gather a list of one. So code written against them runs unchanged on one process.
namespace kiln::dist {

/// How all_reduce combines the ranks' tensors.
enum class ReduceOp { sum, mean, min, max, product };

namespace detail {
using Group = compat::GroupBase;
struct GroupSlot {
  c10::intrusive_ptr<Group> group;
  c10::intrusive_ptr<c10d::Store> store;  ///< the rendezvous store (for the roll call below)
  ProcessEnvironment env;
  /// Where the group's collectives run: CPU for Gloo, this rank's GPU for NCCL.
  at::Device device{at::kCPU};
  int failures = 0;
};
inline GroupSlot& slot() {
  static GroupSlot s;
  return s;
}
inline Group& group() { return *slot().group; }

/// The tensor a collective runs on: `t` itself when it is contiguous and on the group's device,
/// else a contiguous copy there (NCCL takes CUDA tensors only, so CPU values such as the stop
/// flags travel to this rank's GPU and back).
inline at::Tensor staged(const at::Tensor& t) {
  const auto& d = slot().device;
  if (!d.is_cpu() && t.device() != d) return t.to(d).contiguous();
  return t.is_contiguous() ? t : t.contiguous();
}

inline c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::min: return c10d::ReduceOp::MIN;
    case ReduceOp::max: return c10d::ReduceOp::MAX;
    case ReduceOp::product: return c10d::ReduceOp::PRODUCT;
    default: return c10d::ReduceOp::SUM;  // mean = sum / world_size (Gloo has no AVG)
  }
}

/// After a failed collective: every rank that is still there signs in the store; the ranks
/// that have not signed after a pause are named as lost. If the store (hosted by rank 0) cannot
/// be reached, rank 0 is the one lost.
inline std::string roll_call() {
  auto& s = slot();
  if (!s.store) return {};
  try {
    const std::string prefix = fmt::format("kiln/roll_call/{}/", ++s.failures);
    s.store->set(prefix + std::to_string(s.env.rank), std::vector<std::uint8_t>{1});
    std::this_thread::sleep_for(std::chrono::seconds(2));
    std::vector<int> lost;
    for (int r = 0; r < s.env.world_size; ++r)
      if (!s.store->check({prefix + std::to_string(r)})) lost.push_back(r);
    if (lost.empty()) return {};
    return fmt::format(". Lost: rank{} {} (no answer to a roll call within 2 s)", lost.size() > 1 ? "s" : "",
                       fmt::join(lost, ", "));
  } catch (const std::exception&) {
    return ". Lost: rank 0 (its rendezvous store cannot be reached)";
  }
}

/// Waits for `work`; a failed collective (a lost rank, a timeout) becomes a kiln::Error that
/// names the lost ranks.
inline void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    std::string why = e.what();
    why = why.substr(0, why.find('\n'));
    throw Error(fmt::format("kiln: {} failed on rank {} of {}: {}{}", what, slot().env.rank, slot().env.world_size,
                            why, roll_call()));
  }
}
}  // namespace detail

/// True once kiln::dist::init_process_group (or a DDP strategy) has made a group.
inline bool is_initialized() { return static_cast<bool>(detail::slot().group); }
/// This process's rank in the group; 0 without one.
inline int rank() { return is_initialized() ? detail::slot().env.rank : 0; }
/// The number of processes in the group; 1 without one.
inline int world_size() { return is_initialized() ? detail::slot().env.world_size : 1; }
/// This process's rank on its host; 0 without a group.
inline int local_rank() { return is_initialized() ? detail::slot().env.local_rank : 0; }

/// Combines `t` over all ranks in place and returns it. Every rank must call it with a tensor of
/// the same shape and dtype.
inline at::Tensor all_reduce(at::Tensor t, ReduceOp op = ReduceOp::sum) {
  if (!is_initialized() || world_size() == 1) return t;
  const bool integral = !at::isFloatingType(t.scalar_type()) && !at::isComplexType(t.scalar_type());
  if (op == ReduceOp::mean && integral)
    throw Error(fmt::format("kiln: dist::all_reduce(mean) needs a floating-point tensor, got {}", c10::toString(t.scalar_type())));
  std::vector<at::Tensor> ts{detail::staged(t)};
  c10d::AllreduceOptions o;
  o.reduceOp = detail::to_c10d(op);
  detail::wait(detail::group().allreduce(ts, o), "dist::all_reduce");
  if (!ts[0].is_same(t)) t.copy_(ts[0]);
  if (op == ReduceOp::mean) t.div_(world_size());
  return t;
}

/// A scalar combined over all ranks.
inline double all_reduce(double v, ReduceOp op = ReduceOp::sum) {
  return all_reduce(at::scalar_tensor(v, at::kDouble), op).item<double>();
}

/// Every rank's `t`, in rank order. The first dimension may differ between ranks (each rank's
/// share of a dataset); the other dimensions and the dtype must agree, else a kiln::Error lists
/// the shapes.
inline std::vector<at::Tensor> all_gather(const at::Tensor& t) {
  if (!is_initialized() || world_size() == 1) return {t};
  const int n = world_size();
  const auto device = t.device();
  // Ranks exchange their shapes first: Gloo needs equal sizes, so shorter tensors are padded.
  const int64_t dims = t.dim();
  auto shape = at::full({8}, -1, at::TensorOptions().dtype(at::kLong).device(device));
  if (dims > 7) throw Error(fmt::format("kiln: dist::all_gather takes tensors of up to 7 dimensions, got {}", dims));
  shape[0] = dims;
  for (int64_t d = 0; d < dims; ++d) shape[d + 1] = t.size(d);
  std::vector<at::Tensor> shape_in{detail::staged(shape)};
  std::vector<std::vector<at::Tensor>> shapes_out(1);
  for (int r = 0; r < n; ++r) shapes_out[0].push_back(at::empty_like(shape_in[0]));
  detail::wait(detail::group().allgather(shapes_out, shape_in), "dist::all_gather (shapes)");
  std::vector<std::vector<int64_t>> sizes;
  int64_t max0 = 0;
  bool agree = true;
  for (auto& s : shapes_out[0]) {
    auto c = s.cpu();
    const auto* p = c.data_ptr<int64_t>();
    sizes.emplace_back(p + 1, p + 1 + p[0]);
    if (sizes.back().size() != static_cast<size_t>(dims) ||
        (dims > 0 && !std::equal(sizes.back().begin() + 1, sizes.back().end(), t.sizes().begin() + 1)))
      agree = false;
    if (dims > 0) max0 = std::max(max0, sizes.back()[0]);
  }
  if (!agree)
    throw Error(fmt::format("kiln: dist::all_gather needs the same shape after the first dimension on every "
                            "rank; the ranks have {}", sizes));
  at::Tensor in = detail::staged(t);
  if (dims > 0 && t.size(0) < max0) {
    auto padded_shape = t.sizes().vec();
    padded_shape[0] = max0;
    auto padded = at::zeros(padded_shape, in.options());
    padded.narrow(0, 0, t.size(0)).copy_(in);
    in = padded;
  }
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < n; ++r) out[0].push_back(at::empty_like(in));
  std::vector<at::Tensor> ins{in};
  detail::wait(detail::group().allgather(out, ins), "dist::all_gather");
  for (int r = 0; r < n; ++r) {
    if (dims > 0) out[0][r] = out[0][r].narrow(0, 0, sizes[r][0]);
    if (out[0][r].device() != device) out[0][r] = out[0][r].to(device);  // back where `t` was
  }
  return std::move(out[0]);
}

/// Rank `src`'s `t`, copied into `t` on every rank, and returned.
inline at::Tensor broadcast(at::Tensor t, int src = 0) {
  if (!is_initialized() || world_size() == 1) return t;
  if (src < 0 || src >= world_size())
    throw Error(fmt::format("kiln: dist::broadcast from rank {}, but the ranks are 0..{}", src, world_size() - 1));
  std::vector<at::Tensor> ts{detail::staged(t)};
  c10d::BroadcastOptions o;
  o.rootRank = src;
  detail::wait(detail::group().broadcast(ts, o), "dist::broadcast");
  if (!ts[0].is_same(t)) t.copy_(ts[0]);
  return t;
}

/// Waits until every rank has called barrier().
inline void barrier() {
  if (!is_initialized() || world_size() == 1) return;
  detail::wait(detail::group().barrier(), "dist::barrier");
}

}  // namespace kiln::dist
