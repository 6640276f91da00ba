// SPDX-License-Identifier: Apache-2.0
// kiln/kiln.hpp — the umbrella header: the Trainer, the Engine and their policies, callbacks and loggers.
// Loaders and datasets (<kiln/data.hpp>), metrics (<kiln/metrics.hpp>) and collectives
// (<kiln/dist.hpp>) have their own headers: a Trainer does not need them, and including them
// in every translation unit that trains costs compile time (and zlib, for the IDX reader).
#pragma once
#include <kiln/core.hpp>
#include <kiln/callbacks.hpp>
#include <kiln/loggers.hpp>
#include <kiln/loops.hpp>
#include <kiln/optim.hpp>
#include <kiln/strategy.hpp>
#include <kiln/precision.hpp>
#include <kiln/profiler.hpp>
#include <kiln/util.hpp>
#include <kiln/engine.hpp>
#include <kiln/trainer.hpp>
#include <kiln/core/version.hpp>
