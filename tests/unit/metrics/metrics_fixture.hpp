// SPDX-License-Identifier: Apache-2.0
// tests/unit/metrics/metrics_fixture.hpp — comparing a metric with scikit-learn's value (sklearn_fixtures.hpp), fed in batches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/metrics.hpp>

#include "sklearn_fixtures.hpp"

namespace metrics_fixture {

using namespace kiln::metrics;
namespace fx = sklearn_fixtures;

inline torch::Tensor D(const std::vector<double>& v) { return torch::tensor(v, torch::kDouble); }
inline torch::Tensor L(const std::vector<long>& v) { return torch::tensor(std::vector<int64_t>(v.begin(), v.end()), torch::kLong); }

/// The tensor equals scikit-learn's value `key` element by element, to 1e-9.
inline void matches(const torch::Tensor& got, const std::string& key) {
  INFO(key);
  const auto& want = fx::expected.at(key);
  auto g = got.to(torch::kDouble).flatten().contiguous();
  REQUIRE(g.numel() == static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) CHECK(g[i].item<double>() == Approx(want[i]).margin(1e-9).epsilon(1e-9));
}

/// Feeds (preds, target) to `m` in batches of 37 rows, so that state accumulation is tested too.
template <class M>
torch::Tensor batched(M m, const torch::Tensor& p, const torch::Tensor& t) {
  for (int64_t i = 0; i < p.size(0); i += 37) m.update(p.slice(0, i, i + 37), t.slice(0, i, i + 37));
  return m.compute();
}

inline const ClassificationOptions binary{.task = Task::binary};
inline ClassificationOptions mc(Average a = Average::micro) { return {.task = Task::multiclass, .num_classes = 5, .average = a}; }
inline ClassificationOptions ml(Average a = Average::micro) { return {.task = Task::multilabel, .num_labels = 4, .average = a}; }

}  // namespace metrics_fixture
