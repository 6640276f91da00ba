// SPDX-License-Identifier: Apache-2.0
// kiln/core/concepts/data_module.hpp — DataModule: an object that builds the loaders of each stage.
#pragma once
#include <utility>

#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/stage.hpp>

namespace kiln {
namespace detail {

// Each loader method separately, so the Trainer can say which one a stage misses.
template <class D>
concept has_train_dataloader = requires(D& d) { { d.train_dataloader() } -> DataSource; };
template <class D>
concept has_val_dataloader = requires(D& d) { { d.val_dataloader() } -> DataSource; };
template <class D>
concept has_test_dataloader = requires(D& d) { { d.test_dataloader() } -> DataSource; };
template <class D>
concept has_predict_dataloader = requires(D& d) { { d.predict_dataloader() } -> DataSource; };

}  // namespace detail

/// Lightning's LightningDataModule: builds the data of each stage.
///
/// *Requires*: at least one of `train_dataloader()`, `val_dataloader()`, `test_dataloader()`,
/// `predict_dataloader()`, each returning a DataSource by value (e.g. a kiln::data::Loader, a
/// `std::vector` of batches, a `std::unique_ptr` to a torch::data loader).
/// *Optional*: `prepare_data()` (download or unpack once: called on local rank 0 only),
/// `setup(kiln::Stage)` before a stage's loaders are asked for, `teardown(kiln::Stage)` after.
/// fit() uses train_dataloader() and, when the module has a validation_step, val_dataloader();
/// validate(), test() and predict() use the matching one.
/// *Models*: kiln::data::FashionMNISTDataModule.
template <class D>
concept DataModule = !DataSource<D> && (detail::has_train_dataloader<D> || detail::has_val_dataloader<D> ||
                                        detail::has_test_dataloader<D> || detail::has_predict_dataloader<D>);

}  // namespace kiln
