// SPDX-License-Identifier: Apache-2.0
// kiln/core/stage.hpp — which loop is running (Lightning's TrainerFn / RunningStage).
#pragma once
#include <string_view>

namespace kiln {

/// The loop a step runs in; decides logging defaults (on_step in training, on_epoch elsewhere).
enum class Stage { fit, sanity_check, validate, test, predict };

/// The lower-case name of a stage, as Lightning prints it.
constexpr std::string_view to_string(Stage s) {
  switch (s) {
    case Stage::fit: return "fit";
    case Stage::sanity_check: return "sanity_check";
    case Stage::validate: return "validate";
    case Stage::test: return "test";
    case Stage::predict: return "predict";
  }
  return "?";
}

}  // namespace kiln
