// SPDX-License-Identifier: Apache-2.0
// benchmarks/metrics.cpp — cost of updating Accuracy + F1 (macro) + ConfusionMatrix per batch, relative to a training step.
// Usage: metrics [--steps N] [--repeats R]
// One thread. Each repeat times, interleaved: (a) N training steps of the Fashion-MNIST CNN
// (examples/fashion_cnn.hpp, batch 64, Adam) on synthetic images, (b) N training steps of the
// tiny MLP 784-64-10 (batch 32, Adam) of benchmarks/overhead, (c) N updates of the three
// metrics with [64, 10] logits and targets (validate_args on, the default: it reads the target's
// min/max), (d) the same with validate_args off. Prints medians:
//   RESULT metrics update_vs_cnn_step=<c/a> update_vs_mlp_step=<c/b> novalidate_vs_cnn_step=<d/a>
//          update_us=<c per update> cnn_step_us=<a> mlp_step_us=<b>
// and checks the metrics' values against the functional forms over the same data.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <kiln/metrics.hpp>

#include "../examples/fashion_cnn.hpp"

#include "median.hpp"

using kiln_bench::median;

namespace {
using clk = std::chrono::steady_clock;
using namespace kiln::metrics;

template <class F>
double seconds_per(int n, F&& f) {
  const auto t0 = clk::now();
  for (int i = 0; i < n; ++i) f(i);
  return std::chrono::duration<double>(clk::now() - t0).count() / n;
}

struct Mlp : torch::nn::Module {
  torch::nn::Linear fc1{register_module("fc1", torch::nn::Linear(784, 64))};
  torch::nn::Linear fc2{register_module("fc2", torch::nn::Linear(64, 10))};
  torch::Tensor forward(torch::Tensor x) { return fc2(torch::relu(fc1(x))); }
};
}  // namespace

int main(int argc, char** argv) {
  int steps = 200, repeats = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--steps") steps = std::atoi(argv[i + 1]);
    else if (a == "--repeats") repeats = std::atoi(argv[i + 1]);
    else { std::fprintf(stderr, "metrics: unknown option %s\n", argv[i]); return 2; }
  }
  torch::set_num_threads(1);
  torch::manual_seed(0);
  const int distinct = 16;
  std::vector<torch::Tensor> images, flat, labels, logits, mlp_labels;
  for (int i = 0; i < distinct; ++i) {
    images.push_back(torch::randn({64, 1, 28, 28}));
    labels.push_back(torch::randint(0, 10, {64}));
    flat.push_back(torch::randn({32, 784}));
    mlp_labels.push_back(torch::randint(0, 10, {32}));
    logits.push_back(torch::randn({64, 10}));
  }
  FashionCNN cnn;
  torch::optim::Adam cnn_opt(cnn.parameters(), 1e-3);
  Mlp mlp;
  torch::optim::Adam mlp_opt(mlp.parameters(), 1e-3);
  auto cnn_step = [&](int i) {
    cnn_opt.zero_grad();
    torch::cross_entropy_loss(cnn.forward(images[i % distinct]), labels[i % distinct]).backward();
    cnn_opt.step();
  };
  auto mlp_step = [&](int i) {
    mlp_opt.zero_grad();
    torch::cross_entropy_loss(mlp.forward(flat[i % distinct]), mlp_labels[i % distinct]).backward();
    mlp_opt.step();
  };
  ClassificationOptions o{.task = Task::multiclass, .num_classes = 10};
  ClassificationOptions macro = o;
  macro.average = Average::macro;
  auto fast = o, fast_macro = macro;
  fast.validate_args = fast_macro.validate_args = false;
  Accuracy acc(o), acc_fast(fast);
  F1Score f1(macro), f1_fast(fast_macro);
  ConfusionMatrix cm(o), cm_fast(fast);
  auto update = [&](int i) {
    acc.update(logits[i % distinct], labels[i % distinct]);
    f1.update(logits[i % distinct], labels[i % distinct]);
    cm.update(logits[i % distinct], labels[i % distinct]);
  };
  auto update_fast = [&](int i) {
    acc_fast.update(logits[i % distinct], labels[i % distinct]);
    f1_fast.update(logits[i % distinct], labels[i % distinct]);
    cm_fast.update(logits[i % distinct], labels[i % distinct]);
  };
  for (int i = 0; i < 10; ++i) cnn_step(i), mlp_step(i), update(i), update_fast(i);  // warm-up
  std::vector<double> cnn_s, mlp_s, upd_s, fast_s;
  for (int r = 0; r < repeats; ++r) {
    acc.reset(), f1.reset(), cm.reset(), acc_fast.reset(), f1_fast.reset(), cm_fast.reset();
    cnn_s.push_back(seconds_per(steps, cnn_step));
    upd_s.push_back(seconds_per(steps, update));
    mlp_s.push_back(seconds_per(steps, mlp_step));
    fast_s.push_back(seconds_per(steps, update_fast));
  }
  // The metrics saw `steps` batches cycling over the distinct ones: check them against the functional forms.
  std::vector<torch::Tensor> lg, tg;
  for (int i = 0; i < steps; ++i) lg.push_back(logits[i % distinct]), tg.push_back(labels[i % distinct]);
  auto all_l = torch::cat(lg), all_t = torch::cat(tg);
  const bool ok = torch::allclose(acc.compute(), functional::accuracy(all_l, all_t, o)) &&
                  torch::allclose(f1_fast.compute(), functional::f1_score(all_l, all_t, macro)) &&
                  torch::equal(cm.compute(), functional::confusion_matrix(all_l, all_t, o));
  if (!ok) {
    std::fprintf(stderr, "metrics: the updated metrics differ from the functional forms\n");
    return 1;
  }
  const double a = median(cnn_s), b = median(mlp_s), c = median(upd_s), d = median(fast_s);
  std::printf("RESULT metrics update_vs_cnn_step=%.4f update_vs_mlp_step=%.3f novalidate_vs_cnn_step=%.4f "
              "update_us=%.1f novalidate_us=%.1f cnn_step_us=%.0f mlp_step_us=%.1f\n",
              c / a, c / b, d / a, c * 1e6, d * 1e6, a * 1e6, b * 1e6);
  return 0;
}
