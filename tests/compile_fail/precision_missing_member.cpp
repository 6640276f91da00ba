// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/precision_missing_member.cpp — a user's precision without update().
// kiln-expect-error: kiln: the precision \(PrecisionImpl<Tag> of Precision<Tag>\) has no unscale\(optimizer\), optimizer_step\(optimizer\) returning bool and update\(\)\. Add it
#include "net.hpp"

struct OwnPrecision {};

template <>
class kiln::PrecisionImpl<OwnPrecision> {
 public:
  void setup(torch::nn::Module&, const c10::Device&) {}
  std::string setup_notice() const { return {}; }
  int autocast() const { return 0; }
  template <class B, class F>
  decltype(auto) with_batch(B& b, F&& f) { return f(b); }
  void backward(const at::Tensor& loss) { loss.backward(); }
  void unscale(torch::optim::Optimizer&) {}
  bool optimizer_step(torch::optim::Optimizer& o) {
    o.step();
    return true;
  }
#ifndef KILN_MISTAKE
  void update() {}
#endif
  void save(torch::serialize::OutputArchive&) const {}
  void load(torch::serialize::InputArchive&) {}
};

int main() { fit_once<Net, kiln::Trainer<Net, kiln::Precision<OwnPrecision>>>(); }
