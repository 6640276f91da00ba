// SPDX-License-Identifier: Apache-2.0
// kiln/kiln.hpp — the umbrella header: everything kiln offers.
#pragma once
#include <kiln/core.hpp>
#include <kiln/callbacks.hpp>
#include <kiln/data.hpp>
#include <kiln/loggers.hpp>
#include <kiln/loops.hpp>
#include <kiln/optim.hpp>
#include <kiln/strategy.hpp>
#include <kiln/precision.hpp>
#include <kiln/util.hpp>
#include <kiln/engine.hpp>
#include <kiln/trainer.hpp>
#include <kiln/core/version.hpp>
