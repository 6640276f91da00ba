// SPDX-License-Identifier: Apache-2.0
// kiln/core/concepts/logger.hpp — what a logger must offer the Trainer.
#pragma once
#include <cstdint>

#include <kiln/core/diagnostics.hpp>
#include <kiln/core/logging.hpp>

namespace kiln {

/// A destination for logged metrics (Lightning's Logger).
///
/// *Requires*: `log_metrics(const MetricMap&, std::int64_t step)` and `save()` (flush to disk).
/// *Optional*: `on(Event, Trainer&)` handlers like a callback; `log_hyperparams(const HParams&)`
/// (the module's hparams() at the start of each stage); `log_dir()` (the first logger's is the
/// Trainer's log_dir(), where ModelCheckpoint writes); `finalize(RunStatus)` (once at the end of
/// each fit/validate/test/predict call: finished, failed on an error, killed by a preemption signal).
/// *Models*: kiln::CsvLogger, kiln::TensorBoardLogger, kiln::MLFlowLogger.
template <class L>
concept Logger = requires(L& l, const MetricMap& m, std::int64_t step) {
  l.log_metrics(m, step);
  l.save();
};

namespace detail {
/// Each member in its own sentence, only the first missing one reported; the type is named in the
/// "required from" line below it.
template <class L>
constexpr bool check_logger() {
  constexpr std::size_t missing = first_unmet(
      {requires(L& l, const MetricMap& m, std::int64_t step) { l.log_metrics(m, step); }, requires(L& l) { l.save(); }});
  static_assert(missing != 0, KILN_ERR_LOGGER_MEMBER("log_metrics(const kiln::MetricMap&, std::int64_t step)"));
  static_assert(missing != 1, KILN_ERR_LOGGER_MEMBER("save()"));
  return true;  // a static_assert above said what is missing: one mistake, one error
}
}  // namespace detail
}  // namespace kiln
