// SPDX-License-Identifier: Apache-2.0
// kiln/data/fashion_mnist_data_module.hpp — FashionMNISTDataModule: train/val/test loaders for Fashion-MNIST.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>

#include <kiln/core/error.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/data/fashion_mnist.hpp>
#include <kiln/data/loader.hpp>

namespace kiln::data {

/// A DataModule for Fashion-MNIST: 55000 training images (shuffled each epoch), 5000 held out
/// for validation, the 10000 test images for test and predict.
class FashionMNISTDataModule {
 public:
  struct Options {
    std::optional<std::filesystem::path> root;  ///< see FashionMNIST (argument, KILN_FASHION_MNIST_ROOT, Debian's)
    std::size_t batch_size = 64;
    std::size_t eval_batch_size = 256;  ///< no gradients in evaluation: larger batches are cheaper
    std::size_t workers = 0;
    std::int64_t val_size = 5000;
    std::uint64_t split_seed = 42;
    std::optional<std::uint64_t> seed;  ///< shuffling seed; default: drawn from torch's generator
    bool normalize = true;

    /// The options as hyper-parameters (kiln/core/hparams.hpp): `--data.<name>` with kiln::cli.
    void hyperparameters(auto& field) {
      field("root", root, "Fashion-MNIST's folder; default: KILN_FASHION_MNIST_ROOT, else Debian's");
      field("batch_size", batch_size, "training batch size");
      field("eval_batch_size", eval_batch_size, "validation, test and predict batch size");
      field("workers", workers, "threads that load batches ahead (0: the training thread)");
      field("val_size", val_size, "training images held out for validation");
      field("split_seed", split_seed, "seed of the train/validation split");
      field("seed", seed, "shuffling seed; default: drawn from torch's generator");
      field("normalize", normalize, "scale pixels to mean 0, standard deviation 1");
    }
  };
  FashionMNISTDataModule() = default;
  explicit FashionMNISTDataModule(Options o) : opt_(std::move(o)) {}

  /// Reads the files the stage needs (once).
  void setup(Stage stage) {
    if (stage == Stage::fit || stage == Stage::validate) {
      if (!train_) train_ = FashionMNIST(options(Split::train));
      if (!val_) val_ = FashionMNIST(options(Split::val));
    }
    if ((stage == Stage::test || stage == Stage::predict) && !test_) test_ = FashionMNIST(options(Split::test));
  }

  Loader<FashionMNIST> train_dataloader() {
    return loader(need(train_, "train"), {.batch_size = opt_.batch_size, .shuffle = true,
                                          .workers = opt_.workers, .seed = opt_.seed});
  }
  Loader<FashionMNIST> val_dataloader() { return eval_loader(need(val_, "val")); }
  Loader<FashionMNIST> test_dataloader() { return eval_loader(need(test_, "test")); }
  Loader<FashionMNIST> predict_dataloader() { return eval_loader(need(test_, "predict")); }

  const Options& options() const { return opt_; }
  /// The options, as a program's hyper-parameters (`--data.<name>` with kiln::cli).
  const Options& hparams() const { return opt_; }

 private:
  FashionMNIST::Options options(Split s) const {
    return {.root = opt_.root, .split = s, .val_size = opt_.val_size, .split_seed = opt_.split_seed, .normalize = opt_.normalize};
  }
  Loader<FashionMNIST> eval_loader(const FashionMNIST& d) const {
    return loader(d, {.batch_size = opt_.eval_batch_size, .workers = opt_.workers});
  }
  static const FashionMNIST& need(const std::optional<FashionMNIST>& d, const char* what) {
    if (!d) throw Error(fmt::format("kiln: FashionMNISTDataModule {}_dataloader() before setup() of its stage", what));
    return *d;
  }

  Options opt_;
  std::optional<FashionMNIST> train_, val_, test_;
};

}  // namespace kiln::data
