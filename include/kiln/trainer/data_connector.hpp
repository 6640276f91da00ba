// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/data_connector.hpp — a DataModule's side of a stage: its hooks around it and the loaders it gives.
#pragma once
#include <cstdio>
#include <utility>

#include <fmt/format.h>

#include <kiln/core/concepts/data_module.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/concepts/training_module.hpp>
#include <kiln/core/stage.hpp>

namespace kiln::detail {

/// Runs f (which asks `dm` for loaders and runs a stage) between the DataModule's hooks:
/// prepare_data() on local rank 0, setup(stage) before, teardown(stage) after.
template <class DM, class Strategy, class F>
void around_stage(DM& dm, Stage stage, Strategy& strategy, F&& f) {
  if constexpr (requires { dm.prepare_data(); })
    if (strategy.local_rank() == 0) dm.prepare_data();
  strategy.barrier();
  if constexpr (requires { dm.setup(stage); }) dm.setup(stage);
  f();
  if constexpr (requires { dm.teardown(stage); }) dm.teardown(stage);
}

/// Whether `dm` gives the loader of evaluation stage S (validate, test or predict).
template <Stage S, class DM>
inline constexpr bool has_stage_loader = S == Stage::test      ? has_test_dataloader<DM>
                                         : S == Stage::predict ? has_predict_dataloader<DM>
                                                               : has_val_dataloader<DM>;

/// The loader of evaluation stage S.
template <Stage S, class DM>
auto stage_loader(DM& dm) {
  if constexpr (S == Stage::test) return dm.test_dataloader();
  else if constexpr (S == Stage::predict) return dm.predict_dataloader();
  else return dm.val_dataloader();
}

/// Calls f(train loader, pointer to the val loader) with fit()'s loaders from `dm`; the pointer
/// is a no_data* when `dm` has no val_dataloader() or Module no validation_step for its batches
/// (then, as Lightning, a warning on global rank 0: a DataModule serves many modules).
template <class Module, class DM, class F>
void with_fit_loaders(DM& dm, bool global_zero, F&& f) {
  auto train = dm.train_dataloader();
  if constexpr (has_val_dataloader<DM>) {
    if constexpr (HasValidationStep<Module, batch_arg_t<decltype(dm.val_dataloader())>>) {
      auto val = dm.val_dataloader();
      return f(train, &val);
    } else if (global_zero) {
      fmt::print(stderr, "kiln: warning: the DataModule has val_dataloader() but the module has no "
                         "validation_step; fit() skips validation\n");
    }
  }
  f(train, static_cast<no_data*>(nullptr));
}

}  // namespace kiln::detail
