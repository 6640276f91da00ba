// SPDX-License-Identifier: Apache-2.0
// kiln/core/concepts/data_module.hpp — DataModule: an object that builds the loaders of each stage.
#pragma once
#include <utility>

#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/member_probe.hpp>
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

// The loader methods by any signature, and the names people write for them by mistake.
KILN_DETAIL_MEMBER_PROBE(train_dataloader)
KILN_DETAIL_MEMBER_PROBE(val_dataloader)
KILN_DETAIL_MEMBER_PROBE(test_dataloader)
KILN_DETAIL_MEMBER_PROBE(predict_dataloader)
KILN_DETAIL_MEMBER_PROBE(train_loader)
KILN_DETAIL_MEMBER_PROBE(val_loader)
KILN_DETAIL_MEMBER_PROBE(test_loader)
KILN_DETAIL_MEMBER_PROBE(predict_loader)
KILN_DETAIL_MEMBER_PROBE(train_dataloaders)
KILN_DETAIL_MEMBER_PROBE(val_dataloaders)
KILN_DETAIL_MEMBER_PROBE(validation_dataloader)

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

namespace detail {

/// A loader method that is there but cannot be used, or a misspelled one: what makes data look
/// like a DataModule to its author and not to kiln.
template <class D>
inline constexpr bool data_module_near_miss =
    (declares_train_dataloader<D> && !has_train_dataloader<D>) || (declares_val_dataloader<D> && !has_val_dataloader<D>) ||
    (declares_test_dataloader<D> && !has_test_dataloader<D>) ||
    (declares_predict_dataloader<D> && !has_predict_dataloader<D>) || declares_train_loader<D> || declares_val_loader<D> ||
    declares_test_loader<D> || declares_predict_loader<D> || declares_train_dataloaders<D> ||
    declares_val_dataloaders<D> || declares_validation_dataloader<D>;

/// Each near miss of a DataModule D, its own sentence naming the member. Returns true: a failed
/// static_assert has already said what is wrong.
template <class D>
constexpr bool check_data_module_members() {
  // Spelled out, not generated: a static_assert inside a macro doubles the notes under its error.
  static_assert(!declares_train_dataloader<D> || has_train_dataloader<D>, KILN_ERR_DATAMODULE_LOADER_UNUSABLE("train_dataloader"));
  static_assert(!declares_val_dataloader<D> || has_val_dataloader<D>, KILN_ERR_DATAMODULE_LOADER_UNUSABLE("val_dataloader"));
  static_assert(!declares_test_dataloader<D> || has_test_dataloader<D>, KILN_ERR_DATAMODULE_LOADER_UNUSABLE("test_dataloader"));
  static_assert(!declares_predict_dataloader<D> || has_predict_dataloader<D>, KILN_ERR_DATAMODULE_LOADER_UNUSABLE("predict_dataloader"));
  static_assert(!declares_train_loader<D>, KILN_ERR_DATAMODULE_MISSPELLED("train_loader", "train_dataloader"));
  static_assert(!declares_val_loader<D>, KILN_ERR_DATAMODULE_MISSPELLED("val_loader", "val_dataloader"));
  static_assert(!declares_test_loader<D>, KILN_ERR_DATAMODULE_MISSPELLED("test_loader", "test_dataloader"));
  static_assert(!declares_predict_loader<D>, KILN_ERR_DATAMODULE_MISSPELLED("predict_loader", "predict_dataloader"));
  static_assert(!declares_train_dataloaders<D>, KILN_ERR_DATAMODULE_MISSPELLED("train_dataloaders", "train_dataloader"));
  static_assert(!declares_val_dataloaders<D>, KILN_ERR_DATAMODULE_MISSPELLED("val_dataloaders", "val_dataloader"));
  static_assert(!declares_validation_dataloader<D>, KILN_ERR_DATAMODULE_MISSPELLED("validation_dataloader", "val_dataloader"));
  return true;
}

/// The checks of data given to fit/validate/test/predict (or a DataModule's loader): a
/// DataModule near miss named member by member, else "not a data source". Returns true: a failed
/// static_assert has already said what is wrong.
template <class D>
constexpr bool check_data() {
  constexpr bool near_miss = [] {
    if constexpr (std::is_class_v<D> && !DataSource<D>) return data_module_near_miss<D>;
    else return false;
  }();
  if constexpr (near_miss) return check_data_module_members<D>();
  static_assert(DataSource<D> || DataModule<D> || near_miss, KILN_ERR_NOT_A_DATA_SOURCE);
  return true;
}

}  // namespace detail
}  // namespace kiln
