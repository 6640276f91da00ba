// SPDX-License-Identifier: Apache-2.0
// tests/unit/callbacks/model_checkpoint_test.cpp — ModelCheckpoint: which files exist after fit, what they hold, its errors.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <fstream>
#include <iterator>
#include <thread>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/callbacks/lambda_callback.hpp>
#include <kiln/callbacks/model_checkpoint.hpp>
#include <kiln/loggers/csv_logger.hpp>
#include <kiln/trainer.hpp>

namespace {

namespace fs = std::filesystem;
using Batch = std::pair<torch::Tensor, torch::Tensor>;
using Catch::Matchers::Contains;

// Trains a linear model; validation logs a scripted value per epoch, so the test decides which
// epochs are best.
struct Scripted : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
  std::vector<double> script;
  explicit Scripted(std::vector<double> values) : script(std::move(values)) {
    torch::manual_seed(5);
    fc = register_module("fc", torch::nn::Linear(2, 1));
  }
  torch::Tensor training_step(const Batch& b, kiln::StepContext& ctx) {
    auto loss = torch::mse_loss(fc(b.first), b.second);
    ctx.log("train/loss", loss);
    return loss;
  }
  void validation_step(const Batch&, kiln::StepContext& ctx) {
    ctx.log("val/score", script.at(static_cast<std::size_t>(ctx.epoch())));
  }
  std::unique_ptr<torch::optim::SGD> configure_optimizers() {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.05));
  }
};

// Listed before ModelCheckpoint: copies the weights each epoch's validation saw.
struct Snapshots {
  std::vector<torch::Tensor> weights;
  template <class T>
  void on(const kiln::event::validation_end&, T& t) {
    if (t.state().stage == kiln::Stage::fit) weights.push_back(t.module()->fc->weight.detach().clone());
  }
};

std::vector<Batch> data() {
  torch::manual_seed(0);
  std::vector<Batch> out;
  for (int i = 0; i < 3; ++i) {
    auto x = torch::randn({4, 2});
    out.emplace_back(x, x.sum(1, true));
  }
  return out;
}

kiln::TrainerConfig config(const fs::path& root, std::int64_t epochs) {
  fs::remove_all(root);
  return {.max_epochs = epochs, .num_sanity_val_steps = 0, .default_root_dir = root, .enable_progress_bar = false};
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  if (fs::exists(dir))
    for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

torch::Tensor weight_in(const std::string& path) {
  Scripted m({});
  kiln::load_weights(m, path);
  return m.fc->weight.detach();
}

using Trainer = kiln::Trainer<Scripted, kiln::Callbacks<Snapshots, kiln::ModelCheckpoint>, kiln::Loggers<>>;

// What f() wrote to stderr (file descriptor 2, where kiln's messages go).
template <class F>
std::string stderr_of(F&& f) {
  const auto file = fs::temp_directory_path() / "kiln_ckpt_stderr.txt";
  std::fflush(stderr);
  const int saved = dup(2);
  {
    FILE* out = std::fopen(file.c_str(), "w");
    REQUIRE(out);
    dup2(fileno(out), 2);
    std::fclose(out);
  }
  struct Restore {
    int fd;
    ~Restore() {
      std::fflush(stderr);
      dup2(fd, 2);
      close(fd);
    }
  } restore{saved};
  f();
  std::fflush(stderr);
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("ModelCheckpoint keeps the top k files by the monitored value, each holding its epoch's weights",
          "[callbacks][model_checkpoint]") {
  const auto root = fs::temp_directory_path() / "kiln_ckpt_topk_test";
  Scripted m({0.9, 0.5, 0.7, 0.3, 0.6});  // best (min): epoch 3, then epoch 1
  auto train = data(), val = data();
  Trainer t(config(root, 5), kiln::ModelCheckpoint({.dirpath = root / "ckpt",
                                                    .filename = "e{epoch}-{val/score:.2f}",
                                                    .monitor = "val/score",
                                                    .save_top_k = 2,
                                                    .save_last = true}));
  t.fit(m, train, val);
  const auto& ckpt = t.callback<kiln::ModelCheckpoint>();
  // Lightning's "name=value" with '/' made safe; no temporary file left behind.
  REQUIRE(files_in(root / "ckpt") == std::vector<std::string>{"e1-val_score=0.50.pt", "e3-val_score=0.30.pt", "last.pt"});
  REQUIRE(ckpt.best_model_path() == (root / "ckpt" / "e3-val_score=0.30.pt").string());
  REQUIRE(ckpt.best_model_score() == Approx(0.3));
  REQUIRE(ckpt.last_model_path() == (root / "ckpt" / "last.pt").string());

  const auto& seen = t.callback<Snapshots>().weights;
  REQUIRE(seen.size() == 5);
  REQUIRE_FALSE(torch::equal(seen[1], seen[3]));  // the model did change between the two
  REQUIRE(torch::equal(weight_in(ckpt.best_model_path()), seen[3]));
  REQUIRE(torch::equal(weight_in((root / "ckpt" / "e1-val_score=0.50.pt").string()), seen[1]));
  REQUIRE(torch::equal(weight_in(ckpt.last_model_path()), seen[4]));
}

TEST_CASE("ModelCheckpoint with mode max, save_top_k -1 and 0, and no monitor", "[callbacks][model_checkpoint]") {
  const auto root = fs::temp_directory_path() / "kiln_ckpt_modes_test";
  auto train = data(), val = data();

  SECTION("mode max keeps the highest; the default folder is the logger's version folder") {
    Scripted m({0.2, 0.8, 0.4});
    kiln::Trainer<Scripted, kiln::Callbacks<kiln::ModelCheckpoint>> t(
        config(root, 3), kiln::ModelCheckpoint({.monitor = "val/score", .mode = "max"}));
    t.fit(m, train, val);
    const auto dir = root / "lightning_logs" / "version_0" / "checkpoints";
    REQUIRE(t.callback<kiln::ModelCheckpoint>().dirpath() == dir);
    REQUIRE(files_in(dir) == std::vector<std::string>{"epoch=1-step=6.pt"});  // 3 batches an epoch
    REQUIRE(t.callback<kiln::ModelCheckpoint>().best_model_score() == Approx(0.8));
  }
  SECTION("save_top_k -1 keeps every epoch") {
    Scripted m({0.2, 0.8, 0.4});
    Trainer t(config(root, 3), kiln::ModelCheckpoint({.dirpath = root, .monitor = "val/score", .save_top_k = -1}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"epoch=0-step=3.pt", "epoch=1-step=6.pt", "epoch=2-step=9.pt"});
    REQUIRE(t.callback<kiln::ModelCheckpoint>().best_model_path() == (root / "epoch=0-step=3.pt").string());
  }
  SECTION("save_top_k 0 writes only last.pt") {
    Scripted m({0.2, 0.8, 0.4});
    Trainer t(config(root, 3), kiln::ModelCheckpoint({.dirpath = root, .monitor = "val/score", .save_top_k = 0, .save_last = true}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"last.pt"});
    REQUIRE(t.callback<kiln::ModelCheckpoint>().best_model_path().empty());
  }
  SECTION("no monitor keeps the latest only") {
    Scripted m({0.2, 0.8, 0.4});
    Trainer t(config(root, 3), kiln::ModelCheckpoint({.dirpath = root}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"epoch=2-step=9.pt"});
    REQUIRE(torch::equal(weight_in(t.callback<kiln::ModelCheckpoint>().best_model_path()), t.callback<Snapshots>().weights.back()));
  }
}

TEST_CASE("ModelCheckpoint names what is wrong: an unlogged monitor, a bad mode or top-k", "[callbacks][model_checkpoint]") {
  const auto root = fs::temp_directory_path() / "kiln_ckpt_errors_test";
  auto train = data(), val = data();
  Scripted m({0.5, 0.5});
  Trainer t(config(root, 2), kiln::ModelCheckpoint({.dirpath = root, .monitor = "val/acc"}));
  REQUIRE_THROWS_WITH(t.fit(m, train, val), Contains("\"val/acc\", which was not logged") && Contains("val/score"));
  REQUIRE(files_in(root).empty());

  REQUIRE_THROWS_WITH(kiln::ModelCheckpoint({.mode = "best"}), Contains("mode must be \"min\" or \"max\""));
  REQUIRE_THROWS_WITH(kiln::ModelCheckpoint({.save_top_k = -2}), Contains("save_top_k must be >= -1 (got -2)"));
}

TEST_CASE("ModelCheckpoint every_n_train_steps, every_n_epochs and train_time_interval", "[callbacks][model_checkpoint]") {
  const auto root = fs::temp_directory_path() / "kiln_ckpt_every_test";
  auto train = data(), val = data();
  SECTION("every 2 optimizer steps (epoch ends off)") {
    Scripted m({0.5, 0.5, 0.5});
    Trainer t(config(root, 3), kiln::ModelCheckpoint({.dirpath = root, .filename = "s{step}", .monitor = "train/loss",
                                                      .save_top_k = -1, .every_n_train_steps = 2}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"s2.pt", "s4.pt", "s6.pt", "s8.pt"});
  }
  SECTION("every 2nd epoch") {
    Scripted m({0.5, 0.4, 0.3, 0.2, 0.1});
    Trainer t(config(root, 5), kiln::ModelCheckpoint({.dirpath = root, .filename = "e{epoch}", .monitor = "val/score",
                                                      .save_top_k = -1, .every_n_epochs = 2}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"e1.pt", "e3.pt"});
  }
  SECTION("every 50 ms of training, with batches of 60 ms: after every batch") {
    Scripted m({0.5});
    auto slow = kiln::lambda_callback([](const kiln::event::train_batch_end&, auto&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
    });
    kiln::Trainer<Scripted, kiln::Callbacks<decltype(slow), kiln::ModelCheckpoint>, kiln::Loggers<>> t(
        config(root, 1), slow,
        kiln::ModelCheckpoint({.dirpath = root, .filename = "s{step}", .monitor = "train/loss", .save_top_k = -1, .train_time_interval = std::chrono::milliseconds(50)}));
    t.fit(m, train, val);
    REQUIRE(files_in(root) == std::vector<std::string>{"s1.pt", "s2.pt", "s3.pt"});
  }
  REQUIRE_THROWS_WITH(kiln::ModelCheckpoint({.every_n_train_steps = 2, .train_time_interval = std::chrono::seconds(1)}),
                      Contains("at most one of every_n_train_steps and train_time_interval"));
  REQUIRE_THROWS_WITH(kiln::ModelCheckpoint({.every_n_epochs = -1}), Contains("every_n_epochs must be >= 0 (got -1)"));
}

TEST_CASE("ckpt_path \"last\" and \"best\" find a previous process's files in ModelCheckpoint's folder",
          "[callbacks][model_checkpoint][resume]") {
  const auto root = fs::temp_directory_path() / "kiln_ckpt_find_test";
  auto train = data(), val = data();
  std::vector<torch::Tensor> seen;
  {
    Scripted m({0.9, 0.3, 0.5});  // best: epoch 1
    Trainer t(config(root, 3), kiln::ModelCheckpoint({.dirpath = root / "ckpt", .monitor = "val/score", .save_last = true}));
    t.fit(m, train, val);
    seen = t.callback<Snapshots>().weights;
  }
  auto resume = [&](const char* which, std::int64_t epochs, bool save_last = true) {
    Scripted m({0.9, 0.3, 0.5, 0.4});
    auto cfg = config(root / "second", epochs);
    Trainer t(cfg, kiln::ModelCheckpoint({.dirpath = root / "ckpt", .monitor = "val/score", .save_last = save_last}));
    t.fit(m, train, val, {.ckpt_path = which});
    return std::pair(m.fc->weight.detach().clone(), t.callback<kiln::ModelCheckpoint>().best_model_path());
  };
  // "best" is epoch 1's file (the last checkpoint recorded it); resumed after epoch 1 with
  // max_epochs 2, nothing more is trained.
  auto [w_best, best_path] = resume("best", 2);
  REQUIRE(torch::equal(w_best, seen[1]));
  REQUIRE(best_path == (root / "ckpt" / "epoch=1-step=6.pt").string());
  // "last" is last.pt (end of epoch 2); one more epoch whose 0.4 does not beat 0.3.
  auto [w_last, best_after] = resume("last", 4);
  REQUIRE_FALSE(torch::equal(w_last, seen[2]));
  REQUIRE(best_after == (root / "ckpt" / "epoch=1-step=6.pt").string());  // the restored top-k
  REQUIRE(files_in(root / "ckpt") == std::vector<std::string>{"epoch=1-step=6.pt", "last.pt"});
  // Without last.pt, "last" is the newest checkpoint in the folder.
  fs::remove(root / "ckpt" / "last.pt");
  auto [w_newest, unused] = resume("last", 2, false);
  REQUIRE(torch::equal(w_newest, seen[1]));

  // "last" before the first checkpoint starts afresh and says so (a script that always resumes
  // from "last" works on its first run too); the hint about folders only where it applies.
  Scripted m({0.5}), fresh({0.5}), m2({0.5});
  Trainer empty(config(root / "third", 1), kiln::ModelCheckpoint({.dirpath = root / "nothing_here"}));
  const auto said = stderr_of([&] { empty.fit(m, train, val, {.ckpt_path = "last"}); });
  REQUIRE_THAT(said, Contains("kiln: ckpt_path=\"last\": no checkpoint in " + (root / "nothing_here").string() +
                              " yet, so fit starts from the beginning\n"));
  REQUIRE_THAT(said, !Contains("fixed dirpath"));
  Trainer plain(config(root / "fourth", 1), kiln::ModelCheckpoint({.dirpath = root / "fresh"}));
  plain.fit(fresh, train, val);
  REQUIRE(torch::equal(m.fc->weight, fresh.fc->weight));
  kiln::Trainer<Scripted, kiln::Callbacks<kiln::ModelCheckpoint>, kiln::Loggers<kiln::CsvLogger>> versioned(
      config(root / "fifth", 1));
  REQUIRE_THAT(stderr_of([&] { versioned.fit(m2, train, val, {.ckpt_path = "last"}); }),
               Contains("no checkpoint in " + (root / "fifth" / "lightning_logs" / "version_0" / "checkpoints").string() +
                        " (this run's own log version: give ModelCheckpoint a fixed dirpath"));
  Trainer nobest(config(root / "sixth", 1), kiln::ModelCheckpoint({.dirpath = root / "sixth" / "none"}));
  REQUIRE_THROWS_WITH(nobest.fit(m, train, val, {.ckpt_path = "best"}),
                      Contains("kiln: ckpt_path=\"best\": no best checkpoint in " + (root / "sixth" / "none").string() +
                               "; give the file's path"));
  kiln::Trainer<Scripted, kiln::Loggers<>> none(config(root / "third", 1));
  REQUIRE_THROWS_WITH(none.fit(m, train, val, {.ckpt_path = "best"}), Contains("needs a ModelCheckpoint listed in Callbacks"));
}

namespace {
// A small tmpfs of our own when the process may mount (root in CI), else a plain folder.
struct SmallDisk {
  fs::path dir;
  bool mounted = false;
  explicit SmallDisk(fs::path d) : dir(std::move(d)) {
    if (fs::exists(dir)) ::umount2(dir.c_str(), MNT_DETACH);
    fs::remove_all(dir);
    fs::create_directories(dir);
    // KILN_TEST_NO_MOUNT=1 tries the fallback where mounting is allowed.
    mounted = !std::getenv("KILN_TEST_NO_MOUNT") && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=4m") == 0;
  }
  ~SmallDisk() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
  // Fills the disk (tmpfs), or lowers the process's file size limit (elsewhere) so the next write fails.
  void fill() {
    if (mounted) {
      std::ofstream filler(dir / "filler", std::ios::binary);
      const std::string block(4096, 'x');
      while (filler.write(block.data(), block.size())) {
      }
    } else {
      std::signal(SIGXFSZ, SIG_IGN);
      rlimit r{};
      getrlimit(RLIMIT_FSIZE, &r);
      saved = r;
      r.rlim_cur = 64;
      setrlimit(RLIMIT_FSIZE, &r);
    }
  }
  void unfill() {
    if (mounted) fs::remove(dir / "filler");
    else setrlimit(RLIMIT_FSIZE, &saved);
  }
  rlimit saved{};
};

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("a full or unwritable checkpoint folder is an error naming the file, and earlier checkpoints survive",
          "[callbacks][model_checkpoint][errors]") {
  auto train = data(), val = data();
  SmallDisk disk(fs::temp_directory_path() / "kiln_ckpt_full_test");
  INFO((disk.mounted ? "on a 4 MiB tmpfs" : "no mount permission: RLIMIT_FSIZE stands in for a full disk"));
  const auto dir = disk.dir / "ckpt";
  Scripted m({0.9, 0.5, 0.3});  // every epoch improves: epoch 1 replaces epoch 0's file
  auto full_at_epoch_1 = kiln::lambda_callback([&](const kiln::event::validation_end&, auto& t) {
    if (t.state().stage == kiln::Stage::fit && t.state().epoch == 1) disk.fill();
  });
  kiln::Trainer<Scripted, kiln::Callbacks<decltype(full_at_epoch_1), kiln::ModelCheckpoint>, kiln::Loggers<>> t(
      config(disk.dir / "logs", 3), full_at_epoch_1, kiln::ModelCheckpoint({.dirpath = dir, .monitor = "val/score", .save_last = true}));
  std::string first_best, first_last;
  try {
    t.fit(m, train, val);
    FAIL("fit() went on with a full disk");
  } catch (const kiln::Error& e) {
    disk.unfill();
    const std::string msg = e.what();
    INFO(msg);
    REQUIRE_THAT(msg, Contains("cannot write checkpoint " + (dir / "epoch=1-step=6.pt").string()));
    REQUIRE_THAT(msg, Contains(disk.mounted ? "No space left on device" : "File too large"));
  }
  // Epoch 0's files are there and whole; no temporary file is left; the bookkeeping still
  // points at epoch 0.
  REQUIRE(files_in(dir) == std::vector<std::string>{"epoch=0-step=3.pt", "last.pt"});
  REQUIRE(torch::equal(weight_in((dir / "epoch=0-step=3.pt").string()), weight_in((dir / "last.pt").string())));
  REQUIRE(t.callback<kiln::ModelCheckpoint>().best_model_path() == (dir / "epoch=0-step=3.pt").string());

  SECTION("read-only folder") {
    const auto before = bytes_of(dir / "last.pt");
    const bool can = disk.mounted ? ::mount(nullptr, disk.dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0
                                  : (::geteuid() != 0 && (fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec), true));
    if (!can) {
      WARN("skipped: this process can neither remount read-only nor drop write permission (root without mount rights)");
      return;
    }
    Scripted again({0.9, 0.5});
    kiln::Trainer<Scripted, kiln::Callbacks<kiln::ModelCheckpoint>, kiln::Loggers<>> ro(
        config(disk.dir / "logs2", 1), kiln::ModelCheckpoint({.dirpath = dir, .save_last = true}));
    REQUIRE_THROWS_WITH(ro.fit(again, train, val), Contains("cannot write checkpoint " + (dir / "epoch=0-step=3.pt").string()));
    if (disk.mounted) ::mount(nullptr, disk.dir.c_str(), nullptr, MS_REMOUNT, nullptr);
    else fs::permissions(dir, fs::perms::owner_all);
    REQUIRE(bytes_of(dir / "last.pt") == before);
  }
  SECTION("a file where the folder should be") {
    std::ofstream(disk.dir / "blocker") << "x";
    Scripted again({0.9});
    kiln::Trainer<Scripted, kiln::Callbacks<kiln::ModelCheckpoint>, kiln::Loggers<>> blocked(
        config(disk.dir / "logs3", 1), kiln::ModelCheckpoint({.dirpath = disk.dir / "blocker" / "ckpt"}));
    REQUIRE_THROWS_WITH(blocked.fit(again, train, val), Contains("cannot create checkpoint folder " + (disk.dir / "blocker" / "ckpt").string()));
  }
}
