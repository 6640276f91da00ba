// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/strategy_missing_member.cpp — a user's strategy without gradient synchronisation.
// kiln-expect-error: kiln: the strategy \(StrategyImpl<Tag> of Strategy<Tag>\) has no before_backward\(bool\) and reduce_gradients\(\)\. Add it
#include "net.hpp"

struct OwnStrategy {};

template <>
class kiln::StrategyImpl<OwnStrategy> {
 public:
  void setup(const kiln::TrainerConfig&) {}
  c10::Device device() const { return c10::kCPU; }
  void setup_module(torch::nn::Module&) {}
  template <class B, class F>
  decltype(auto) with_batch_on_device(B& b, F&& f) { return f(b); }
  int rank() const { return 0; }
  int local_rank() const { return 0; }
  int world_size() const { return 1; }
  bool is_global_zero() const { return true; }
  void barrier() {}
#ifndef KILN_MISTAKE
  void before_backward(bool) {}
  void reduce_gradients() {}
#endif
  void broadcast_from_zero(at::Tensor&) {}
  void all_reduce_max(at::Tensor&) {}
  static void reduce_for_logs(at::Tensor&, kiln::Reduce) {}
};

int main() { fit_once<Net, kiln::Trainer<Net, kiln::Strategy<OwnStrategy>>>(); }
