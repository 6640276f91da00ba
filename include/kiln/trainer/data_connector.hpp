// SPDX-License-Identifier: Apache-2.0
// kiln/trainer/data_connector.hpp — a DataModule's side of a stage: its hooks around it and the loaders it gives.
#pragma once
#include <cstdio>
#include <type_traits>
#include <utility>
#include <vector>

#include <kiln/core/concepts/data_module.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/concepts/training_module.hpp>
#include <kiln/core/config.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/core/step_context.hpp>

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

/// Calls run(data), or, for a DataModule, run(its loader of evaluation stage S), the loader made
/// inside `around` (which runs the DataModule's hooks around the stage).
template <Stage S, class Data, class Around, class Run>
void with_stage_data(Data& data, Around&& around, Run&& run) {
  if constexpr (DataModule<Data>) {
    static_assert(check_data_module_members<Data>());  // says what is wrong
    if constexpr (S == Stage::test) static_assert(has_test_dataloader<Data>, KILN_ERR_DATAMODULE_NO_LOADER("test()", "test_dataloader"));
    else if constexpr (S == Stage::predict) static_assert(has_predict_dataloader<Data>, KILN_ERR_DATAMODULE_NO_LOADER("predict()", "predict_dataloader"));
    else static_assert(has_val_dataloader<Data>, KILN_ERR_DATAMODULE_NO_LOADER("validate()", "val_dataloader"));
    if constexpr (has_stage_loader<S, Data>)
      around([&] {
        auto loader = stage_loader<S>(data);
        run(loader);
      });
  } else {
    run(data);
  }
}

/// What stage S runs on: the DataModule's loader for S, else the data itself.
template <Stage S, class D>
struct stage_source {
  using type = D;
};
template <Stage S, class D>
  requires(DataModule<D> && has_stage_loader<S, D>)
struct stage_source<S, D> {
  using type = decltype(stage_loader<S>(std::declval<D&>()));
};

/// What predict() returns for data D: one predict_step result per batch (no_data where the call
/// is a mistake, which a static_assert reports).
template <class Module, class D>
struct predictions {
  using type = std::vector<no_data>;
};
template <class Module, class D>
  requires(DataSource<D> && predict_step_returns_value<Module, batch_arg_t<D>>)
struct predictions<Module, D> {
  using type = std::vector<std::remove_cvref_t<decltype(std::declval<Module&>().predict_step(
      std::declval<batch_arg_t<D>&>(), std::declval<StepContext&>()))>>;
};
template <class Module, class D>
using predictions_t = typename predictions<Module, typename stage_source<Stage::predict, D>::type>::type;

/// The option that limits evaluation stage S's batches, and its name for messages.
inline std::pair<const BatchLimit&, const char*> stage_limit(const TrainerConfig& c, Stage s) {
  if (s == Stage::test) return {c.limit_test_batches, "limit_test_batches"};
  if (s == Stage::predict) return {c.limit_predict_batches, "limit_predict_batches"};
  return {c.limit_val_batches, "limit_val_batches"};
}

/// Whether `fit(module, train, val)` can validate on Val; a static_assert names the mistake.
template <class M, class Val>
constexpr bool validation_data_ok() {
  static_assert(check_data<Val>());  // says what is wrong
  if constexpr (DataSource<Val>) {
    return validation_step_ok<M, batch_arg_t<Val>>();
  }
  return false;
}

/// Calls f(train loader, pointer to the val loader) with fit()'s loaders from `dm`; the pointer
/// is a no_data* when `dm` has no val_dataloader() or Module no validation_step for its batches
/// (then, as Lightning, a warning on global rank 0: a DataModule serves many modules).
template <class Module, class DM, class F>
void with_fit_loaders(DM& dm, bool global_zero, F&& f) {
  auto train = dm.train_dataloader();
  if constexpr (has_val_dataloader<DM>) {
    using ValBatch = batch_arg_t<decltype(dm.val_dataloader())>;
    static_assert(!validation_step_near_miss<Module, ValBatch>,
                  KILN_ERR_VALIDATION_STEP_SIGNATURE);
    if constexpr (HasValidationStep<Module, ValBatch>) {
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
