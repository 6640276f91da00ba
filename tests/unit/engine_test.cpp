// SPDX-License-Identifier: Apache-2.0
// tests/unit/engine_test.cpp — the Engine alone: Ignite's events, epoch_length and terminate, data sources, exceptions, reruns.
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include <kiln/kiln.hpp>

namespace {

// Records the names of the events it sees, for any event type.
struct Recorder {
  std::vector<std::string> seen;
  template <class E, class T>
  void on(const E&, T&) { seen.emplace_back(E::name); }
};

struct OnError {
  std::string message;
  template <class E>
  void on(const kiln::event::exception& e, E&) { message = e.error.what(); }
};

}  // namespace

TEST_CASE("Engine runs a process function over epochs and emits Ignite's events", "[core][engine]") {
  std::vector<int> data{1, 2, 3, 4, 5};
  int sum = 0;
  auto process = [&](auto&, int& x) { sum += x; };
  kiln::Engine engine(process, Recorder{});
  auto& state = engine.run(data, {.max_epochs = 2});
  REQUIRE(sum == 30);
  REQUIRE(state.iteration == 10);
  REQUIRE(state.epoch == 2);
  REQUIRE(state.epoch_length == 5);
  const auto& seen = engine.handler<Recorder>().seen;
  REQUIRE(seen.front() == "started");
  REQUIRE(seen[1] == "epoch_started");
  REQUIRE(seen[2] == "iteration_started");
  REQUIRE(seen[3] == "iteration_completed");
  REQUIRE(seen[12] == "epoch_completed");
  REQUIRE(seen.back() == "completed");
  REQUIRE(seen.size() == 1 + 2 * (1 + 5 * 2 + 1) + 1);
}

TEST_CASE("Engine honours epoch_length and terminate()", "[core][engine]") {
  std::vector<int> data(100, 1);
  int processed = 0;
  SECTION("epoch_length stops each epoch early") {
    kiln::Engine engine([&](auto&, int&) { ++processed; });
    engine.run(data, {.max_epochs = 3, .epoch_length = 7});
    REQUIRE(processed == 21);
  }
  SECTION("terminate() from the process function stops after that iteration") {
    kiln::Engine engine([&](auto& e, int&) {
      if (++processed == 13) e.terminate();
    });
    auto& s = engine.run(data, {.max_epochs = 5});
    REQUIRE(processed == 13);
    REQUIRE(s.should_stop);
    REQUIRE(s.epoch == 1);  // the epoch that was stopped still completes its epoch_completed
  }
  SECTION("terminate_epoch() ends only the current epoch") {
    kiln::Engine engine([&](auto& e, int&) {
      ++processed;
      if (e.state().batch_idx == 2) e.terminate_epoch();
    });
    engine.run(data, {.max_epochs = 4});
    REQUIRE(processed == 12);
  }
}

TEST_CASE("Engine keeps a tensor output, iterates range-v3 views, and reports exceptions", "[core][engine]") {
  auto batches = ranges::views::iota(0, 6) | ranges::views::transform([](int i) { return torch::full({1}, double(i)); });
  kiln::Engine engine([](auto&, const torch::Tensor& t) { return t * 2; });
  engine.run(batches);
  REQUIRE(engine.state().output.item<double>() == 10.0);
  REQUIRE(engine.state().iteration == 6);

  std::vector<int> data{1, 2, 3};
  kiln::Engine failing([](auto& e, int& x) {
    if (x == 2) throw kiln::Error("bad batch " + std::to_string(e.state().batch_idx));
  }, OnError{});
  REQUIRE_THROWS_AS(failing.run(data), kiln::Error);
  REQUIRE(failing.handler<OnError>().message == "bad batch 1");
}

TEST_CASE("Engine iterates a torch::data loader", "[core][engine]") {
  auto dataset = torch::data::datasets::TensorDataset(torch::arange(10).reshape({10, 1}).to(torch::kFloat))
                     .map(torch::data::transforms::Stack<torch::data::TensorExample>());
  auto loader = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
      std::move(dataset), torch::data::DataLoaderOptions().batch_size(4));
  double total = 0;
  kiln::Engine engine([&](auto&, torch::data::TensorExample& b) { total += b.data.sum().item<double>(); });
  engine.run(loader);
  REQUIRE(total == 45.0);
  REQUIRE(engine.state().iteration == 3);
}

TEST_CASE("running a finished Engine again starts a new run, as in Ignite", "[regression]") {
  std::vector<int> data(5, 1);
  int processed = 0;
  kiln::Engine engine([&](auto&, int&) { ++processed; });
  engine.run(data, {.max_epochs = 2});
  engine.run(data, {.max_epochs = 2});
  REQUIRE(processed == 20);
  REQUIRE(engine.state().epoch == 2);
}
