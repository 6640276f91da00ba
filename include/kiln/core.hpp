// SPDX-License-Identifier: Apache-2.0
// kiln/core.hpp — the vocabulary: concepts, events, policies, config, state, step context.
#pragma once
#include <kiln/core/batch_size.hpp>
#include <kiln/core/config.hpp>
#include <kiln/core/diagnostics.hpp>
#include <kiln/core/dispatch.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/core/module_hooks.hpp>
#include <kiln/core/optimizer_config.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/core/stage.hpp>
#include <kiln/core/state.hpp>
#include <kiln/core/step_context.hpp>
#include <kiln/core/concepts/callback.hpp>
#include <kiln/core/concepts/data_module.hpp>
#include <kiln/core/concepts/data_source.hpp>
#include <kiln/core/concepts/logger.hpp>
#include <kiln/core/concepts/training_module.hpp>
