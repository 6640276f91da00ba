// SPDX-License-Identifier: Apache-2.0
// tests/unit/data/data_test.cpp — samplers, loaders, IDX files, Fashion-MNIST and DataModules.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <zlib.h>

#include <catch2/catch.hpp>

#include <kiln/data.hpp>
#include <kiln/kiln.hpp>

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Batch = std::pair<torch::Tensor, torch::Tensor>;

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("kiln_data_test_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::size_t> epoch_indices(kiln::data::ShardedSampler& s) {
  s.reset();
  std::vector<std::size_t> out;
  while (auto b = s.next(3)) out.insert(out.end(), b->begin(), b->end());
  return out;
}

// A dataset of single examples: sample i is the scalar i; counts how many were read.
struct Numbers : torch::data::datasets::Dataset<Numbers> {
  std::size_t n;
  std::shared_ptr<std::atomic<int>> reads = std::make_shared<std::atomic<int>>(0);
  explicit Numbers(std::size_t size) : n(size) {}
  torch::data::Example<> get(std::size_t i) override {
    ++*reads;
    return {torch::tensor(static_cast<float>(i)), torch::tensor(static_cast<std::int64_t>(i))};
  }
  torch::optional<std::size_t> size() const override { return n; }
};

template <class L>
std::vector<std::int64_t> epoch_of(L& loader) {
  std::vector<std::int64_t> out;
  for (auto& b : loader)
    for (std::int64_t i = 0; i < b.target.size(0); ++i) out.push_back(b.target[i].template item<std::int64_t>());
  return out;
}

// Writes an IDX file: magic 00 00 08 <dims>, big-endian sizes, then `values` (gzip or plain).
void write_idx(const fs::path& p, std::vector<std::uint32_t> dims, const std::vector<std::uint8_t>& values, bool gz = true,
               std::uint8_t type = 0x08) {
  std::string bytes = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes += static_cast<char>((d >> s) & 0xff);
  bytes.append(values.begin(), values.end());
  if (gz) {
    gzFile f = gzopen(p.string().c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(p, std::ios::binary) << bytes;
  }
}

std::string error_of(const fs::path& p, int dims = 0) {
  try {
    kiln::data::read_idx(p, dims);
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "(no error)";
}

struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) { ::setenv(name.c_str(), value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("ShardedSampler: reproducible from the seed, reshuffled every epoch", "[data][sampler]") {
  kiln::data::ShardedSampler a(100, {.shuffle = true, .seed = 7}), b(100, {.shuffle = true, .seed = 7}),
      c(100, {.shuffle = true, .seed = 8});
  const auto a0 = epoch_indices(a), a1 = epoch_indices(a);
  REQUIRE(a0 == epoch_indices(b));
  REQUIRE(a1 == epoch_indices(b));
  REQUIRE(a0 != a1);                  // a new order each epoch
  REQUIRE(a0 != epoch_indices(c));    // another seed, another order
  auto sorted = a1;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < 100; ++i) REQUIRE(sorted[i] == i);  // a permutation
  a.state()->next_epoch = 0;           // what a resumed run does
  REQUIRE(epoch_indices(a) == a0);

  kiln::data::ShardedSampler plain(5, {});
  REQUIRE(epoch_indices(plain) == std::vector<std::size_t>{0, 1, 2, 3, 4});
}

TEST_CASE("ShardedSampler: ranks see disjoint shards", "[data][sampler]") {
  for (bool even : {false, true}) {
    std::set<std::size_t> seen;
    std::size_t total = 0;
    for (int r = 0; r < 3; ++r) {
      kiln::data::ShardedSampler s(10, {.shuffle = true, .seed = 3, .rank = r, .world_size = 3, .even_shards = even});
      const auto idx = epoch_indices(s);
      REQUIRE(idx.size() == s.state()->shard_size());
      REQUIRE(idx.size() == (even ? 3u : (r == 0 ? 4u : 3u)));
      total += idx.size();
      seen.insert(idx.begin(), idx.end());
    }
    REQUIRE(seen.size() == total);  // no index on two ranks
    REQUIRE(total == (even ? 9u : 10u));
  }
  REQUIRE_THROWS_WITH(kiln::data::ShardedSampler(10, {.rank = 2, .world_size = 2}), Contains("rank 2"));
}

TEST_CASE("data::loader: batches, size, epochs and workers", "[data][loader]") {
  auto l = kiln::data::loader(Numbers(10), {.batch_size = 4, .shuffle = true, .seed = 1});
  REQUIRE(l.size() == 3);
  REQUIRE(l.options().rank == 0);
  REQUIRE(l.options().world_size == 1);
  const auto e0 = epoch_of(l), e1 = epoch_of(l);
  REQUIRE(e0.size() == 10);
  REQUIRE(std::set<std::int64_t>(e0.begin(), e0.end()).size() == 10);
  REQUIRE(e0 != e1);
  REQUIRE(l.epoch() == 1);
  l.set_epoch(0);
  REQUIRE(epoch_of(l) == e0);  // the same epoch again, the same order

  auto dropped = kiln::data::loader(Numbers(10), {.batch_size = 4, .drop_last = true});
  REQUIRE(dropped.size() == 2);
  REQUIRE(epoch_of(dropped) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});

  auto threaded = kiln::data::loader(Numbers(50), {.batch_size = 4, .shuffle = true, .workers = 2, .seed = 5});
  auto t = epoch_of(threaded);
  std::sort(t.begin(), t.end());
  REQUIRE(t.size() == 50);
  REQUIRE(t.front() == 0);
  REQUIRE(t.back() == 49);

  // The seed defaults to a draw from torch's generator: seeding torch repeats the run.
  torch::manual_seed(3);
  auto s1 = kiln::data::loader(Numbers(20), {.batch_size = 5, .shuffle = true});
  torch::manual_seed(3);
  auto s2 = kiln::data::loader(Numbers(20), {.batch_size = 5, .shuffle = true});
  REQUIRE(s1.options().seed == s2.options().seed);
  REQUIRE(epoch_of(s1) == epoch_of(s2));
}

TEST_CASE("data::loader shards by the launcher's rank and world size", "[data][loader]") {
  std::set<std::int64_t> all;
  for (int r = 0; r < 2; ++r) {
    ScopedEnv rank("RANK", std::to_string(r)), world("WORLD_SIZE", "2");
    auto l = kiln::data::loader(Numbers(11), {.batch_size = 2, .shuffle = true, .seed = 9});
    REQUIRE(l.options().rank == r);
    REQUIRE(l.options().world_size == 2);
    REQUIRE(l.size() == 3);  // 11 samples, 5 per rank when shuffling (even shards), batches of 2
    const auto e = epoch_of(l);
    REQUIRE(e.size() == 5);
    for (auto i : e) REQUIRE(all.insert(i).second);
  }
  ScopedEnv bad("WORLD_SIZE", "two"), rank("RANK", "0");
  REQUIRE_THROWS_WITH(kiln::data::loader(Numbers(4), {}), Contains("WORLD_SIZE"));
}

namespace {
struct Mean : torch::nn::Module {
  torch::Tensor w = register_parameter("w", torch::zeros({1}));
  std::int64_t steps = 0, val_steps = 0;
  torch::Tensor training_step(const torch::data::Example<>& b, kiln::StepContext&) {
    ++steps;
    return (b.data.to(torch::kFloat).mean() - w).pow(2).sum();
  }
  void validation_step(const torch::data::Example<>&, kiln::StepContext&) { ++val_steps; }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), 0.1);
  }
};
}  // namespace

TEST_CASE("an epoch cut short on a loader with workers reads only what was in flight", "[data][loader]") {
  Numbers data(4000);
  auto reads = data.reads;
  auto l = kiln::data::loader(data, {.batch_size = 4, .workers = 2});
  Mean m;
  kiln::Trainer<Mean, kiln::Loggers<>> t({.max_epochs = 2, .limit_train_batches = 3, .enable_progress_bar = false});
  t.fit(m, l);
  REQUIRE(m.steps == 6);
  // 2 epochs x (3 used + at most 2 workers x 2 prefetched jobs) batches of 4, not 2 x 1000 batches.
  REQUIRE(reads->load() <= 2 * (3 + 4) * 4);
}

namespace {
// Each batch holds the intra-op thread count its get_batch saw, after a parallel op (the first
// one in a thread is where ATen sets the thread's count).
struct ThreadCounts : torch::data::datasets::BatchDataset<ThreadCounts, torch::data::Example<>> {
  torch::data::Example<> get_batch(c10::ArrayRef<std::size_t> indices) override {
    (void)torch::ones({1 << 20}).sum().item<float>();
    const auto n = static_cast<double>(at::get_num_threads());
    return {torch::full({static_cast<std::int64_t>(indices.size()), 1}, n), torch::zeros({static_cast<std::int64_t>(indices.size())})};
  }
  torch::optional<std::size_t> size() const override { return 64; }
};
}  // namespace

TEST_CASE("loader workers run their own ops on one thread; the training thread keeps its count", "[data][loader][threads]") {
  const int before = at::get_num_threads();
  kiln::configure_threads(2);
  std::set<double> seen;
  auto with_workers = kiln::data::loader(ThreadCounts{}, {.batch_size = 8, .workers = 2});
  for (auto& b : with_workers) seen.insert(b.data[0][0].item<double>());
  REQUIRE(seen == std::set<double>{1.0});     // as PyTorch's DataLoader workers: one thread each
  REQUIRE(at::get_num_threads() == 2);         // the training thread is untouched
  seen.clear();
  auto in_thread = kiln::data::loader(ThreadCounts{}, {.batch_size = 8});
  for (auto& b : in_thread) seen.insert(b.data[0][0].item<double>());
  REQUIRE(seen == std::set<double>{2.0});     // no workers: get_batch runs on the training thread
  kiln::configure_threads(before);
}

TEST_CASE("read_idx reads gzip and plain IDX files", "[data][idx]") {
  const auto dir = fresh_dir("idx_ok");
  std::vector<std::uint8_t> v(24);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(i * 10);
  write_idx(dir / "a.gz", {2, 3, 4}, v);
  write_idx(dir / "a.idx", {2, 3, 4}, v, false);
  for (auto name : {"a.gz", "a.idx"}) {
    auto t = kiln::data::read_idx(dir / name, 3);
    REQUIRE(t.sizes() == torch::IntArrayRef({2, 3, 4}));
    REQUIRE(t.scalar_type() == torch::kUInt8);
    REQUIRE(t[1][2][3].item<int>() == 230);
  }
}

TEST_CASE("read_idx names the file and the problem", "[data][idx]") {
  const auto dir = fresh_dir("idx_bad");
  std::vector<std::uint8_t> v(24, 1);
  const auto missing = dir / "missing.gz";
  REQUIRE_THAT(error_of(missing), Contains(missing.string()) && Contains("no such file"));

  write_idx(dir / "short.gz", {2, 3, 4}, std::vector<std::uint8_t>(10, 1));
  REQUIRE_THAT(error_of(dir / "short.gz"), Contains("short.gz") && Contains("truncated") && Contains("24 bytes"));

  // Found by fuzzing: sizes whose product overflows, and a header claiming more than the file holds.
  write_idx(dir / "huge.idx", {4000000000u, 4000000000u, 4000000000u}, std::vector<std::uint8_t>(3, 1), false);
  REQUIRE_THAT(error_of(dir / "huge.idx"), Contains("huge.idx") && Contains("more than 2^40 values"));
  write_idx(dir / "liar.idx", {1000, 1000}, std::vector<std::uint8_t>(10, 1), false);
  REQUIRE_THAT(error_of(dir / "liar.idx"), Contains("the header describes 1000000 values, more than the 22-byte file can hold"));
  write_idx(dir / "long.gz", {2, 3, 4}, std::vector<std::uint8_t>(25, 1));
  REQUIRE_THAT(error_of(dir / "long.gz"), Contains("long.gz") && Contains("bytes after the 24 values"));

  write_idx(dir / "type.gz", {2, 3, 4}, v, true, 0x0D);
  REQUIRE_THAT(error_of(dir / "type.gz"), Contains("type.gz") && Contains("data type 0x0d"));

  write_idx(dir / "dims.gz", {24}, v);
  REQUIRE_THAT(error_of(dir / "dims.gz", 3), Contains("dims.gz") && Contains("1 dimensions, expected 3"));

  std::ofstream(dir / "magic.idx", std::ios::binary) << std::string("\x01\x02\x08\x01\x00\x00\x00\x01\x05", 9);
  REQUIRE_THAT(error_of(dir / "magic.idx"), Contains("magic.idx") && Contains("bad magic number 01020801"));

  // A gzip stream cut in half, and one with flipped bytes in its compressed data.
  std::vector<std::uint8_t> big(20000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>((i * 7919) % 251);
  write_idx(dir / "full.gz", {20000}, big);
  std::string gz;
  {
    std::ifstream in(dir / "full.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(dir / "cut.gz", std::ios::binary) << gz.substr(0, gz.size() / 2);
  REQUIRE_THAT(error_of(dir / "cut.gz"), Contains("cut.gz") && (Contains("truncated") || Contains("corrupt")));
  auto flipped = gz;
  for (std::size_t i = 40; i < 60; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  std::ofstream(dir / "flipped.gz", std::ios::binary) << flipped;
  REQUIRE_THAT(error_of(dir / "flipped.gz"), Contains("flipped.gz") && Contains("corrupt"));
}

TEST_CASE("FashionMNIST reads Debian's files, splits by seed and normalises", "[data][fashion_mnist]") {
  using kiln::data::FashionMNIST;
  using kiln::data::Split;
  FashionMNIST train({.split = Split::train}), val({.split = Split::val}), test({.split = Split::test});
  REQUIRE(train.size() == 55000u);
  REQUIRE(val.size() == 5000u);
  REQUIRE(test.size() == 10000u);
  REQUIRE(train.images().sizes() == torch::IntArrayRef({55000, 1, 28, 28}));
  REQUIRE(test.targets().min().item<std::int64_t>() == 0);
  REQUIRE(test.targets().max().item<std::int64_t>() == 9);
  REQUIRE(std::abs(train.images().mean().item<double>()) < 0.01);
  REQUIRE(std::abs(train.images().std().item<double>() - 1.0) < 0.01);
  // Every class is in the validation split, and each class holds about a tenth of it.
  auto counts = torch::bincount(val.targets());
  REQUIRE(counts.size(0) == 10);
  REQUIRE(counts.min().item<std::int64_t>() > 400);

  FashionMNIST again({.split = Split::val}), other({.split = Split::val, .split_seed = 1});
  REQUIRE(torch::equal(again.images(), val.images()));
  REQUIRE_FALSE(torch::equal(other.images(), val.images()));
  // Train and val come from the same 60000 images without overlap: their sums add up.
  FashionMNIST all({.split = Split::train, .val_size = 0, .normalize = false});
  FashionMNIST tr({.split = Split::train, .normalize = false}), va({.split = Split::val, .normalize = false});
  REQUIRE(all.size() == 60000u);
  const double whole = all.images().sum(torch::kDouble).item<double>();
  const double parts = tr.images().sum(torch::kDouble).item<double>() + va.images().sum(torch::kDouble).item<double>();
  REQUIRE(parts == Approx(whole).epsilon(1e-9));

  auto batch = train.get_batch(std::vector<std::size_t>{3, 1});
  REQUIRE(batch.data.sizes() == torch::IntArrayRef({2, 1, 28, 28}));
  REQUIRE(torch::equal(batch.data[0], train.images()[3]));
  REQUIRE(batch.target[1].item<std::int64_t>() == train.targets()[1].item<std::int64_t>());
}

TEST_CASE("FashionMNIST's root comes from the argument, then the environment", "[data][fashion_mnist]") {
  using kiln::data::FashionMNIST;
  const auto dir = fresh_dir("fmnist_root");
  write_idx(dir / "t10k-images-idx3-ubyte.gz", {3, 28, 28}, std::vector<std::uint8_t>(3 * 28 * 28, 255));
  write_idx(dir / "t10k-labels-idx1-ubyte.gz", {3}, {0, 9, 4});
  {
    ScopedEnv env(FashionMNIST::root_variable, dir.string());
    FashionMNIST t({.split = kiln::data::Split::test, .normalize = false});
    REQUIRE(t.size() == 3u);
    REQUIRE(t.images().max().item<float>() == 1.0f);
    REQUIRE(t.targets()[1].item<std::int64_t>() == 9);
  }
  const auto nowhere = dir / "nowhere";
  REQUIRE_THROWS_WITH(FashionMNIST({.root = nowhere}),
                      Contains(nowhere.string()) && Contains("dataset-fashion-mnist") && Contains("KILN_FASHION_MNIST_ROOT"));
  write_idx(dir / "t10k-labels-idx1-ubyte.gz", {2}, {0, 12});
  REQUIRE_THROWS_WITH(FashionMNIST({.root = dir, .split = kiln::data::Split::test}),
                      Contains("t10k-labels-idx1-ubyte.gz") && Contains("2 labels for 3 images"));
}

namespace {
// A DataModule that records the calls the Trainer makes.
struct Recorder {
  std::vector<std::string> calls;
  std::vector<Batch> batches;
  Recorder() {
    for (int i = 0; i < 4; ++i) batches.emplace_back(torch::full({2, 1}, double(i)), torch::full({2, 1}, double(i)));
  }
  void prepare_data() { calls.push_back("prepare_data"); }
  void setup(kiln::Stage s) { calls.push_back("setup:" + std::string(kiln::to_string(s))); }
  void teardown(kiln::Stage s) { calls.push_back("teardown:" + std::string(kiln::to_string(s))); }
  std::vector<Batch> train_dataloader() { calls.push_back("train_dataloader"); return batches; }
  std::vector<Batch> val_dataloader() { calls.push_back("val_dataloader"); return {batches[0]}; }
  std::vector<Batch> test_dataloader() { calls.push_back("test_dataloader"); return batches; }
};
struct TrainOnly {
  std::vector<Batch> train_dataloader() { return {Batch{torch::ones({2, 1}), torch::ones({2, 1})}}; }
};

struct Reg : torch::nn::Module {
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(1, 1))};
  std::int64_t val = 0, test = 0;
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  void validation_step(const Batch&, kiln::StepContext&) { ++val; }
  void test_step(const Batch& b, kiln::StepContext& ctx) { ++test; ctx.log("test/loss", torch::mse_loss(fc(b.first), b.second)); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() { return std::make_unique<torch::optim::SGD>(parameters(), 0.01); }
  kiln::HParams hparams() const { return {{"lr", 0.01}, {"layers", std::int64_t{1}}, {"name", std::string("a b")}, {"bias", true}}; }
};
struct NoVal : torch::nn::Module {
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(1, 1))};
  torch::Tensor training_step(const Batch& b, kiln::StepContext&) { return torch::mse_loss(fc(b.first), b.second); }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() { return std::make_unique<torch::optim::SGD>(parameters(), 0.01); }
};
}  // namespace

TEST_CASE("fit/validate/test take a DataModule and call its hooks in Lightning's order", "[data][datamodule]") {
  static_assert(kiln::DataModule<Recorder> && kiln::DataModule<TrainOnly>);
  static_assert(!kiln::DataModule<std::vector<Batch>> && !kiln::DataSource<Recorder>);
  const auto root = fresh_dir("datamodule");
  Recorder dm;
  Reg m;
  kiln::Trainer<Reg> t({.max_epochs = 2, .num_sanity_val_steps = 0, .default_root_dir = root, .enable_progress_bar = false});
  t.fit(m, dm);
  REQUIRE(dm.calls == std::vector<std::string>{"prepare_data", "setup:fit", "train_dataloader", "val_dataloader", "teardown:fit"});
  REQUIRE(m.val == 2);  // one validation batch per epoch
  dm.calls.clear();
  auto r = t.test(m, dm);
  REQUIRE(dm.calls == std::vector<std::string>{"prepare_data", "setup:test", "test_dataloader", "teardown:test"});
  REQUIRE(m.test == 4);
  REQUIRE(r.count("test/loss") == 1);
  dm.calls.clear();
  t.validate(m, dm);
  REQUIRE(dm.calls == std::vector<std::string>{"prepare_data", "setup:validate", "val_dataloader", "teardown:validate"});

  // The module's hparams() reach hparams.yaml beside metrics.csv.
  std::ifstream in(t.logger<kiln::CsvLogger>().log_dir() / "hparams.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  REQUIRE(yaml == "bias: true\nlayers: 1\nlr: 0.01\nname: \"a b\"\n");
  REQUIRE(t.logger<kiln::CsvLogger>().log_dir() == root / "lightning_logs" / "version_0");

  // A DataModule with val_dataloader() and a module without validation_step: fit trains only.
  NoVal nv;
  Recorder dm2;
  kiln::Trainer<NoVal, kiln::Loggers<>> t2({.max_epochs = 1, .enable_progress_bar = false});
  t2.fit(nv, dm2);
  REQUIRE(t2.state().global_step == 4);
  REQUIRE(std::find(dm2.calls.begin(), dm2.calls.end(), "val_dataloader") == dm2.calls.end());

  TrainOnly only;
  kiln::Trainer<Reg, kiln::Loggers<>> t3({.max_epochs = 1, .enable_progress_bar = false});
  t3.fit(m, only);
  REQUIRE(t3.state().global_step == 1);
}

namespace {
struct Probe : torch::nn::Module {
  torch::nn::Linear fc{register_module("fc", torch::nn::Linear(784, 10))};
  torch::Tensor training_step(const torch::data::Example<>& b, kiln::StepContext&) {
    return torch::cross_entropy_loss(fc(b.data.flatten(1)), b.target);
  }
  void validation_step(const torch::data::Example<>& b, kiln::StepContext& ctx) {
    ctx.log("val/acc", (fc(b.data.flatten(1)).argmax(1) == b.target).to(torch::kFloat).mean());
  }
  void test_step(const torch::data::Example<>& b, kiln::StepContext& ctx) {
    ctx.log("test/acc", (fc(b.data.flatten(1)).argmax(1) == b.target).to(torch::kFloat).mean());
  }
  std::unique_ptr<torch::optim::Adam> configure_optimizers() { return std::make_unique<torch::optim::Adam>(parameters(), 1e-3); }
};
}  // namespace

TEST_CASE("FashionMNISTDataModule trains a linear probe above chance", "[data][fashion_mnist][datamodule]") {
  kiln::data::FashionMNISTDataModule dm({.batch_size = 64, .seed = 1});
  Probe m;
  kiln::Trainer<Probe, kiln::Loggers<>> t({.max_epochs = 1, .limit_train_batches = 200, .limit_val_batches = 4,
                                           .num_sanity_val_steps = 0, .enable_progress_bar = false});
  t.fit(m, dm);
  REQUIRE(t.state().global_step == 200);
  REQUIRE(t.callback_metrics().at("val/acc") > 0.6);  // 10 classes: chance is 0.1
  auto r = t.test(m, dm);
  REQUIRE(r.at("test/acc") > 0.6);
}
