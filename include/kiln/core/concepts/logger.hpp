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
/// Trainer's log_dir(), where ModelCheckpoint writes).
/// *Models*: kiln::CsvLogger, kiln::TensorBoardLogger.
template <class L>
concept Logger = requires(L& l, const MetricMap& m, std::int64_t step) {
  l.log_metrics(m, step);
  l.save();
};

namespace detail {
/// Each member in its own sentence; the type is named in the "required from" line below it.
template <class L>
constexpr bool check_logger() {
  static_assert(requires(L& l, const MetricMap& m, std::int64_t step) { l.log_metrics(m, step); },
                KILN_ERR_LOGGER_MEMBER("log_metrics(const kiln::MetricMap&, std::int64_t step)"));
  static_assert(requires(L& l) { l.save(); }, KILN_ERR_LOGGER_MEMBER("save()"));
  return Logger<L>;
}
}  // namespace detail
}  // namespace kiln
