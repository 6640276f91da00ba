// SPDX-License-Identifier: Apache-2.0
// tests/unit/core/core_test.cpp — policy resolution, events, the Engine alone, every/once filters, config checks.
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include <kiln/kiln.hpp>

namespace {

using Batch = std::pair<torch::Tensor, torch::Tensor>;

struct Net : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Net() { fc = register_module("fc", torch::nn::Linear(2, 1)); }
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

struct CountingCallback {
  int fit_starts = 0;
  int tag = 0;
  template <class T>
  void on(const kiln::event::fit_start&, T&) { ++fit_starts; }
};
struct OtherCallback {
  std::string name = "default";
};

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

struct Count {
  std::vector<std::int64_t> iterations;
  int epochs = 0;
  template <class E>
  void on(const kiln::event::iteration_completed&, E& e) { iterations.push_back(e.state().iteration); }
  template <class E>
  void on(const kiln::event::epoch_completed&, E&) { ++epochs; }
};

}  // namespace

TEST_CASE("Trainer fills default policies and accepts policies in any order", "[core][policies]") {
  using Default = kiln::Trainer<Net>;
  STATIC_REQUIRE(std::is_same_v<Default::strategy_tag, kiln::SingleDevice>);
  STATIC_REQUIRE(std::is_same_v<Default::precision_tag, kiln::FP32>);
  STATIC_REQUIRE(std::is_same_v<Default::callbacks_type, std::tuple<kiln::ProgressBar>>);
  STATIC_REQUIRE(std::is_same_v<Default::loggers_type, std::tuple<kiln::CsvLogger>>);

  using A = kiln::Trainer<Net, kiln::Loggers<>, kiln::Callbacks<CountingCallback>, kiln::Precision<kiln::FP32>>;
  using B = kiln::Trainer<Net, kiln::Precision<kiln::FP32>, kiln::Callbacks<CountingCallback>, kiln::Loggers<>>;
  STATIC_REQUIRE(std::is_same_v<A::callbacks_type, B::callbacks_type>);
  STATIC_REQUIRE(std::is_same_v<A::callbacks_type, std::tuple<CountingCallback, kiln::ProgressBar>>);
  STATIC_REQUIRE(std::is_same_v<A::loggers_type, std::tuple<>>);
  // A user's own ProgressBar replaces the default one instead of adding a second.
  using C = kiln::Trainer<Net, kiln::Callbacks<kiln::ProgressBar, CountingCallback>>;
  STATIC_REQUIRE(std::is_same_v<C::callbacks_type, std::tuple<kiln::ProgressBar, CountingCallback>>);
}

TEST_CASE("Configured callbacks go to the constructor in any order; the rest are default-constructed",
          "[core][policies]") {
  using T = kiln::Trainer<Net, kiln::Callbacks<CountingCallback, OtherCallback>, kiln::Loggers<>>;
  T trainer({.max_epochs = 3}, OtherCallback{"configured"}, CountingCallback{.tag = 7});
  REQUIRE(trainer.callback<OtherCallback>().name == "configured");
  REQUIRE(trainer.callback<CountingCallback>().tag == 7);
  T defaults;
  REQUIRE(defaults.callback<OtherCallback>().name == "default");
  REQUIRE(defaults.callback<CountingCallback>().tag == 0);

  Net net;
  std::vector<Batch> data{{torch::ones({4, 2}), torch::zeros({4, 1})}};
  trainer.fit(net, data);
  REQUIRE(trainer.callback<CountingCallback>().fit_starts == 1);
  REQUIRE(trainer.state().epoch == 3);
}

TEST_CASE("Event tags have names and positions in kiln::event::all", "[core][events]") {
  STATIC_REQUIRE(kiln::event::index_of<kiln::event::setup> == 0);
  STATIC_REQUIRE(kiln::event::index_of<kiln::event::terminated> == kiln::event::count - 1);
  STATIC_REQUIRE(kiln::event::train_epoch_end::name == "train_epoch_end");
}

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

TEST_CASE("every(n) and once(n) forward an event on its n-th occurrences only", "[core][filters]") {
  std::vector<int> data(10, 0);
  kiln::Engine engine([](auto&, int&) {}, kiln::every(4, Count{}), kiln::once(3, Count{}));
  engine.run(data, {.max_epochs = 3});
  auto& every = engine.handler<kiln::Every<Count>>().handler();
  auto& once = engine.handler<kiln::Once<Count>>().handler();
  REQUIRE(every.iterations == std::vector<std::int64_t>{4, 8, 12, 16, 20, 24, 28});
  REQUIRE(every.epochs == 0);  // 3 epochs: the 4th never comes
  REQUIRE(once.iterations == std::vector<std::int64_t>{3});
  REQUIRE(once.epochs == 1);
  // Events the wrapped handler does not handle are not forwarded (and cost nothing).
  STATIC_REQUIRE(!kiln::Handles<kiln::Every<Count>, kiln::event::started, decltype(engine)>);
}

TEST_CASE("TrainerConfig errors name the option", "[core][config]") {
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH(kiln::validate({.accumulate_grad_batches = 0}), Contains("accumulate_grad_batches") && Contains("got 0"));
  REQUIRE_THROWS_WITH(kiln::validate({.limit_train_batches = 1.5}), Contains("limit_train_batches"));
  REQUIRE_THROWS_WITH(kiln::validate({.log_every_n_steps = -2}), Contains("log_every_n_steps"));
  REQUIRE_THROWS_WITH(kiln::validate({.gradient_clip_val = -1.0}), Contains("gradient_clip_val"));
  REQUIRE_THROWS_WITH(kiln::validate({.accelerator = "tpu"}), Contains("accelerator"));
  REQUIRE_NOTHROW(kiln::validate({}));
  using T = kiln::Trainer<Net, kiln::Loggers<>>;
  REQUIRE_THROWS_AS(T({.check_val_every_n_epoch = 0}), kiln::Error);
}

TEST_CASE("BatchLimit resolves counts and fractions as Lightning does", "[core][config]") {
  REQUIRE(kiln::BatchLimit(1.0).resolve(40, "x") == 40);
  REQUIRE(kiln::BatchLimit(0.25).resolve(40, "x") == 10);
  REQUIRE(kiln::BatchLimit(0.26).resolve(40, "x") == 10);  // int(0.26 * 40)
  REQUIRE(kiln::BatchLimit(5).resolve(40, "x") == 5);
  REQUIRE(kiln::BatchLimit(50).resolve(40, "x") == 40);
  REQUIRE(kiln::BatchLimit(5).resolve(std::nullopt, "x") == 5);
  REQUIRE(kiln::BatchLimit(1.0).resolve(std::nullopt, "x") == -1);
  REQUIRE_THROWS_WITH(kiln::BatchLimit(0.5).resolve(std::nullopt, "limit_val_batches"),
                      Catch::Matchers::Contains("limit_val_batches=0.5"));
}
