// SPDX-License-Identifier: Apache-2.0
// kiln/data/fashion_mnist.hpp — FashionMNIST: Debian's dataset-fashion-mnist files as a torch dataset.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <torch/data/datasets/base.h>
#include <torch/data/example.h>
#include <torch/types.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/data/idx.hpp>

namespace kiln::data {

/// Which part of Fashion-MNIST: the 60000 training images split into train and val, or the
/// 10000 test images.
enum class Split { train, val, test };

/// Fashion-MNIST (Zalando): 28x28 grey images of 10 kinds of clothing.
///
/// Reads `{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz` from `root`: the argument, else the
/// environment variable KILN_FASHION_MNIST_ROOT, else Debian's package dataset-fashion-mnist
/// (/usr/share/datasets/fashion-mnist). Images are float [1, 28, 28]: pixel/255, then
/// normalised by the training set's mean and std unless `normalize` is false. Labels are int64.
///
/// Batches are sliced from one tensor (get_batch), not stacked from single examples.
class FashionMNIST : public torch::data::datasets::BatchDataset<FashionMNIST, torch::data::Example<>> {
 public:
  static constexpr const char* default_root = "/usr/share/datasets/fashion-mnist";
  static constexpr const char* root_variable = "KILN_FASHION_MNIST_ROOT";
  static constexpr double mean = 0.2860, std = 0.3530;  // of the 60000 training images, pixel/255
  static constexpr std::int64_t train_size = 60000, test_size = 10000;
  static constexpr const char* classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

  struct Options {
    std::optional<std::filesystem::path> root;
    Split split = Split::train;
    std::int64_t val_size = 5000;  ///< images of the training files held out as Split::val
    std::uint64_t split_seed = 42;  ///< which images are held out: the same seed, the same split
    bool normalize = true;
  };

  FashionMNIST() : FashionMNIST(Options{}) {}
  explicit FashionMNIST(Options o) : options_(std::move(o)) {
    const auto dir = resolve_root(options_.root);
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      throw Error(fmt::format("kiln: Fashion-MNIST folder {} does not exist; install Debian's package "
                              "dataset-fashion-mnist, or give the folder holding the four .gz files "
                              "(FashionMNIST::Options::root or the environment variable {})",
                              dir.string(), root_variable));
    const bool test = options_.split == Split::test;
    const std::string prefix = test ? "t10k" : "train";
    auto images = read_idx(dir / (prefix + "-images-idx3-ubyte.gz"), 3);
    auto labels = read_idx(dir / (prefix + "-labels-idx1-ubyte.gz"), 1);
    const auto label_file = (dir / (prefix + "-labels-idx1-ubyte.gz")).string();
    if (images.size(1) != 28 || images.size(2) != 28)
      throw Error(fmt::format("kiln: IDX file {}: images are {}x{}, Fashion-MNIST's are 28x28",
                              (dir / (prefix + "-images-idx3-ubyte.gz")).string(), images.size(1), images.size(2)));
    if (labels.size(0) != images.size(0))
      throw Error(fmt::format("kiln: IDX file {}: {} labels for {} images", label_file, labels.size(0), images.size(0)));
    if (labels.max().item<int>() > 9)
      throw Error(fmt::format("kiln: IDX file {}: label {} is not a class (0-9)", label_file, labels.max().item<int>()));
    if (!test) {
      const std::int64_t n = images.size(0);
      if (options_.val_size < 0 || options_.val_size >= n)
        throw Error(fmt::format("kiln: FashionMNIST val_size={} must be in [0, {})", options_.val_size, n));
      auto order = permutation(n, options_.split_seed);
      auto pick = options_.split == Split::val ? order.slice(0, 0, options_.val_size) : order.slice(0, options_.val_size);
      images = images.index_select(0, pick);
      labels = labels.index_select(0, pick);
    }
    images_ = images.to(torch::kFloat32).div_(255.0).unsqueeze_(1);
    if (options_.normalize) images_.sub_(mean).div_(std);
    labels_ = labels.to(torch::kInt64);
  }

  /// The batch of examples at `indices`: data [B, 1, 28, 28], target [B].
  torch::data::Example<> get_batch(c10::ArrayRef<std::size_t> indices) override {
    auto idx = torch::empty({static_cast<std::int64_t>(indices.size())}, torch::kInt64);
    auto* p = idx.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < indices.size(); ++i) p[i] = static_cast<std::int64_t>(indices[i]);
    return {images_.index_select(0, idx), labels_.index_select(0, idx)};
  }
  torch::optional<std::size_t> size() const override { return static_cast<std::size_t>(images_.size(0)); }

  const torch::Tensor& images() const { return images_; }
  const torch::Tensor& targets() const { return labels_; }
  const Options& options() const { return options_; }

  /// The directory the files are read from (see the class comment).
  static std::filesystem::path resolve_root(const std::optional<std::filesystem::path>& root) {
    if (root) return *root;
    if (const char* env = std::getenv(root_variable); env && *env) return env;
    return default_root;
  }

 private:
  // A permutation of 0..n-1 that depends only on the seed (Fisher-Yates on mt19937_64).
  static torch::Tensor permutation(std::int64_t n, std::uint64_t seed) {
    auto out = torch::arange(n, torch::kInt64);
    auto* p = out.data_ptr<std::int64_t>();
    std::mt19937_64 g(seed);
    for (std::int64_t i = n; i > 1; --i) std::swap(p[i - 1], p[static_cast<std::int64_t>(g() % std::uint64_t(i))]);
    return out;
  }

  Options options_;
  torch::Tensor images_, labels_;
};

}  // namespace kiln::data
