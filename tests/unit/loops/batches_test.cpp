// SPDX-License-Identifier: Apache-2.0
// tests/unit/loops/batches_test.cpp — skipping and draining on resume, for every kind of data source and kill point.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

namespace batches_test {

namespace fs = std::filesystem;
using Example = torch::data::Example<>;

// Dropout draws from the generator, so a resume is exact only if the generators are restored
// where the killed run stood.
struct Dropout : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  Dropout() {
    torch::manual_seed(5);
    fc = register_module("fc", torch::nn::Linear(4, 3));
  }
  torch::Tensor training_step(const Example& b, kiln::StepContext&) {
    return torch::cross_entropy_loss(fc(torch::dropout(b.data, 0.3, is_training())), b.target);
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

// 40 samples: 5 batches of 8 an epoch.
struct Samples : torch::data::datasets::Dataset<Samples> {
  Example get(std::size_t i) override {
    const auto x = torch::arange(4 * std::int64_t(i), 4 * std::int64_t(i) + 4, torch::kFloat).sin();
    return {x, torch::tensor(std::int64_t(i) % 3)};
  }
  torch::optional<std::size_t> size() const override { return 40; }
};

std::vector<Example> stacked_batches() {
  std::vector<Example> out;
  Samples s;
  for (std::size_t b = 0; b < 5; ++b) {
    std::vector<torch::Tensor> x, y;
    for (std::size_t i = 8 * b; i < 8 * b + 8; ++i) {
      auto e = s.get(i);
      x.push_back(e.data);
      y.push_back(e.target);
    }
    out.push_back({torch::stack(x), torch::stack(y)});
  }
  return out;
}

kiln::data::LoaderOptions shuffled(std::size_t workers) {
  return {.batch_size = 8, .shuffle = true, .workers = workers, .seed = 3};
}

struct WorkersDataModule {
  auto train_dataloader() { return kiln::data::loader(Samples(), shuffled(2)); }
};

// Saves a checkpoint after batch `batch` of `epoch` and ends the run there, as a SIGKILL right
// after the write would.
struct SaveAndStop {
  fs::path path;
  std::int64_t epoch = -1, batch = -1;
  template <class T>
  void on(const kiln::event::train_batch_end& e, T& t) {
    if (t.state().epoch != epoch || e.batch_idx != batch) return;
    t.save_checkpoint(path);
    t.state().request_stop("stopped by the test");
  }
};

using Trainer = kiln::Trainer<Dropout, kiln::Loggers<>, kiln::Callbacks<SaveAndStop>>;

// One process's worth of a run on fresh data from `make`: 3 epochs, or until `stop`; resumed
// from `resume`; with `save_after_fit`, a checkpoint written after fit() returned.
template <class Make>
std::vector<torch::Tensor> train(Make make, std::int64_t limit, SaveAndStop stop = {},
                                 std::optional<fs::path> resume = {}, std::optional<fs::path> save_after_fit = {}) {
  Dropout m;
  auto data = make();
  kiln::TrainerConfig cfg{.max_epochs = 3, .num_sanity_val_steps = 0, .enable_progress_bar = false};
  if (limit > 0) cfg.limit_train_batches = limit;
  Trainer t(cfg, stop);
  t.fit(m, data, {.ckpt_path = resume});
  if (save_after_fit) t.save_checkpoint(*save_after_fit);
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

// Resumes runs stopped at an epoch's first batch, its middle, its last batch (first epoch and
// last), and after fit() ended; each must end bit-identical to the run that was never stopped.
template <class Make>
void resumes_exactly(const std::string& source, Make make, std::int64_t limit = -1) {
  const auto dir = fs::temp_directory_path() / "kiln_batches_test";  // one file per source: ctest runs cases in parallel
  fs::create_directories(dir);
  const auto ckpt = dir / ("stopped_" + std::to_string(std::hash<std::string>{}(source)) + ".ckpt");
  const auto straight = train(make, limit);
  const std::int64_t last = (limit > 0 ? limit : 5) - 1;
  struct Point {
    std::int64_t epoch, batch;
  };
  for (const Point p : {Point{1, 0}, Point{1, 2}, Point{0, last}, Point{1, last}, Point{2, last}, Point{-1, -1}}) {
    INFO(source << ", stopped at epoch " << p.epoch << ", batch " << p.batch << " (-1: after fit)");
    fs::remove(ckpt);
    if (p.epoch >= 0) train(make, limit, SaveAndStop{ckpt, p.epoch, p.batch});
    else train(make, limit, {}, std::nullopt, ckpt);
    REQUIRE(fs::exists(ckpt));
    std::vector<torch::Tensor> resumed;
    REQUIRE_NOTHROW(resumed = train(make, limit, {}, ckpt));
    REQUIRE(resumed.size() == straight.size());
    for (std::size_t i = 0; i < straight.size(); ++i) CHECK(torch::equal(resumed[i], straight[i]));
  }
}

}  // namespace batches_test

using namespace batches_test;

TEST_CASE("a resume skips the trained batches of kiln's loader, with and without workers", "[resume][regression]") {
  resumes_exactly("kiln::data::loader, no workers", [] { return kiln::data::loader(Samples(), shuffled(0)); });
  resumes_exactly("kiln::data::loader, 2 workers", [] { return kiln::data::loader(Samples(), shuffled(2)); });
  resumes_exactly("kiln::data::loader, 2 workers, limit_train_batches=3",
                  [] { return kiln::data::loader(Samples(), shuffled(2)); }, 3);
}

TEST_CASE("a resume skips the trained batches of a LibTorch loader with workers", "[resume][regression]") {
  resumes_exactly("torch::data loader, 2 workers", [] {
    return torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
        Samples().map(torch::data::transforms::Stack<Example>()), torch::data::DataLoaderOptions(8).workers(2));
  });
}

TEST_CASE("a resume skips the trained batches of ranges and of a DataModule's loader", "[resume]") {
  resumes_exactly("std::vector of batches", [] { return stacked_batches(); });
  resumes_exactly("a view yielding batches by value", [] {
    return std::views::iota(0, 5) | std::views::transform([all = stacked_batches()](int i) { return all[std::size_t(i)]; });
  });
  resumes_exactly("a DataModule whose loader has 2 workers", [] { return WorkersDataModule{}; });
}
